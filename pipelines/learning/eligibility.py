"""The eligibility model: is a household's income really below the line?

For ``partial`` households the feeds see only part of the income (farm, migrant and informal
work are in no feed). The economic check centre's assessed checks are labelled examples of the
hidden part: the model learns, from what the feeds show of a household in the month before its
check, how likely the check finds it below its line (``models/eligibility/model.toml``: the 低保边缘
line; the 低保 standard for a family already 低保边缘) -- the proxy-means test idea, learned from
the province's own checks.

- :func:`train` — time-based split (trees on the older label months, calibration on the next,
  the last held back), the cut-off for the target recall, the card; writes the artifact.
- :func:`score` — the nightly stage: the months core holds that are not scored yet (or whose features
  may have changed: :func:`pipelines.learning.data.features_tokens`), households with ``partial`` coverage not in 低保/特困, into
  ``core.eligibility_month`` with the three feature groups that moved each probability most where it
  reaches the cut-off and someone reads them (:func:`explained_rows`: path (b) candidates and the
  watchlist's risers). ELIG path (b) reads that table (a month without rows has no gate).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.dates import today
from pipelines.learning import data, metrics
from pipelines.learning.artifact import ArtifactError, ArtifactMissing, load_artifact, read_meta, save_artifact
from pipelines.learning.common import NotEnoughData, TrainingLog, describe_rows, fit, make_artifact, time_split
from pipelines.learning.spec import ModelSpec, load_spec

NAME = "eligibility"


# --- training ---------------------------------------------------------------------------------------

# Probabilities and cut-offs are stored (core.eligibility_month, warning evidence) and compared at this
# precision: the gate and the explanations agree, and no value carries digits enough to look like an id.
PROBABILITY_DECIMALS = 6

def check_feature_list(spec: ModelSpec, columns: list[str]) -> None:
    """Every feature the SQL returns is named in features.toml and the reverse."""
    unnamed = [c for c in columns if c not in spec.features]
    unused = [c for c in spec.features if c not in columns]
    if unnamed or unused:
        raise ArtifactError(f"models/{spec.name}/features.toml and warehouse/learning/household_features.sql disagree: "
                            f"returned but not named: {', '.join(unnamed) or '-'}; named but not returned: "
                            f"{', '.join(unused) or '-'}")


@dataclass
class TrainResult:
    name: str
    version: str
    folder: Path
    meta: dict
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"model": self.name, "version": self.version, "folder": str(self.folder),
                "warnings": self.warnings, "seconds": round(self.seconds, 1)}


def group_tables(frame: pd.DataFrame, y: np.ndarray, p: np.ndarray, cutoff: float, fairness: dict) -> dict:
    bands = list(fairness.get("age_bands", [16, 40, 60]))
    groupings = {
        "urban_rural": frame["urban_rural"].fillna("unknown").astype(str).tolist(),
        "city": frame["city_code"].fillna("unknown").astype(str).tolist(),
        "head_gender": frame["head_gender"].fillna("unknown").astype(str).tolist(),
        "head_age_band": data.age_band(frame["head_age"].tolist(), bands),
    }
    kw = {"min_rows": int(fairness.get("min_group_rows", 30)),
          "min_positives": int(fairness.get("min_group_positives", 10))}
    return {name: metrics.by_group(values, y, p, cutoff, **kw) for name, values in groupings.items()}


def cutoff_rows(rows: pd.DataFrame, calibration: np.ndarray, y: np.ndarray, need: int) -> tuple[np.ndarray, str]:
    """The labelled rows the cut-off is chosen on, and their description: the calibration months' checks of
    the households path (b) asks about (partial coverage, observed income below the line, a hardship
    signal -- the checks of the pipeline's own referrals) when they hold ``need`` of each outcome; else
    those of every partial household when they hold ``need`` below the line; else every check."""
    sel = calibration & data.rule_baseline(rows)
    if y[sel].sum() >= need and (1 - y[sel]).sum() >= need:
        return sel, "calibration months, path (b) households"
    sel = calibration & (rows["cov_partial"].to_numpy() == 1.0)
    if y[sel].sum() >= need:
        return sel, "calibration months, partial coverage"
    return calibration, "calibration months, all checks (too few partial ones)"


def train(con, folder: Path, spec: ModelSpec | None = None, *, seed: int | None = None, echo=print,
          card: bool = True) -> TrainResult:
    """Train on the warehouse's assessed checks, write ``<folder>/eligibility.{skops,json}``, the card
    and the calibration plot; append to ``<folder>/training.log``."""
    t0 = time.perf_counter()
    spec = spec or load_spec(NAME)
    seed = spec.seed if seed is None else int(seed)
    log = TrainingLog(echo)
    tr = spec.training
    rows = data.eligibility_rows(con)
    if not len(rows):
        raise NotEnoughData("no assessed economic checks with features of the month before: nothing to learn from")
    features = data.feature_columns(rows.drop(columns=["check_id", "label_period", "feature_period", "check_date",
                                                       "reason", "outcome", "check_pc_yuan"]))
    check_feature_list(spec, features)
    y = data.eligibility_target(rows)
    if len(rows) < int(tr.get("min_rows", 200)) or min(y.sum(), len(y) - y.sum()) < int(tr.get("min_positives", 20)):
        raise NotEnoughData(f"{describe_rows(y)} from the assessed checks; training needs at least "
                            f"{tr.get('min_rows', 200)} rows and {tr.get('min_positives', 20)} of each outcome")
    split = time_split(rows["label_period"].unique().tolist(), tr)
    part = {k: rows["label_period"].isin(v).to_numpy() for k, v in split.as_dict().items()}
    X = data.matrix(rows, features)
    log(f"eligibility: {describe_rows(y)} (assessed checks of {rows['label_period'].min()}..{rows['label_period'].max()}, "
        f"features of the month before each); {len(features)} features; seed {seed}")
    for k in ("train", "calibration", "test"):
        log(f"  {k:<11} months {', '.join(split.as_dict()[k])}: {describe_rows(y[part[k]])}")
    if min(y[part["train"]].sum(), (1 - y[part["train"]]).sum()) == 0:
        raise NotEnoughData("the training months hold only one outcome")
    clf, method, calibrator = fit(X[part["train"]], y[part["train"]], X[part["calibration"]], y[part["calibration"]],
                                  tr, seed)
    # the population path (b) is about: partial coverage in the month before the check
    partial = rows["cov_partial"].to_numpy() == 1.0
    art = make_artifact(NAME, clf, method, calibrator, features, split.test[-1], {})
    p = art.predict(X)

    cutoff_rule = spec.cutoff
    target = float(cutoff_rule.get("target_recall", 0.9))
    if "value" in cutoff_rule:
        cutoff, how = float(cutoff_rule["value"]), "fixed in models/eligibility/model.toml"
    else:
        sel, basis = cutoff_rows(rows, part["calibration"], y, int(tr.get("min_positives", 20)))
        cutoff = metrics.cutoff_for_recall(y[sel], p[sel], target)
        how = f"highest cut-off with recall >= {target:.0%} on the {basis} ({describe_rows(y[sel])})"
        if cutoff is None:
            raise NotEnoughData("no check below the line in the calibration months: no cut-off can be chosen")
        cutoff = round(cutoff, PROBABILITY_DECIMALS)
    log(f"  calibration {method}; cut-off {cutoff:.3f} ({how})")

    test = part["test"]
    evaluation = {}
    for label, sel in (("all checks", test), ("partial coverage", test & partial)):
        evaluation[label] = {
            "model": metrics.summary(y[sel], p[sel], cutoff),
            "rule_baseline": metrics.of_flags(y[sel], data.rule_baseline(rows[sel])),
            "calibration_bins": metrics.calibration_bins(y[sel], p[sel]),
        }
    groups = group_tables(rows[test], y[test], p[test], cutoff, spec.fairness)
    warnings = []
    for name, table in groups.items():
        warnings += metrics.fairness_gaps(name, table, float(spec.fairness.get("max_gap", 0.15)))
    head = evaluation["all checks"]["model"]
    log(f"  held back ({', '.join(split.test)}): ROC-AUC {_f(head['roc_auc'])}, precision {_f(head['at_cutoff']['precision'])} "
        f"recall {_f(head['at_cutoff']['recall'])} at the cut-off; calibration error {_f(head['calibration_error'])}")
    part_eval = evaluation["partial coverage"]
    log(f"  partial coverage: model precision {_f(part_eval['model']['at_cutoff']['precision'])} recall "
        f"{_f(part_eval['model']['at_cutoff']['recall'])}; rule baseline precision "
        f"{_f(part_eval['rule_baseline']['precision'])} recall {_f(part_eval['rule_baseline']['recall'])}")
    for w in warnings:
        log(f"  WARNING {w}")

    art.meta.update({
        "model": NAME, "seed": seed, "cutoff": cutoff, "cutoff_rule": how, "target_recall": target,
        "label": "assessed economic check below the 低保边缘 line (edge families: below the 低保 standard)",
        "months": split.as_dict(),
        "counts": {k: {"rows": int(part[k].sum()), "positives": int(y[part[k]].sum()),
                       "partial_rows": int((part[k] & partial).sum())} for k in part},
        "reasons": {k: {str(r): int(n) for r, n in rows[part[k]]["reason"].value_counts().sort_index().items()}
                    for k in part},
        "evaluation": evaluation, "groups": groups, "warnings": warnings,
        "hyperparameters": {k: v for k, v in tr.items()},
        "fairness_bound": float(spec.fairness.get("max_gap", 0.15)),
        "month_kind": "the month of the check; features are the household's of the month before",
        "baseline_words": "The rule: ELIG path (b) without the model -- coverage partial in the month before the "
                          "check, observed per-capita income of the last 3 months below the line, and a hardship "
                          "signal in the last 6 months (the subset of signals the features count).",
        "trained_on": today().isoformat(),
        "explanation_method": "path contributions (Saabas) of the boosted trees, summed per feature group, "
                              "stated as the change in calibrated probability",
    })
    folder = Path(folder)
    save_artifact(folder, art)
    if card:
        from pipelines.learning.card import write_card

        write_card(folder, spec, art.meta)
    log(f"  wrote {folder / (NAME + '.skops')} version {art.version} ({time.perf_counter() - t0:.1f} s)")
    log.write(folder, f"{NAME} {art.version}")
    return TrainResult(NAME, art.version, folder, art.meta, warnings, time.perf_counter() - t0)


def _f(x) -> str:
    return "–" if x is None else f"{x:.3f}"


# --- nightly scoring ----------------------------------------------------------------------------------

@dataclass
class ScoreSummary:
    model: str | None = None
    note: str = ""
    scored: dict[str, int] = field(default_factory=dict)     # month -> rows
    above_cutoff: dict[str, int] = field(default_factory=dict)
    explained: dict[str, int] = field(default_factory=dict)  # month -> rows given their top features
    unchanged: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"model": self.model, "note": self.note, "months_scored": len(self.scored),
                "rows": sum(self.scored.values()), "above_cutoff": sum(self.above_cutoff.values()),
                "explained": sum(self.explained.values()),
                "scored": dict(self.scored), "unchanged": len(self.unchanged), "seconds": round(self.seconds, 2)}


def score(con, folder: Path, spec: ModelSpec | None = None, months: list[str] | None = None,
          signal_months: int | None = None) -> ScoreSummary:
    """Score the months that need it into ``core.eligibility_month`` (see the module docstring).

    ``signal_months``: the hardship-signal window of the rules the model gates (default: the default
    rules' :meth:`~pipelines.rules.Rules.model_gate_signal_months`); see :func:`explained_rows`.

    No model: nothing is written and the summary says so (path (b) then runs without the model,
    as it did before one existed). An artifact that cannot be used (other library versions, other
    features) is the same, with the reason in the summary's note: the night goes on."""
    t0 = time.perf_counter()
    spec = spec or load_spec(NAME)
    out = ScoreSummary()
    try:
        art = load_artifact(folder, NAME)
    except ArtifactMissing:
        out.note = "no eligibility model trained yet: ELIG path (b) runs without it"
        return out
    except ArtifactError as e:
        out.note = f"eligibility model not used: {e}"
        return out
    if set(art.features) != set(spec.features):
        out.note = (f"eligibility model {art.version} not used: it was trained on other features than "
                    f"models/eligibility/features.toml names now; retrain with `lowincome model train --model eligibility`")
        return out
    out.model = art.version
    # at the precision of the stored probabilities: a cut-off written with 17 decimals would also read
    # as a 身份证号 to the analyst database's identifier scan, in every path (b) warning's evidence
    cutoff = round(float(spec.cutoff["value"]) if "value" in spec.cutoff else float(art.meta["cutoff"]),
                   PROBABILITY_DECIMALS)
    k = int(spec.scoring.get("top_features", 3))
    scope = ExplainScope.of(spec, signal_months)
    backfill = int(spec.scoring.get("backfill_months", 4))
    known = data.data_months(con)
    if months is None:
        months = known
    features = data.features_tokens(con, months)
    runs = {p: (h, v) for p, h, v in con.execute(
        "select period, inputs_hash, model_version from core.eligibility_runs").fetchall()}
    newest = known[-1] if known else None
    for period in months:
        token = hashlib.sha256(json.dumps([features[period], art.version, cutoff, k, scope.key()]).encode()).hexdigest()
        previous = runs.get(period)
        if previous is not None and previous[0] == token:
            out.unchanged.append(period)
            continue
        if previous is None and newest is not None and _months_between(period, newest) >= backfill:
            continue  # an old month never scored: left without a gate (it was evaluated long ago)
        n, above, explained = _score_month(con, art, spec, period, cutoff, k, token, scope)
        out.scored[period], out.above_cutoff[period], out.explained[period] = n, above, explained
    out.seconds = time.perf_counter() - t0
    return out


def _months_between(a: str, b: str) -> int:
    from pipelines.dates import months_between

    return months_between(a, b)


@dataclass(frozen=True)
class ExplainScope:
    """Which households above the cut-off a month's scoring explains (see :func:`explained_rows`)."""
    signal_months: int  # the gated rules' hardship-signal window (0: no rule is gated)
    watch_months: int   # the watchlist compares with the probability this many months before
    min_rise: float     # ... and lists rises of at least this much

    def key(self) -> list:
        return [self.signal_months, self.watch_months, self.min_rise]

    @classmethod
    def of(cls, spec: ModelSpec, signal_months: int | None = None) -> "ExplainScope":
        """The scope of the model's spec (its [watchlist]) and the rules' signal window (default: the
        default rules')."""
        if signal_months is None:
            from pipelines.rules import default_rules

            signal_months = default_rules().model_gate_signal_months()
        return cls(signal_months, int(spec.watchlist.get("months", 3)), float(spec.watchlist.get("min_rise", 0.1)))


def explained_rows(con, frame: pd.DataFrame, probs: np.ndarray, cutoff: float, period: str,
                   scope: ExplainScope) -> np.ndarray:
    """Positions of the rows of ``frame`` whose probability reaches the cut-off and whose top features
    someone reads: households with a hardship signal (core.hardship_signal) in the ``signal_months``
    months up to ``period`` -- the only ones ELIG path (b) can warn about, in words, with these features
    -- and households off the roster whose probability rose by ``min_rise`` or more since
    ``watch_months`` months before (the analysts' watchlist, which shows them). Explaining every
    household above the cut-off cost most of a month's scoring at 1M (a third of the households reach
    it; about 2% of those are read)."""
    from pipelines.dates import shift_period

    above = probs >= cutoff
    if not above.any():
        return np.flatnonzero(above)
    ids = frame["household_id"].astype(str)
    wanted = np.zeros(len(frame), dtype=bool)
    if scope.signal_months > 0:
        signalled = {h for (h,) in con.execute("""
            select distinct s.household_id from core.hardship_signal s join core.month_calendar c using (period)
            where c.month_idx between (select month_idx from core.month_calendar where period = $p) - ($n - 1)
                                  and (select month_idx from core.month_calendar where period = $p)""",
            {"p": period, "n": scope.signal_months}).fetchall()}
        wanted |= ids.isin(signalled).to_numpy()
    # the earlier month's probabilities as Arrow columns and a vectorised lookup (a dict of a month's
    # ~350,000 scores at 1M cost ~0.5 s a month)
    before = con.execute("select household_id, probability from core.eligibility_month where period = ?",
                         [shift_period(period, -scope.watch_months)]).arrow().read_all()
    if before.num_rows:
        earlier = pd.Series(before.column("probability").to_numpy(zero_copy_only=False),
                            index=before.column("household_id").to_pandas()).reindex(ids).to_numpy(dtype=float)
        off_roster = ~frame["on_roster"].fillna(False).astype(bool).to_numpy()
        with np.errstate(invalid="ignore"):
            wanted |= off_roster & (probs - earlier >= scope.min_rise)
    return np.flatnonzero(above & wanted)


def _score_month(con, art, spec: ModelSpec, period: str, cutoff: float, k: int, token: str,
                 scope: ExplainScope) -> tuple[int, int, int]:
    from pipelines.learning.explain import top_features
    from pipelines.warehouse import registered, transaction

    table = data.household_features_table(
        con, period, partial_only=list(spec.scoring.get("coverage", ["partial"])) == ["partial"])
    n = table.num_rows
    ids = table.column("household_id").cast(pa.string())
    X = data.table_matrix(table, art.features)
    # rounded as stored: the households explained here are exactly those the gate lets through
    # (stored probability >= stored cut-off)
    probs = np.round(art.predict(X), PROBABILITY_DECIMALS) if n else np.zeros(0)
    tops = [None] * n
    above = int((probs >= cutoff).sum())
    explain = np.zeros(0, dtype=int)
    if n:
        who = pd.DataFrame({"household_id": ids.to_pandas(), "on_roster": table.column("on_roster").to_pandas()})
        explain = explained_rows(con, who, probs, cutoff, period, scope)
    if len(explain):
        for i, items in zip(explain, top_features(art, spec, X[explain], k)):
            tops[i] = json.dumps(items, ensure_ascii=False)
    table = pa.table({
        "period": pa.array([period] * n, pa.string()),
        "household_id": ids,
        "probability": pa.array(probs, pa.float64()),
        "cutoff": pa.array([cutoff] * n, pa.float64()),
        "model_version": pa.array([art.version] * n, pa.string()),
        "top_features": pa.array(tops, pa.string()),
    })
    with registered(con, "eligibility_scored", table), transaction(con):
        con.execute("delete from core.eligibility_month where period = ?", [period])
        con.execute("insert into core.eligibility_month select period, household_id, probability, cutoff, "
                    "model_version, cast(top_features as json) from eligibility_scored")
        con.execute("delete from core.eligibility_runs where period = ?", [period])
        con.execute("insert into core.eligibility_runs values (?, ?, ?, ?, ?, ?)",
                    [period, token, art.version, cutoff, n, above])
    return n, above, int(len(explain))
