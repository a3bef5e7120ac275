"""Rows the models learn from and score: household features of a month, eligibility labels, cases.

The SQL is in ``warehouse/learning/`` (models: one SELECT each, ``$parameters``, nothing created):

- ``household_features.sql`` — the features of every household of a data month as of its last
  day, plus descriptors (who the row is about: roster category, coverage, urban/rural, city,
  county, the head's gender for the fairness tables; never a feature);
- ``eligibility_labels.sql`` — the assessed economic checks of a label month, attributed to a
  household with the persons of the month before;
- ``triage_cases.sql`` — dispatched cases with their answer (if any), warning evidence and
  dispatch month.

A label of month M is always joined to features of month M-1 (:func:`eligibility_rows` checks it):
what the model learns from is what was known before the check.
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.core import feed_tokens
from pipelines.dates import shift_period
from pipelines.warehouse import sql

# Columns of household_features.sql that describe the row and are never features. obs_pc_ratio_3m is
# what ELIG path (b) compares with the line (rule_baseline); the model reads it inside
# known_floor_pc_ratio, with the registered income of an earlier check.
DESCRIPTORS = ("period", "household_id", "on_roster", "category", "income_coverage", "urban_rural",
               "city_code", "county_code", "dibao_std_yuan", "household_size", "head_gender",
               "observed_pc_ratio_now", "obs_pc_ratio_3m")
# The hardship signals of docs/indicators.md the features count (last 6 months; disasters 12).
HARDSHIP_COLUMNS = ("hs_catastrophic_6m", "hs_severe_disability_6m", "hs_working_age_death_6m",
                    "hs_new_unemployed_6m", "hs_watch_listed_6m", "grid_findings_6m", "severe_disasters_12m")


class LeakageError(AssertionError):
    """A label was joined to features of its own month or later."""


def _scope(con, households) -> bool:
    con.execute("create or replace temp table learning_scope (household_id varchar)")
    if households is None:
        return False
    ids = sorted({h for h in households if h})
    if ids:
        con.execute("insert into temp.learning_scope select unnest(?::varchar[])", [ids])
    return True


def household_features(con, period: str, *, households=None, partial_only: bool = False,
                       include_enrolled: bool = False) -> pd.DataFrame:
    """The rows of ``household_features.sql`` for data month ``period`` (all households, or those in
    ``households``)."""
    return _features_result(con, period, households, partial_only, include_enrolled).df()


def household_features_table(con, period: str, *, households=None, partial_only: bool = False,
                             include_enrolled: bool = False) -> pa.Table:
    """:func:`household_features` as an Arrow table: the nightly scoring reads the feature columns
    straight into a matrix (:func:`table_matrix`; a pandas frame of a 1M province's month cost ~1 s more)."""
    result = _features_result(con, period, households, partial_only, include_enrolled).arrow()
    return result.read_all() if isinstance(result, pa.RecordBatchReader) else result


def _features_result(con, period, households, partial_only, include_enrolled):
    scoped = _scope(con, households)
    return con.execute(sql("learning/household_features.sql"),
                       {"period": period, "scoped": scoped, "partial_only": partial_only,
                        "include_enrolled": include_enrolled})


# What a month's features are made of besides its own core facts: the core months of its trailing
# windows (12 months, the longest: household_month, household_oop_month) and the staged feeds the SQL
# reads itself, each up to the month (named from the SQL, so a feed it starts reading is covered).
FEATURE_HISTORY_MONTHS = 12


def feature_feeds() -> tuple[str, ...]:
    """The staged feeds ``household_features.sql`` reads (``staging.mem_disaster_current`` is
    mem_disaster's)."""
    found = re.findall(r"staging\.(\w+)", sql("learning/household_features.sql"))
    return tuple(sorted({t.removesuffix("_current") for t in found}))


def features_tokens(con, periods) -> dict[str, str]:
    """Per data month, a digest of everything its household features are computed from: the core
    builds (``core.build_runs``) of the month and the 11 before it, and every delivery token
    (``core.feed_month``) of :func:`feature_feeds` for months up to it. Equal tokens, equal features:
    the scoring stages score a month's households (or a month's cases) again exactly when it
    changes -- a late delivery of an older month, or a core month rebuilt inside the window, included."""
    builds = dict(con.execute("select period, inputs_hash from core.build_runs").fetchall())
    read = set(feature_feeds())
    deliveries = sorted((f, month, *token) for (f, month), token in feed_tokens(con).items() if f in read)
    out = {}
    for period in sorted(set(periods)):
        window = [builds.get(shift_period(period, -k)) for k in range(FEATURE_HISTORY_MONTHS)]
        delivered = [d for d in deliveries if d[1] <= period]
        out[period] = hashlib.sha256(json.dumps([window, delivered], default=str).encode()).hexdigest()
    return out


def feature_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in DESCRIPTORS]


def matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    """The feature columns as a float matrix (missing = NaN, which the trees route as learned)."""
    if not len(frame):
        return np.zeros((0, len(features)))
    return frame[features].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def table_matrix(table: pa.Table, features: list[str]) -> np.ndarray:
    """:func:`matrix` of an Arrow table: each feature column cast to float64 (null = NaN), C order
    (the layout the trees' binning reads)."""
    out = np.empty((table.num_rows, len(features)), dtype=np.float64)
    for j, f in enumerate(features):
        out[:, j] = pc.cast(table.column(f), pa.float64()).to_numpy(zero_copy_only=False)  # nulls become NaN
    return out


def data_months(con) -> list[str]:
    """Months with households in core, oldest first."""
    return [r[0] for r in con.execute("select distinct period from core.household_month order by 1").fetchall()]


def eligibility_rows(con, label_months: list[str] | None = None) -> pd.DataFrame:
    """One row per assessed check of a label month whose household has features in the month
    before: the label columns (check_id, label_period, outcome, reason, ...) and the features of
    ``feature_period`` = label month - 1."""
    months = data_months(con)
    if label_months is None:
        label_months = months[1:]
    frames = []
    for m in label_months:
        fm = shift_period(m, -1)
        if fm not in months:
            continue
        labels = con.execute(sql("learning/eligibility_labels.sql"), {"period": m, "feature_period": fm}).df()
        if not len(labels):
            continue
        feats = household_features(con, fm, households=labels["household_id"].tolist())
        frames.append(labels.merge(feats, on="household_id", how="inner"))
    if not frames:
        return pd.DataFrame()
    rows = pd.concat(frames, ignore_index=True)
    check_no_leakage(rows)
    return rows


def check_no_leakage(rows: pd.DataFrame) -> None:
    """Every label's features come from a month strictly before the label month."""
    if not len(rows):
        return
    bad = rows[rows["period"].astype(str) >= rows["label_period"].astype(str)]
    if len(bad):
        r = bad.iloc[0]
        raise LeakageError(f"{len(bad)} label row(s) joined to features of their own month or later, e.g. check "
                           f"{r.get('check_id')} of {r['label_period']} with features of {r['period']}")


def eligibility_target(rows: pd.DataFrame) -> np.ndarray:
    """1 when the check found the household below its line: the 低保边缘 line (below_dibao or
    below_edge), or for a family already on the roster as 低保边缘 the 低保 standard (below_dibao)."""
    edge_family = rows["category"].astype(str).eq("edge").to_numpy()
    below_dibao = rows["outcome"].eq("below_dibao").to_numpy()
    below_edge = rows["outcome"].isin(["below_dibao", "below_edge"]).to_numpy()
    return np.where(edge_family, below_dibao, below_edge).astype(int)


def hardship(frame: pd.DataFrame) -> np.ndarray:
    """A hardship signal in the window (the subset of docs/indicators.md the features count)."""
    cols = [c for c in HARDSHIP_COLUMNS if c in frame.columns]
    return (frame[cols].fillna(0).sum(axis=1) > 0).to_numpy()


def rule_baseline(frame: pd.DataFrame) -> np.ndarray:
    """ELIG path (b) without the model, on the features of a row: coverage partial, observed
    per-capita income of the last 3 months below the line (the 低保边缘 line; the 低保 standard for an
    edge family) and a hardship signal."""
    line = np.where(frame["category"].astype(str).eq("edge"), 1.0, edge_multiple(frame))
    observed = frame["obs_pc_ratio_3m"].astype(float).to_numpy()
    return (frame["cov_partial"].astype(float).to_numpy() == 1.0) & (observed < line) & hardship(frame)


def edge_multiple(frame: pd.DataFrame) -> np.ndarray:
    from pipelines.rules import default_rules

    rules = default_rules()
    return np.array([rules.edge_multiplier_for(str(c)) for c in frame["city_code"]], dtype=float)


def age_band(ages, bands: list[int]) -> list[str]:
    """Head's age band labels from the lower bounds in ``bands`` ([16, 40, 60] -> <40, 40-59, 60+)."""
    out = []
    for a in ages:
        if a is None or (isinstance(a, float) and np.isnan(a)):
            out.append("unknown")
            continue
        label = f"<{bands[1]}" if len(bands) > 1 else f"{bands[0]}+"
        for i, lo in enumerate(bands[1:], start=1):
            if a >= lo:
                label = f"{lo}+" if i == len(bands) - 1 else f"{lo}-{bands[i + 1] - 1}"
        out.append(label)
    return out
