"""The triage model: which open cases will the department confirm?

Departments answer the cases they receive (``verified`` / ``assisted`` = confirmed,
``not_verified`` / ``ineligible`` = not). The model learns, from the case as it was first sent
(indicator, severity, departments, the numbers of its warning's evidence) and its household's
features of the case's data month, how likely a case is confirmed.

- :func:`train` — time-based split on the month of first dispatch, calibration, the card (ROC-AUC,
  calibration error, share of confirmed cases in the top half of the order against the severity
  order, the same by group); writes the artifact. Refuses until ``min_answered`` answered cases
  exist (``models/triage/model.toml``).
- :func:`prioritise` — the nightly stage: every case not final gets a priority (高/中/低) in
  ``mart.case_priority``, from the model's probability when a model is in force, else from its
  severity (and the note says why). Extracts sort their rows by it; nothing is hidden or dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.dates import night_time, today
from pipelines.learning import data, metrics
from pipelines.learning.card import pct
from pipelines.learning.artifact import (Artifact, ArtifactError, ArtifactMissing, load_artifact, read_meta,
                                         save_artifact)
from pipelines.learning.common import NotEnoughData, TrainingLog, describe_rows, fit, make_artifact, time_split
from pipelines.learning.eligibility import TrainResult, group_tables
from pipelines.learning.priority import (LEVEL_RANK, SEVERITY_RANK, Thresholds, fixed_thresholds, label_of,
                                         learned_thresholds, level_of, model_thresholds)
from pipelines.learning.spec import ModelSpec, load_spec
from pipelines.warehouse import insert_arrow, sql, transaction

NAME = "triage"
CASE_FEATURES = ("severity_rank", "departments_sent", "departments_routed", "routed_mca", "ev_per_capita_ratio",
                 "ev_net_per_capita_ratio", "ev_drop_ratio", "ev_income_ratio", "ev_months", "ev_catastrophic",
                 "ev_oop_income_ratio", "ev_loss_10k", "ev_income_share", "ev_assets_ratio", "ev_cost_10k",
                 "ev_disability_grade", "cat_dibao", "cat_tekun")


def cases(con, live_only: bool = False) -> pd.DataFrame:
    return con.execute(sql("learning/triage_cases.sql"), {"live_only": live_only}).df()


def case_rows(con, frame: pd.DataFrame) -> pd.DataFrame:
    """The cases of ``frame`` with their household's features of the case's data month (left join:
    a case whose household has no core row that month keeps missing features)."""
    if not len(frame):
        return frame
    parts = []
    for period, group in frame.groupby("case_period"):
        feats = data.household_features(con, str(period), households=group["household_id"].tolist(),
                                        include_enrolled=True)
        feats = feats.drop(columns=["period"]).drop_duplicates("household_id")
        parts.append(group.merge(feats, on="household_id", how="left"))
    rows = pd.concat(parts, ignore_index=True)
    rows["severity_rank"] = rows["first_severity"].map(SEVERITY_RANK).astype(float)
    rows["cat_dibao"] = rows["category"].astype(str).eq("dibao").astype(float)
    rows["cat_tekun"] = rows["category"].astype(str).eq("tekun").astype(float)
    return rows


def feature_list(rows: pd.DataFrame, indicator_codes: list[str]) -> list[str]:
    household = [c for c in data.feature_columns(rows) if c not in set(CASE_FEATURES) and c not in _CASE_COLUMNS]
    return [f"ind_{c}" for c in indicator_codes] + list(CASE_FEATURES) + household


_CASE_COLUMNS = {"case_id", "indicator_code", "first_severity", "severity_now", "case_period", "first_as_of",
                 "dispatch_month", "answer", "confirmed"}


def triage_matrix(rows: pd.DataFrame, features: list[str]) -> np.ndarray:
    """The feature matrix; ``ind_<CODE>`` columns are the case's indicator, one-hot (an indicator
    the model has not seen has all of them 0)."""
    frame = rows.copy()
    for f in features:
        if f.startswith("ind_"):
            frame[f] = frame["indicator_code"].eq(f[4:]).astype(float)
    return data.matrix(frame, features)


def answered(con) -> tuple[int, int]:
    """(confirmed, not confirmed) answered cases in the warehouse."""
    row = con.execute(f"select count(*) filter (where confirmed = 1), count(*) filter (where confirmed = 0) "
                      f"from ({sql('learning/triage_cases.sql')})", {"live_only": False}).fetchone()
    return int(row[0]), int(row[1])


def severity_order_score(rows: pd.DataFrame) -> np.ndarray:
    """The order without a model: severity (urgent first), then the case id (a fixed tie-break)."""
    rank = rows["first_severity"].map(SEVERITY_RANK).fillna(0).to_numpy(dtype=float)
    ties = rows["case_id"].rank(method="first").to_numpy(dtype=float)
    return rank - ties / (len(rows) + 1.0)


def level_table(y: np.ndarray, p: np.ndarray, severities: list[str], thresholds: Thresholds,
                spec: ModelSpec) -> list[dict]:
    """Per priority level, on a set of answered cases (the card: the held-back months): cases, their share
    and the share the departments confirmed -- what a 高 / 中 / 低 meant."""
    levels = [level_of(float(x), s, thresholds) for x, s in zip(p, severities)]
    out = []
    for level in ("high", "medium", "low"):
        sel = np.array([lv == level for lv in levels], dtype=bool)
        n = int(sel.sum())
        out.append({"level": level, "label": label_of(level, spec), "cases": n,
                    "share": n / len(levels) if levels else None,
                    "confirmed": float(y[sel].mean()) if n else None})
    return out


def deployable(ordering: dict, spec: ModelSpec) -> tuple[bool, str]:
    """Whether the nights use the model: it must put more of the held-back months' confirmed cases in the top
    half of its order than the severity order does (``priority.require_better_than_severity``, default on) --
    a model without signal (isotonic calibration then gives nearly every case the base rate) would replace a
    meaningful order by an arbitrary one. Returns (in force, why) -- the card and the training log say it."""
    model = ordering.get("model (probability)")
    severity = ordering.get("severity (the order without a model)")
    why = (f"held-back months: the model puts {pct(model)} of the confirmed cases in the top half of its order, "
           f"the severity order {pct(severity)}")
    if not spec.priority.get("require_better_than_severity", True):
        return True, why + "; models/triage/model.toml does not require it to do better"
    # by at least min_gain_over_severity: a model of answers without signal may win by a hair (at 1M: by
    # less than 0.05 points, both shown as 50.0%)
    gain = float(spec.priority.get("min_gain_over_severity", 0.0))
    ok = model is not None and (severity is None or model >= severity + gain and model > severity)
    return ok, why + (f" (it must do better by at least {gain:.0%} of the confirmed cases)" if gain and not ok else "")


def _model_in_force(con, folder: Path, spec: ModelSpec) -> tuple[Artifact | None, Thresholds | None, str]:
    """(the model, its priority thresholds, "") -- or (None, None, the sentence saying why the night orders
    by severity): no model trained yet, one its training did not put in force (not even loaded), one that
    cannot be used."""
    unusable = "按严重程度排序：分诊模型无法使用。 Ordered by severity: the triage model cannot be used: "
    try:
        meta = read_meta(folder, NAME)
    except ArtifactError as e:
        return None, None, unusable + str(e)
    if meta is not None and meta.get("in_force", True) is False:
        return None, None, (f"按严重程度排序：分诊模型 {meta.get('version')} 在留出月份的排序未优于严重程度排序，暂不启用。"
                            f" Ordered by severity: the triage model {meta.get('version')} is not in force "
                            f"({meta.get('in_force_reason', 'it did not order the held-back cases better than severity')}).")
    try:
        art = load_artifact(folder, NAME)
        return art, model_thresholds(spec, art.meta), ""
    except ArtifactMissing:
        yes, no = answered(con)
        answers, need = yes + no, int(spec.training.get("min_answered", 300))
        if answers < need or min(yes, no) < int(spec.training.get("min_per_class", 30)):
            return None, None, (f"按严重程度排序：已答复案件 {answers} 件，分诊模型需至少 {need} 件已答复案件方可训练启用。"
                                f" Ordered by severity: {answers} answered cases, the triage model needs {need}.")
        return None, None, (f"按严重程度排序：已答复案件 {answers} 件，分诊模型尚未训练。"
                            f" Ordered by severity: {answers} answered cases, enough to train the triage model; none is "
                            f"trained yet (`lowincome model train --model triage`, or the monthly model_training DAG).")
    except (ArtifactError, ValueError) as e:  # ValueError: no priority thresholds in an older artifact
        return None, None, unusable + str(e)


# --- training ---------------------------------------------------------------------------------------

def train(con, folder: Path, spec: ModelSpec | None = None, *, seed: int | None = None, echo=print,
          card: bool = True, indicator_codes: list[str] | None = None) -> TrainResult:
    """Train on the answered cases; write ``<folder>/triage.{skops,json}``, the card and the plot."""
    t0 = time.perf_counter()
    spec = spec or load_spec(NAME)
    seed = spec.seed if seed is None else int(seed)
    tr = spec.training
    log = TrainingLog(echo)
    if indicator_codes is None:
        from pipelines.rules import default_rules

        indicator_codes = list(default_rules().codes)
    all_cases = cases(con)
    labelled = all_cases[all_cases["confirmed"].notna()].copy()
    y_all = labelled["confirmed"].astype(int).to_numpy()
    need, per_class = int(tr.get("min_answered", 300)), int(tr.get("min_per_class", 30))
    if len(labelled) < need or min(y_all.sum(), len(y_all) - y_all.sum()) < per_class:
        raise NotEnoughData(f"{len(labelled):,} answered cases ({int(y_all.sum()):,} confirmed); the triage model "
                            f"needs {need:,} answered cases and {per_class} of each answer (models/triage/model.toml): "
                            "extracts stay ordered by severity")
    rows = case_rows(con, labelled)
    features = feature_list(rows, indicator_codes)
    y = rows["confirmed"].astype(int).to_numpy()
    split = time_split(rows["dispatch_month"].unique().tolist(), tr)
    part = {k: rows["dispatch_month"].isin(v).to_numpy() for k, v in split.as_dict().items()}
    X = triage_matrix(rows, features)
    log(f"triage: {describe_rows(y)} (answered cases first sent {rows['dispatch_month'].min()}.."
        f"{rows['dispatch_month'].max()}; {len(all_cases) - len(labelled):,} sent cases without an answer are not "
        f"labels); {len(features)} features; seed {seed}")
    for k in ("train", "calibration", "test"):
        log(f"  {k:<11} months {', '.join(split.as_dict()[k])}: {describe_rows(y[part[k]])}")
    clf, method, calibrator = fit(X[part["train"]], y[part["train"]], X[part["calibration"]], y[part["calibration"]],
                                  tr, seed)
    art = make_artifact(NAME, clf, method, calibrator, features, split.test[-1], {})
    p = art.predict(X)
    thresholds = fixed_thresholds(spec) or learned_thresholds(p[part["calibration"]], spec)
    high = thresholds.high
    test = part["test"]
    sev = severity_order_score(rows[test])
    evaluation = {"held-back cases": {
        "model": metrics.summary(y[test], p[test], high),
        "rule_baseline": metrics.of_flags(y[test], rows[test]["first_severity"].isin(["urgent", "high"]).to_numpy()),
        "calibration_bins": metrics.calibration_bins(y[test], p[test]),
    }}
    ordering = {"model (probability)": metrics.share_in_top_half(y[test], p[test]),
                "severity (the order without a model)": metrics.share_in_top_half(y[test], sev),
                # the ceiling: every confirmed case first. When more than half the answered cases are confirmed,
                # no order can put all of them in the top half (at most half / confirmed share)
                "best possible (every confirmed case first)": metrics.share_in_top_half(y[test], y[test])}
    groups = group_tables(rows[test], y[test], p[test], high, spec.fairness)
    groups["indicator"] = metrics.by_group(rows[test]["indicator_code"].astype(str).tolist(), y[test], p[test], high,
                                           int(spec.fairness.get("min_group_rows", 30)),
                                           int(spec.fairness.get("min_group_positives", 10)))
    warnings = []
    for gname, table in groups.items():
        if gname != "indicator":  # indicators differ by design; listed, not judged
            warnings += metrics.fairness_gaps(gname, table, float(spec.fairness.get("max_gap", 0.15)))
    m = evaluation["held-back cases"]["model"]
    log(f"  held back ({', '.join(split.test)}): ROC-AUC {_f(m['roc_auc'])}, calibration error "
        f"{_f(m['calibration_error'])}; confirmed cases in the top half: model {_f(ordering['model (probability)'])}, "
        f"severity order {_f(ordering['severity (the order without a model)'])}, "
        f"best possible {_f(ordering['best possible (every confirmed case first)'])}")
    in_force, why = deployable(ordering, spec)
    log(f"  priority 高 >= {thresholds.high:.3f}, 中 >= {thresholds.medium:.3f} ({thresholds.rule})")
    log(f"  in force: {'yes' if in_force else 'NO -- the nights keep the severity order'} ({why})")
    for w in warnings:
        log(f"  WARNING {w}")
    art.meta.update({
        "model": NAME, "seed": seed, "priority": thresholds.as_dict(), "in_force": in_force, "in_force_reason": why,
        "levels": level_table(y[test], p[test], rows[test]["first_severity"].astype(str).tolist(), thresholds, spec),
        "label": "a department confirms the case (verified or assisted) rather than not (not_verified or ineligible)",
        "months": split.as_dict(), "month_kind": "the month the case was first sent",
        "counts": {k: {"rows": int(part[k].sum()), "positives": int(y[part[k]].sum())} for k in part},
        "evaluation": evaluation, "ordering": ordering, "groups": groups, "warnings": warnings,
        "hyperparameters": dict(tr), "trained_on": today().isoformat(),
        "fairness_bound": float(spec.fairness.get("max_gap", 0.15)),
        "baseline_words": "The rule: without a model, extracts are ordered by severity; here 'flagged' by the rule "
                          "means severity urgent or high, by the model a probability at or above the 高 threshold.",
        "explanation_method": "none in the extract (a priority only); the card's group tables show what drives it",
        "indicator_codes": list(indicator_codes),
    })
    save_artifact(folder, art)
    if card:
        from pipelines.learning.card import write_card

        write_card(folder, spec, art.meta)
    log(f"  wrote {Path(folder) / (NAME + '.skops')} version {art.version} ({time.perf_counter() - t0:.1f} s)")
    log.write(folder, f"{NAME} {art.version}")
    return TrainResult(NAME, art.version, Path(folder), art.meta, warnings, time.perf_counter() - t0)


def _f(x) -> str:
    return "–" if x is None else f"{x:.3f}"


# --- nightly priorities -------------------------------------------------------------------------------

@dataclass
class PrioritySummary:
    method: str = "severity"
    model: str | None = None
    note: str = ""
    cases: int = 0
    levels: dict[str, int] = field(default_factory=dict)
    reused: int = 0  # cases whose probability under this model was kept from the night before
    model_seconds: float = 0.0  # the model's share of the stage: loading it, the features, the probabilities

    def as_dict(self) -> dict:
        return {"method": self.method, "model": self.model, "note": self.note, "cases": self.cases,
                "levels": dict(self.levels), "reused": self.reused, "model_seconds": round(self.model_seconds, 2)}


# mart.case_priority's columns, in the order prioritise builds its records
PRIORITY_SCHEMA = pa.schema([
    ("case_id", pa.string()), ("priority", pa.string()), ("priority_rank", pa.int32()), ("probability", pa.float64()),
    ("method", pa.string()), ("model_version", pa.string()), ("note", pa.string()),
    ("scored_at", pa.timestamp("us", tz="UTC")), ("features_token", pa.string()),
])


def prioritise(con, folder: Path, as_of, spec: ModelSpec | None = None) -> PrioritySummary:
    """Give every case not final a priority in ``mart.case_priority`` (replacing the night's rows)."""
    spec = spec or load_spec(NAME)
    out = PrioritySummary()
    live = cases(con, live_only=True)
    t_model = time.perf_counter()
    art, thresholds, out.note = _model_in_force(con, folder, spec)
    probs: list[float | None] = [None] * len(live)
    token_of: dict[str, str | None] = {}  # case -> the features token its probability was computed with
    if art is not None and len(live):
        # A case's probability comes from the case as first sent and its household's features of the
        # case's month: computed once per model version, and again when what that month's features
        # are made of changes (a late delivery, a core month of its window rebuilt: data.features_tokens;
        # typically the newest two months). A night re-deriving the features of every month with open
        # cases spent ~1 min at 1M on work whose result had not changed.
        previous = {cid: (p, t) for cid, p, t in con.execute(
            "select case_id, probability, features_token from mart.case_priority "
            "where model_version = ? and probability is not null", [art.version]).fetchall()}
        tokens = data.features_tokens(con, [str(p) for p in live["case_period"].dropna().unique()])
        token_of = dict(zip(live["case_id"], live["case_period"].map(lambda p: tokens.get(str(p)))))
        keep = live["case_id"].map(lambda cid: cid in previous and previous[cid][1] is not None
                                   and previous[cid][1] == token_of[cid]).astype(bool)
        rows = case_rows(con, live[~keep])
        prob_of = {cid: float(previous[cid][0]) for cid in live.loc[keep, "case_id"]}
        if len(rows):
            prob_of.update(zip(rows["case_id"], (float(x) for x in art.predict(triage_matrix(rows, art.features)))))
        probs = [prob_of[cid] for cid in live["case_id"]]
        out.reused = int(keep.sum())
        out.method, out.model = "model", art.version
        out.note = (f"按优先级排序：分诊模型 {art.version} 估计部门核实属实的可能性（高 ≥ {thresholds.high:.3f}，"
                    f"中 ≥ {thresholds.medium:.3f}，紧急案件一律为高）。"
                    f" Ordered by priority from the triage model {art.version} (urgent cases are always 高).")
    elif art is not None:
        out.method, out.model = "model", art.version
        out.note = f"按优先级排序：分诊模型 {art.version}。 Ordered by priority from the triage model {art.version}."
    out.model_seconds = time.perf_counter() - t_model
    now = night_time(as_of)
    records = []
    for i, r in enumerate(live.itertuples(index=False)):
        severity = str(r.severity_now)
        level = level_of(probs[i], severity, thresholds)
        label = label_of(level, spec)
        out.levels[label] = out.levels.get(label, 0) + 1
        records.append([r.case_id, label, LEVEL_RANK[level], probs[i], out.method, out.model, out.note, now,
                        token_of.get(r.case_id) if probs[i] is not None else None])
    out.cases = len(records)
    with transaction(con):
        con.execute("delete from mart.case_priority")
        if records:
            # one Arrow insert: a row-by-row executemany of the ~10^5 open cases of a 1M province ran out of memory
            insert_arrow(con, "mart.case_priority", pa.Table.from_pylist(
                [dict(zip(PRIORITY_SCHEMA.names, rec)) for rec in records], schema=PRIORITY_SCHEMA))
    return out
