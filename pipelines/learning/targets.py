"""The models against the synthetic province's truth (not used by the pipeline itself).

The card measures a model on what the pipeline knows: held-back checks and answers. A synthetic
province also knows every household's true income (``truth_income.parquet``), so the eligibility
model can be judged where it is used: on every household-month with ``partial`` coverage and a
hardship signal, against whether its true per-capita income is below the line.

- truly below: the mean true per-capita income of M-2..M below the model's line (the 低保边缘 line of
  the city; the 低保 standard for a roster 低保边缘 family), and, reported beside it, below the 低保
  standard, and below the model's line by what an assessed check of month M would find (the living
  members' income over up to 12 months, ``truth_income.assessed_income_yuan``: what the labels are
  made of). The two truths part where a member died or left within the 3 months (the 3-month mean
  still holds the income of the months before) and after a job loss (the check's 12 months still
  hold the wages before it);
- hardship signal: a row in ``core.hardship_signal`` for the household and month when that table
  exists, else the subset of signals the features count (catastrophic claim, new severe
  disability, death of a member aged 16-59, new unemployment registration, relapse-watch listing,
  field-visit finding in the last 6 months; a collapsed or severely damaged house in the last 12);
- the rule baseline: ELIG path (b) without the model (observed per-capita income of M-2..M below the
  line, with the signal); the model: probability at or above the artifact's cut-off;
- an "oracle" bound: the same learner trained on the true labels of every partial household-month of
  the training months (labels no province has), evaluated on the same rows: what these features
  could reach with plentiful, unbiased labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.learning import data, metrics
from pipelines.learning.card import pct


# What "truly below the line" is measured on (column, words): the province's true income, and -- where the
# truth has it -- what an assessed check of the month would find (the living members' income over up to
# 12 months: what the labels are made of, and what a 低保 decision rests on)
TRUTHS = (("below_line", "the model's line"), ("below_dibao", "the 低保 standard"),
          ("below_assessed", "the model's line, by what a check would find"))


def _truth(con, truth_income: Path) -> pd.DataFrame:
    """Per household and month: mean true per-capita income of M-2..M divided by the 低保 standard, and the
    per-capita income an assessed check of month M would find (``assessed_ratio``, when the truth has it)."""
    cols = {r[0] for r in con.execute("describe select * from read_parquet(?)", [str(truth_income)]).fetchall()}
    assessed = ("t.assessed_income_yuan::double / t.size / h.dibao_std_yuan::double"
                if "assessed_income_yuan" in cols else "null::double")
    return con.execute(
        f"""
        with t as (
            select t.household_id, t.period, h.month_idx, t.true_income_yuan::double / t.size / h.dibao_std_yuan::double as r,
                   {assessed} as a
            from read_parquet(?) t join core.household_month h using (household_id, period)
            where t.size > 0 and h.dibao_std_yuan > 0)
        select a.household_id, a.period, avg(b.r) as true_ratio_3m, count(*) as months, any_value(a.a) as assessed_ratio
        from t a join t b on b.household_id = a.household_id and b.month_idx between a.month_idx - 2 and a.month_idx
        group by a.household_id, a.period
        """, [str(truth_income)]).df()


def _signals(con, frame: pd.DataFrame) -> tuple[np.ndarray, str]:
    from pipelines.warehouse import relation_exists

    if relation_exists(con, "core.hardship_signal"):
        have = set(con.execute("select distinct household_id || '|' || period from core.hardship_signal").fetchall())
        keys = (frame["household_id"] + "|" + frame["period"]).tolist()
        return np.array([(k,) in have for k in keys]), "core.hardship_signal"
    return data.hardship(frame), "the signals the features count (core.hardship_signal not built)"


def evaluation_rows(con, months: list[str], truth_income: Path) -> pd.DataFrame:
    """Household-months of ``months`` with partial coverage (not 低保/特困), their features, the truth
    and the hardship flag."""
    truth = _truth(con, truth_income)
    frames = [data.household_features(con, m, partial_only=True) for m in months]
    frame = pd.concat([f for f in frames if len(f)], ignore_index=True)
    frame = frame.merge(truth, on=["household_id", "period"], how="inner")
    frame = frame[frame["months"] == 3].reset_index(drop=True)
    frame["hardship_signal"], frame.attrs["signals"] = _signals(con, frame)
    edge_mult = data.edge_multiple(frame) if len(frame) else np.zeros(0)
    frame["line"] = np.where(frame["category"].astype(str).eq("edge"), 1.0, edge_mult)
    frame["below_line"] = frame["true_ratio_3m"] < frame["line"]
    frame["below_dibao"] = frame["true_ratio_3m"] < 1.0
    if frame["assessed_ratio"].notna().any():
        frame["below_assessed"] = frame["assessed_ratio"] < frame["line"]
    frame["candidate"] = data.rule_baseline(frame)
    return frame


def _scores(y, flagged, p) -> dict:
    out = metrics.of_flags(y, flagged)
    out["roc_auc"] = metrics.roc_auc(y, p) if p is not None else None
    if p is not None and np.sum(y):
        c = metrics.cutoff_for_recall(y, p, 0.9)
        out["precision_at_recall_90"] = metrics.at_cutoff(y, p, c)["precision"]
    return out


def eligibility_targets(con, artifact, cutoff: float, truth_income: Path, months: list[str],
                        oracle_months: list[str] | None = None, seed: int = 0, training: dict | None = None) -> dict:
    rows = evaluation_rows(con, months, truth_income)
    X = data.matrix(rows, artifact.features)
    rows["p"] = artifact.predict(X)
    out = {"months": months, "signals": rows.attrs.get("signals"), "populations": {}}
    pops = {"partial coverage and a hardship signal": rows["hardship_signal"].to_numpy(),
            "path (b) candidates (also observed income below the line)": (rows["hardship_signal"]
                                                                          & rows["candidate"]).to_numpy(),
            "all partial coverage": np.ones(len(rows), bool)}
    oracle_p = None
    if oracle_months:
        from pipelines.learning.common import fit

        train = evaluation_rows(con, oracle_months, truth_income)
        Xt, yt = data.matrix(train, artifact.features), train["below_line"].to_numpy(int)
        half = len(Xt) // 2
        clf, method, cal = fit(Xt, yt, Xt[half:], yt[half:], training or {}, seed)
        from pipelines.learning.artifact import Artifact

        oracle = Artifact("oracle", clf, cal, method, artifact.features)
        oracle_p = oracle.predict(X)
    for name, sel in pops.items():
        entry = {"household_months": int(sel.sum())}
        for target, _ in TRUTHS:
            if target not in rows:
                continue
            y = rows.loc[sel, target].to_numpy(int)
            p = rows.loc[sel, "p"].to_numpy()
            # the oracle learned the true income against the line: not judged on another truth
            oracle = oracle_p is not None and target != "below_assessed"
            entry[target] = {
                "truly_below": int(y.sum()),
                "model": _scores(y, p >= cutoff, p),
                "rule_baseline": _scores(y, rows.loc[sel, "candidate"].to_numpy(), None),
                "oracle": _scores(y, oracle_p[sel] >= 0.5, oracle_p[sel]) if oracle else None,
            }
        out["populations"][name] = entry
    return out


def render(result: dict, cutoff: float) -> str:
    lines = [f"Held-back months {', '.join(result['months'])}; hardship signals: {result['signals']}; "
             f"cut-off {cutoff:.3f}.", "",
             "| rows | truly below | n | truly below | model precision | model recall | rule precision | rule recall "
             "| model ROC-AUC | model precision at recall 90% | oracle ROC-AUC | oracle precision at recall 90% |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]

    def num(x):
        return "–" if x is None else f"{x:.3f}"

    for name, e in result["populations"].items():
        for target, words in TRUTHS:
            if target not in e:
                continue
            t = e[target]
            m, r, o = t["model"], t["rule_baseline"], t["oracle"] or {}
            lines.append(f"| {name} | {words} | {e['household_months']:,} | {t['truly_below']:,} | {pct(m['precision'])} | "
                         f"{pct(m['recall'])} | {pct(r['precision'])} | {pct(r['recall'])} | {num(m.get('roc_auc'))} | "
                         f"{pct(m.get('precision_at_recall_90'))} | {num(o.get('roc_auc'))} | "
                         f"{pct(o.get('precision_at_recall_90'))} |")
    return "\n".join(lines)


def referral_check_estimate(con, artifact, truth_income: Path, training: dict, seed: int, target_recall: float,
                            answered_share: float = 0.92) -> dict:
    """An estimate of what the checks of the pipeline's own referrals would teach the eligibility
    model, for a province whose offices bring no checks (the 1M benchmark's): besides the province's
    assessed checks, one label per path (b) candidate household of the training and calibration
    months (partial coverage, observed income below the line, a hardship signal; at its first such
    month, for ``answered_share`` of them -- the simulated offices leave 8% unanswered), labelled by
    its true income against the line (what the assessed referral check of pipelines.demo.simulate_checks
    would find, without the check's 2% noise) and learned, like a check, from the features of the month
    before. The same learner, calibration and cut-off rule as the artifact, judged on the held-back
    rows with a hardship signal. An estimate, not a measurement of the loop: the real one is the
    replay's (docs/models.md)."""
    from pipelines.dates import shift_period
    from pipelines.learning.artifact import Artifact
    from pipelines.learning.common import fit
    from pipelines.learning.eligibility import cutoff_rows

    months = artifact.meta["months"]
    feats = list(artifact.features)
    checks = data.eligibility_rows(con, months["train"] + months["calibration"])
    checks["y"] = data.eligibility_target(checks)
    feature_months = sorted({shift_period(m, -1) for m in months["train"] + months["calibration"]})
    rows = evaluation_rows(con, feature_months, truth_income)
    cand = rows[rows["hardship_signal"] & rows["candidate"]].sort_values(["period", "household_id"])
    cand = cand.drop_duplicates("household_id").reset_index(drop=True)
    keep = np.random.default_rng(seed).random(len(cand)) < answered_share
    cand = cand[keep].assign(label_period=lambda f: f["period"].map(lambda m: shift_period(m, 1)),
                             y=lambda f: f["below_line"].astype(int))
    cols = list(dict.fromkeys(["label_period", "y", "category", "city_code", "obs_pc_ratio_3m", "cov_partial"] + feats))
    both = pd.concat([checks[cols], cand[cols]], ignore_index=True)
    X, y = data.matrix(both, feats), both["y"].to_numpy(int)
    tr = both["label_period"].isin(months["train"]).to_numpy()
    cal = both["label_period"].isin(months["calibration"]).to_numpy()
    clf, method, calibrator = fit(X[tr], y[tr], X[cal], y[cal], training, seed)
    model = Artifact("estimate", clf, calibrator, method, feats)
    sel, _ = cutoff_rows(both, cal, y, int(training.get("min_positives", 20)))
    cutoff = metrics.cutoff_for_recall(y[sel], model.predict(X[sel]), target_recall)
    if cutoff is None:
        raise ValueError("no label below the line in the calibration months: no cut-off for the estimate")
    held = evaluation_rows(con, months["test"], truth_income)
    held = held[held["hardship_signal"]].reset_index(drop=True)
    yh, ph = held["below_line"].to_numpy(int), model.predict(data.matrix(held, feats))
    flagged = ph >= cutoff
    return {"referral_labels": int(len(cand)), "referral_labels_below": int(cand["y"].sum()),
            "check_labels": int(len(checks)), "cutoff": float(cutoff), "rows": int(len(held)),
            "truly_below": int(yh.sum()), "model": _scores(yh, flagged, ph),
            "with_rule": metrics.of_flags(yh, flagged & held["candidate"].to_numpy()),
            "rule_baseline": metrics.of_flags(yh, held["candidate"].to_numpy())}


def render_estimate(e: dict) -> str:
    m, w, r = e["model"], e["with_rule"], e["rule_baseline"]
    return "\n".join([
        f"Labels: {e['check_labels']:,} assessed checks and {e['referral_labels']:,} referral checks "
        f"({e['referral_labels_below']:,} below the line); cut-off {e['cutoff']:.3f}. Held-back rows with partial "
        f"coverage and a hardship signal: {e['rows']:,}, {e['truly_below']:,} truly below the model's line.", "",
        "| | precision | recall |", "| --- | ---: | ---: |",
        f"| model at its cut-off | {pct(m['precision'])} | {pct(m['recall'])} |",
        f"| path (b) with the model (rule and cut-off) | {pct(w['precision'])} | {pct(w['recall'])} |",
        f"| rule baseline (path (b) without the model) | {pct(r['precision'])} | {pct(r['recall'])} |",
        f"| model at recall 90% (ROC-AUC {m['roc_auc']:.3f}) | {pct(m.get('precision_at_recall_90'))} | 90% |"])
