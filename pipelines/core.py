"""The ``core`` layer: households, persons and monthly facts, built from ``staging.*``.

Every fact table is partitioned by data month (``period``). A month is rebuilt -- delete + insert of
its partition in every core table, in one transaction -- only when the deliveries it is built from
changed (or the SQL of a model changed), so a new month costs only its own data. Trailing windows
are not materialised here: indicators join ``core.household_month`` on ``month_idx`` offsets.

The SQL lives in ``warehouse/core/build/<table>.sql`` (one model per file: the month's rows, a SELECT
parameterised by ``$period``) and ``warehouse/core/<table>.sql`` (the table and its comments, applied by
:func:`pipelines.warehouse.migrate`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

import duckdb

from pipelines.dates import months_between, shift_period
from pipelines.warehouse import migrate, sql, transaction

# Tables rebuilt in full on every build (small).
GLOBAL_MODELS = ("month_calendar", "feed_month")
# Per-month models, in dependency order.
PERIOD_MODELS = ("standards_month", "person_month", "person_income_month", "member_income_month",
                 "household_coverage_month", "household_oop_month", "student_term", "household_month",
                 "assistance_month", "roster_month", "assistance_county_month", "hardship_signal")

# Which (feed, month offset) deliveries the core facts of month M are built from.
CORE_INPUTS: tuple[tuple[str, int], ...] = (
    ("mca_roster", 0), ("mps_hukou_members", 0), ("hrss_employment", 0),
    ("nhsa_claims", 0), ("nhsa_claims", 1),   # a settlement dated M may come in the M+1 delivery
    ("moe_students", 0), ("moe_students", -6),  # the previous term tells who starts a new stage
    ("mem_disaster", 0), ("ref_standards", 0),
    # income coverage: the checks dated in the 12 months up to M (assessed ones of the last 6 verify),
    # and the births, deaths and moves since; the newest relapse-watch snapshot
    *(("mca_econ_checks", k) for k in range(-11, 1)), *(("mps_hukou_events", k) for k in range(-5, 1)),
    ("moa_relapse_watch", 0), ("moa_relapse_watch", -1),
    # hardship signals: out-of-pocket of M-2..M (settlements of M-2 may come in M-1's delivery), a death
    # dated M reported in M+1, the status of M-1 (new unemployment), certificates of M and the previous
    # snapshot (a renewal is not new), visits of M delivered up to M+1, a listing first shown in M+1
    ("nhsa_claims", -1), ("nhsa_claims", -2), ("mps_hukou_events", 1), ("hrss_employment", -1),
    ("cdpf_disability", 0), ("cdpf_disability", -1), ("grid_visits", 0), ("grid_visits", 1),
    ("moa_relapse_watch", 1),
)


# Which staged feeds (of CORE_INPUTS) and which core models each per-month model reads. When a month
# must be rebuilt because some of its input deliveries changed (typically month M-1 when the nhsa
# delivery of M arrives: settlements dated M-1 may come in it), only the models that read a changed
# feed, and those downstream of them, are rebuilt (a new month must not re-derive M-1's
# person_month from the roster and hukou feeds that did not change). "feed" = every month offset of
# the feed in CORE_INPUTS; "feed@lo..hi" (or "feed@k") = only those offsets (M-1's HRSS delivery
# changes the month's hardship signals, not its income).
MODEL_FEEDS: dict[str, tuple[str, ...]] = {
    "standards_month": ("ref_standards",),
    "person_month": ("mca_roster", "mps_hukou_members"),
    "person_income_month": ("hrss_employment@0",),
    "household_oop_month": ("nhsa_claims@0..1",),
    "member_income_month": ("moe_students",),
    "household_coverage_month": ("mca_econ_checks", "moa_relapse_watch@-1..0", "mps_hukou_events@-5..0"),
    "student_term": ("moe_students",),
    "household_month": ("mem_disaster", "hrss_employment@0", "nhsa_claims@0..1"),
    "assistance_month": ("mca_roster", "nhsa_claims@0..1", "mem_disaster"),
    "hardship_signal": ("nhsa_claims", "cdpf_disability", "mps_hukou_events", "hrss_employment", "mem_disaster",
                        "grid_visits", "moa_relapse_watch"),
}
MODEL_DEPS: dict[str, tuple[str, ...]] = {
    "household_oop_month": ("person_month",),
    "student_term": ("person_month",),
    "member_income_month": ("person_month", "person_income_month", "standards_month"),
    "household_coverage_month": ("member_income_month", "person_month", "person_income_month"),
    "household_month": ("standards_month", "person_month", "person_income_month", "household_coverage_month",
                        "household_oop_month", "student_term"),
    "assistance_month": ("person_month", "person_income_month", "student_term"),
    "roster_month": ("person_month", "household_month"),
    "assistance_county_month": ("assistance_month", "household_month"),
    "hardship_signal": ("person_month", "person_income_month", "household_oop_month", "household_month"),
}


def _feed_offsets(spec: str) -> set[tuple[str, int]]:
    """``"feed"`` -> every (feed, offset) of CORE_INPUTS; ``"feed@lo..hi"`` -> those offsets."""
    feed, _, rng = spec.partition("@")
    if not rng:
        return {(f, k) for f, k in CORE_INPUTS if f == feed}
    lo, _, hi = rng.partition("..")
    return {(feed, k) for k in range(int(lo), int(hi or lo) + 1)}


def models_to_rebuild(changed: set[tuple[str, int]]) -> tuple[str, ...]:
    """The per-month models (in PERIOD_MODELS order) affected by a change of the (feed, month offset)
    inputs ``changed``."""
    out: list[str] = []
    for name in PERIOD_MODELS:
        reads = set().union(*(_feed_offsets(f) for f in MODEL_FEEDS.get(name, ())))
        if reads & changed or any(d in out for d in MODEL_DEPS.get(name, ())):
            out.append(name)
    return tuple(out)


def model_upstream(model: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """The per-month models ``model`` is built from (itself included, in PERIOD_MODELS order) and
    the staged feeds they read: what a month's partition of ``core.<model>`` depends on."""
    need = {model}
    for name in reversed(PERIOD_MODELS):  # a model's dependencies come before it
        if name in need:
            need.update(MODEL_DEPS.get(name, ()))
    models = tuple(m for m in PERIOD_MODELS if m in need)
    return models, frozenset(f.partition("@")[0] for m in models for f in MODEL_FEEDS.get(m, ()))


@dataclass
class CoreSummary:
    built: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    households: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"core_months_built": len(self.built), "core_months_unchanged": len(self.unchanged),
                "built": self.built}


def model_sql(name: str) -> str:
    return sql(f"core/build/{name}.sql")


def _refresh_global(con: duckdb.DuckDBPyConnection) -> None:
    with transaction(con):
        for name in GLOBAL_MODELS:
            con.execute(f"delete from core.{name}")
            con.execute(f"insert into core.{name} by name {model_sql(name)}")


def feed_tokens(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple]:
    """(feed, month) -> (status, delivery_id, loaded_at) from core.feed_month."""
    rows = con.execute("select feed_id, period, status, delivery_id, cast(loaded_at as varchar) from core.feed_month").fetchall()
    return {(f, p): (s, d, t) for f, p, s, d, t in rows}


def sql_fingerprint(names: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for name in names:
        h.update(model_sql(name).encode())
    return h.hexdigest()


def core_inputs(period: str, tokens: dict) -> list[list]:
    out = []
    for feed, offset in CORE_INPUTS:
        month = shift_period(period, offset)
        status, delivery, loaded_at = tokens.get((feed, month), ("missing", None, None))
        out.append([feed, month, status, delivery, loaded_at])
    return out


def build_core(con: duckdb.DuckDBPyConnection, periods: list[str] | None = None, force: bool = False) -> CoreSummary:
    """Build or refresh ``core.*``.

    ``periods=None``: every known month whose inputs changed since it was last built. With a list of
    periods, exactly those months are rebuilt (``force`` rebuilds all months).
    """
    migrate(con)
    _refresh_global(con)
    tokens = feed_tokens(con)
    known = [r[0] for r in con.execute("select period from core.month_calendar order by period").fetchall()]
    built = dict(con.execute("select period, inputs_hash from core.build_runs").fetchall())
    previous = dict(con.execute("select period, cast(inputs as varchar) from core.build_runs").fetchall())
    sql_hash = sql_fingerprint(PERIOD_MODELS)
    summary = CoreSummary()
    todo = []
    for period in (periods if periods is not None else known):
        if period not in known:
            raise ValueError(f"unknown data month {period!r} (known: {', '.join(known) or 'none'})")
        inputs = core_inputs(period, tokens)
        digest = hashlib.sha256(json.dumps([sql_hash, inputs], default=str).encode()).hexdigest()
        if periods is None and not force and built.get(period) == digest:
            summary.unchanged.append(period)
            continue
        models = PERIOD_MODELS
        if periods is None and not force and period in built:
            models = _partial_models(sql_hash, previous.get(period), built[period], inputs, period)
        todo.append((period, inputs, digest, models))
    for period, inputs, digest, models in sorted(todo):
        summary.households[period] = _build_period(con, period, inputs, digest, models)
        summary.built.append(period)
    return summary


def _partial_models(sql_hash: str, previous_inputs: str | None, previous_digest: str, inputs: list,
                    period: str) -> tuple[str, ...]:
    """The models to rebuild for a month built before: all of them unless the stored build had the
    same SQL (its digest recomputes from the stored inputs) and only some input feeds changed."""
    try:
        old = json.loads(previous_inputs) if previous_inputs else None
    except ValueError:
        old = None
    if not old or hashlib.sha256(json.dumps([sql_hash, old], default=str).encode()).hexdigest() != previous_digest:
        return PERIOD_MODELS
    before = {(f, m): rest for f, m, *rest in old}
    changed = {(f, months_between(period, m)) for f, m, *rest in json.loads(json.dumps(inputs, default=str))
               if before.get((f, m)) != rest}
    if {f for f, _ in before} != {f for f, *_ in inputs}:
        return PERIOD_MODELS
    return models_to_rebuild(changed) or PERIOD_MODELS


def _build_period(con: duckdb.DuckDBPyConnection, period: str, inputs: list, digest: str,
                  models: tuple[str, ...] = PERIOD_MODELS) -> int:
    with transaction(con):
        for name in models:
            con.execute(f"delete from core.{name} where period = ?", [period])
            con.execute(f"insert into core.{name} by name {model_sql(name)}", {"period": period})
        households = con.execute("select count(*) from core.household_month where period = ?", [period]).fetchone()[0]
        con.execute("delete from core.build_runs where period = ?", [period])
        con.execute("insert into core.build_runs values (?, ?, ?, ?, ?)",
                    [period, digest, json.dumps(inputs, default=str),
                     dt.datetime.now(dt.timezone.utc), households])
    return households
