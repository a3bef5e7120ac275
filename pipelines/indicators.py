"""Warning indicators: completeness gating, evaluation of ``warehouse/indicators/<CODE>.sql`` per
data month, and ``mart.warnings``.

Principle 6 (no verdict on missing data): an indicator runs for a month only when every feed it
needs (``feeds`` in models/indicators.toml) has a loaded delivery for that month; otherwise the
summary says what it waits for. Months are re-evaluated only when their input deliveries changed
(``mart.indicator_runs.inputs_hash``), so running twice adds nothing.

Principle 9 (urgent evidence on arrival): an indicator marked ``arrival = true`` (DISASTER, POP_DEATH,
GRID_FINDING, CHILD_NO_CARE) does not wait for the month's roster and hukou members. It reads the
household composition of the newest month, up to the one it needs, with both loaded (bound as
``$composition_period``, recorded in the evidence) and needs only a loaded delivery of its event
feed touching the month (a daily month still ``open`` counts). The composition month's deliveries
are part of its inputs hash, so the month-end evaluation runs again and, with the same household
and severity, produces the same warning id: the case opened on arrival is fed, never doubled.

Each indicator model is one SELECT over ``core.*`` (and a few ``staging.*`` event tables), bound with
DuckDB prepared parameters (``$period``, ``$drop_ratio``, ...) -- feed content is never formatted
into SQL. It returns candidate rows: indicator_code, severity, period, household_id, family_id,
hukou_no, person_id, county_code, departments, evidence (JSON), explanation; optionally
``office_region`` (the 12-digit region whose office should act: the event's own region where it has
one), else the household's region of the month.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from dataclasses import dataclass, field

import duckdb

from pipelines.config import WAREHOUSE_SQL_DIR
from pipelines.core import MODEL_FEEDS, PERIOD_MODELS, feed_tokens, model_sql
from pipelines.dates import first_moment_after, month_end, shift_period
from pipelines.rules import IndicatorRule, Rules, rules_hash
from pipelines.warehouse import migrate, transaction

SQL_DIR = WAREHOUSE_SQL_DIR / "indicators"
CANDIDATE_COLUMNS = ("indicator_code", "severity", "period", "household_id", "family_id", "hukou_no",
                     "person_id", "county_code", "departments", "evidence", "explanation")
# Optional: a model that does not return it gets the household's region of the month.
OPTIONAL_CANDIDATE_COLUMNS = ("office_region",)
# The feeds a household's composition is read from (core.person_month). An indicator evaluated on
# arrival takes them from the newest month that has them all loaded.
COMPOSITION_FEEDS: tuple[str, ...] = MODEL_FEEDS["person_month"]
# An event feed's month counts on arrival once a delivery touching it has loaded (a daily month is
# "open" until it closes).
ARRIVED = ("loaded", "open")
_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class IndicatorSummary:
    evaluated: list[dict] = field(default_factory=list)   # {indicator, period, warnings, partial, seconds, cpu_s}
    skipped: int = 0                                      # unchanged inputs: not evaluated again
    waiting: list[str] = field(default_factory=list)      # "INC_DROP 2026-05 waits for hrss_employment"
    partial: list[str] = field(default_factory=list)      # evaluated without an optional feed
    new_warnings: int = 0
    retracted_warnings: int = 0                           # unlinked warnings a re-evaluation no longer raises
    unevaluable: int = 0                                  # months whose window starts before the first data month

    @property
    def warnings(self) -> int:
        return sum(e["warnings"] for e in self.evaluated)

    def as_dict(self) -> dict:
        return {"evaluated": len(self.evaluated), "skipped": self.skipped, "new_warnings": self.new_warnings,
                "retracted_warnings": self.retracted_warnings, "unevaluable": self.unevaluable, "waiting_months": len(self.waiting),
                "waiting": list(self.waiting), "partial": list(self.partial)}


def _prepare_session(con: duckdb.DuckDBPyConnection, rules: Rules) -> None:
    con.execute("create or replace temp table indicator_city_params (city_code varchar, edge_multiplier double)")
    cities = rules.city_edge_multipliers()
    if cities:
        con.executemany("insert into indicator_city_params values (?, ?)", [[c, m] for c, m in cities.items()])
    con.execute((SQL_DIR / "_macros.sql").read_text(encoding="utf-8"))


# --- gating -----------------------------------------------------------------------------------------

def _status(tokens: dict, feed: str, month: str) -> str:
    return tokens.get((feed, month), ("missing", None, None))[0]


# Monthly feeds whose deliveries tell how far the data has got (months after the newest one are
# not "waiting", they have simply not happened yet).
HORIZON_FEEDS = ("mca_roster", "hrss_employment", "mps_hukou_members", "nhsa_claims", "mps_hukou_events")


def data_span(tokens: dict) -> tuple[str | None, str | None]:
    """The first and newest month for which any monthly feed has a loaded or rejected delivery.
    Months outside (a term or quarterly delivery can cover months before or after) are not due."""
    months = [p for (f, p), (status, _, _) in tokens.items() if f in HORIZON_FEEDS and status in ("loaded", "rejected")]
    return (min(months), max(months)) if months else (None, None)


def _before_since(feed_id: str, month: str) -> bool:
    """A month before the feed's first period (``since``): nothing is expected, nothing to wait for."""
    from pipelines.feeds import FEEDS

    spec = FEEDS.get(feed_id)
    return spec is not None and not spec.expected(month)


def gate(rule: IndicatorRule, period: str, tokens: dict, first_month: str | None = None) -> tuple[list[str], list[str]]:
    """(waits, partial): required feed-months not loaded; optional feeds not loaded for the month.

    A need for a month before the feed's first period (``since``: a feed that joined the catalog
    later) is satisfied: an indicator that needs a new feed waits for it only from its since. A need
    for a month before ``first_month`` (before the warehouse's first data month) can never be met:
    it is reported as ``before first data month``.

    An arrival indicator (``rule.arrival``) does not wait for its composition feeds (roster, hukou
    members: :func:`composition_period` finds their newest loaded month) and takes its event feed's
    month as soon as a delivery touching it has loaded (status ``open`` of a daily month counts).
    """
    waits, partial = [], []
    for need in rule.feeds:
        if rule.arrival and need.feed_id in COMPOSITION_FEEDS:
            continue  # the composition: the newest month with them loaded (composition_period)
        for k in range(need.lo, need.hi + 1):
            month = shift_period(period, k)
            if _before_since(need.feed_id, month):
                continue
            if first_month is not None and month < first_month:
                waits.append(f"{need.feed_id} {month} (before first data month)")
                continue
            status = _status(tokens, need.feed_id, month)
            if status == "not_expected" and need.feed_id not in _feed_ids():
                # a pseudo-feed (moe_students_midterm) that does not exist for this month: never due
                waits.append(f"{need.feed_id} {month} (not expected)")
                continue
            if status == "loaded" or (rule.arrival and status in ARRIVED):
                continue
            label = need.feed_id + (f" {month}" if k else "")
            waits.append(label + (f" ({status})" if status in ("rejected", "open") else ""))
    for need in rule.optional_feeds:
        for k in range(need.lo, need.hi + 1):
            month = shift_period(period, k)
            if _before_since(need.feed_id, month):
                continue
            if _status(tokens, need.feed_id, month) != "loaded":
                partial.append(need.feed_id + (f" {month}" if k else ""))
    return waits, partial


def _feed_ids() -> set[str]:
    from pipelines.feeds import FEEDS

    return set(FEEDS)


def composition_offset(rule: IndicatorRule) -> int:
    """The month offset whose household composition an indicator reads: the newest offset of its
    composition feeds (0: the data month; POP_DEATH -1: the household before the death)."""
    offsets = [n.hi for n in rule.feeds if n.feed_id in COMPOSITION_FEEDS]
    return max(offsets) if offsets else 0


def composition_period(rule: IndicatorRule, period: str, tokens: dict, months: list[str]) -> str | None:
    """The month whose roster and hukou members an indicator reads for data month ``period``.

    Month-end indicators read the month of their composition offset (the gate has checked it is
    loaded). An arrival indicator reads the newest month up to it with every composition feed it
    names loaded, or ``None`` when there is none yet."""
    target = shift_period(period, composition_offset(rule))
    if not rule.arrival:
        return target
    feeds = [n.feed_id for n in rule.feeds if n.feed_id in COMPOSITION_FEEDS] or list(COMPOSITION_FEEDS)
    for month in sorted((m for m in months if m <= target), reverse=True):
        if all(_status(tokens, f, month) == "loaded" for f in feeds):
            return month
    return None


def arrived(rule: IndicatorRule, period: str, tokens: dict) -> bool:
    """An arrival indicator's event feed has a loaded delivery touching ``period``: the month is due
    even before the monthly feeds reach it."""
    for need in rule.feeds:
        if need.feed_id in COMPOSITION_FEEDS:
            continue
        for k in range(need.lo, need.hi + 1):
            if _status(tokens, need.feed_id, shift_period(period, k)) in ARRIVED:
                return True
    return False


def path_bounds(rule: IndicatorRule, period: str, tokens: dict) -> dict[str, tuple[str | None, list[str]]]:
    """Per path of ``rule.path_feeds``: (the first month of the run of months, ending at ``period``, in
    which every feed the path reads is loaded -- ``None`` when the month itself is not --, the feed-months
    it lacks). A month before a feed's first period (``since``) is not loaded: what the feed would have
    said there is unknown, so the path cannot judge a household over it (no verdict on missing data). The
    model binds ``$path_<p>_from`` (the run's first day) and judges only what falls inside the run."""
    out = {}
    for path, needs in rule.path_feeds.items():
        runs: list[str | None] = []
        lacks = []
        for need in needs:
            run = None
            for k in range(need.hi, need.lo - 1, -1):
                month = shift_period(period, k)
                if _before_since(need.feed_id, month):
                    lacks.append(f"{need.feed_id} {month} (path {path}: before the feed starts)")
                    break
                if _status(tokens, need.feed_id, month) != "loaded":
                    lacks.append(f"{need.feed_id} {month} (path {path})")
                    break
                run = month
            runs.append(run)
        out[path] = (None if None in runs else max(runs, default=period), lacks)
    return out


def applicable(rule: IndicatorRule, period: str) -> bool:
    """Indicators tied to months of the year (EXP_EDU: term starts) do not exist in other months."""
    months = rule.params.get("term_start_months")
    return months is None or int(period[5:7]) in {int(m) for m in months}


def _window_inputs(rule: IndicatorRule, period: str, tokens: dict) -> list[list]:
    feeds = sorted({n.feed_id for n in rule.feeds + rule.optional_feeds})
    lo = min([rule.window[0]] + [n.lo for n in rule.feeds + rule.optional_feeds])
    hi = max([rule.window[1]] + [n.hi for n in rule.feeds + rule.optional_feeds])
    out = []
    for feed in feeds:
        for k in range(lo, hi + 1):
            month = shift_period(period, k)
            status, delivery, loaded_at = tokens.get((feed, month), ("missing", None, None))
            out.append([feed, month, status, delivery, loaded_at])
    return out


def model_tokens(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """month -> [rows, model versions, digest of the scores] of core.eligibility_month (the model's
    gate of the income rules' path b): a month scored, re-scored or un-scored re-evaluates the rules
    that read it."""
    rows = con.execute(
        """select period, count(*), string_agg(distinct model_version, ',' order by model_version),
                  sum(hash(household_id, probability, cutoff)) % 1000000007
           from core.eligibility_month group by period""").fetchall()
    return {p: [n, versions, int(digest or 0)] for p, n, versions, digest in rows}


def _model_inputs(rule: IndicatorRule, period: str, models: dict[str, list]) -> list[list]:
    """The eligibility model's scores of the month, for an indicator gated by them (params.model_gate)."""
    if not rule.params.get("model_gate"):
        return []
    return [["core.eligibility_month", period, *models.get(period, [0, None, 0])]]


def _sql_hash(code: str) -> str:
    h = hashlib.sha256()
    for text in ((SQL_DIR / f"{code}.sql").read_text(encoding="utf-8"),
                 (SQL_DIR / "_macros.sql").read_text(encoding="utf-8"),
                 *(model_sql(m) for m in PERIOD_MODELS)):
        h.update(text.encode())
    return h.hexdigest()


def inputs_hash(rules: Rules, code: str, inputs: list) -> str:
    payload = json.dumps([rules_hash(rules, code), _sql_hash(code), inputs], default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


# --- parameters -------------------------------------------------------------------------------------

def indicator_params(rules: Rules, rule: IndicatorRule, period: str, calendar: dict[str, tuple],
                     composition: str | None = None, tokens: dict | None = None) -> dict:
    """Every value an indicator model may bind: data month, composition month, thresholds, severities,
    routing, and per path of ``path_feeds`` the first day the path can judge (``$path_<p>_from``, NULL:
    not this month)."""
    month_idx, month_start, month_end = calendar[period]
    composition = composition or shift_period(period, composition_offset(rule))
    params = {
        "period": period,
        "month_idx": month_idx,
        "prev_period": shift_period(period, -1),
        "period_start": month_start,
        "period_end": month_end,
        "composition_period": composition,
        "edge_multiplier": rules.edge_multiplier,
        "departments": list(rule.departments),
    }
    for outcome, severity in rule.severity.items():
        params[f"sev_{outcome}"] = severity
    for condition, departments in rule.routing.items():
        params[f"route_{condition}"] = list(departments)
    params.update(rules.bound_params(rule.code))
    for path, (start, _) in path_bounds(rule, period, tokens or {}).items():
        params[f"path_{path}_from"] = f"{start}-01" if start else None
    return params


def _bind(sql: str, params: dict, code: str) -> dict:
    # DuckDB rejects unused parameters: bind exactly those the SQL (without its comments) names.
    used = set(_PARAM_RE.findall(re.sub(r"--[^\n]*", "", sql)))
    missing = used - set(params)
    if missing:
        raise KeyError(f"{code}.sql uses ${', $'.join(sorted(missing))}, which models/indicators.toml does not define")
    return {k: params[k] for k in used}


def _common_evidence(rules: Rules, rule: IndicatorRule, period: str, tokens: dict,
                     composition: str | None = None) -> dict:
    thresholds = rules.bound_params(rule.code)
    if rule.code in ("ELIG_EDGE", "EXIT_REVIEW"):
        thresholds["edge_multiplier_default"] = rules.edge_multiplier
        thresholds["edge_multiplier_cities"] = rules.city_edge_multipliers()
    sources: dict[str, dict] = {}
    for need in rule.feeds + rule.optional_feeds:
        for k in range(min(need.lo, 0), max(need.hi, 0) + 1):
            month = shift_period(period, k)
            status, delivery, _ = tokens.get((need.feed_id, month), ("missing", None, None))
            if status == "loaded":
                sources.setdefault(need.feed_id, {})[month] = delivery
    out = {"indicator": rule.code, "indicator_name": rule.name, "period": period,
           "as_of": month_end(period).isoformat(), "thresholds": thresholds,
           "severity_rule": dict(rule.severity), "source_deliveries": sources,
           "rules_files": list(rules.sources)}
    if rule.arrival and composition is not None:
        # principle 9: which roster and hukou snapshots the household was read from, so a replay
        # of the same deliveries gives the same answer
        out["composition"] = {"period": composition,
                              "on_arrival": composition < shift_period(period, composition_offset(rule)),
                              "deliveries": {f: tokens.get((f, composition), ("missing", None, None))[1]
                                             for f in COMPOSITION_FEEDS}}
    return out


def default_raised_at(period: str) -> dt.datetime:
    """Without a run time: the first moment after the data month (still data time, not wall clock)."""
    return first_moment_after(period)


# --- evaluation -------------------------------------------------------------------------------------

def candidates(con: duckdb.DuckDBPyConnection, rules: Rules, code: str, period: str,
               calendar: dict[str, tuple] | None = None, composition: str | None = None,
               tokens: dict | None = None) -> duckdb.DuckDBPyRelation:
    """Run one indicator model for one month into temp table ``indicator_candidates`` (no writes to
    mart). ``composition``: the month whose household composition it reads (default: the month of
    its composition offset)."""
    if calendar is None:
        calendar = _calendar(con)
    rule = rules.indicators[code]
    if tokens is None and rule.path_feeds:
        tokens = feed_tokens(con)
    sql = (SQL_DIR / f"{code}.sql").read_text(encoding="utf-8")
    params = _bind(sql, indicator_params(rules, rule, period, calendar, composition, tokens), code)
    con.execute(f"create or replace temp table indicator_candidates as\n{sql}", params)
    cols = [r[0] for r in con.execute("describe indicator_candidates").fetchall()]
    missing = [c for c in CANDIDATE_COLUMNS if c not in cols]
    if missing:
        raise RuntimeError(f"{code}.sql does not return {', '.join(missing)}")
    for column in OPTIONAL_CANDIDATE_COLUMNS:
        if column not in cols:
            con.execute(f"alter table indicator_candidates add column {column} varchar")
    return con.table("indicator_candidates")


def _calendar(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    return {p: (i, s, e) for p, i, s, e in con.execute(
        "select period, month_idx, month_start, month_end from core.month_calendar").fetchall()}


def _write(con: duckdb.DuckDBPyConnection, code: str, period: str, common: dict,
           raised_at: dt.datetime, digest: str, inputs: list, partial: list[str],
           region_period: str | None = None, arrival: bool = False) -> tuple[int, int, int]:
    """Replace the month's unlinked warnings of one indicator by the new candidates. Warnings already
    linked to a case stay (a referral was made); unchanged warnings keep their first raised_at.

    ``office_region`` a model does not give is the household's region in ``region_period`` (the
    month whose composition it read). On arrival a person not yet in any household is warned on
    ``'P' || person_id``; once a case holds that warning, later evaluations of the month keep that
    key for the person (the household found at month end would open a second case)."""
    if arrival:
        con.execute(
            """update indicator_candidates c set household_id = w.household_id, family_id = w.family_id,
                      hukou_no = w.hukou_no
               from mart.warnings w
               where w.indicator_code = c.indicator_code and w.period = c.period and w.case_id is not null
                 and w.household_id = 'P' || c.person_id and c.household_id <> w.household_id""")
    con.execute(
        """
        create or replace temp table indicator_new as
        select 'W-' || left(sha256(c.indicator_code || '|' || c.household_id || '|' || c.period || '|' || c.severity), 16)
                   as warning_id,
               c.indicator_code, c.severity, c.period, c.family_id, c.hukou_no, c.person_id, c.county_code,
               cast(c.departments as varchar[]) as departments,
               json_merge_patch(cast($common as json), cast(c.evidence as json)) as evidence,
               c.explanation, cast(null as varchar) as case_id, cast($raised_at as timestamptz) as raised_at,
               c.household_id, coalesce(c.office_region, h.region_code) as office_region
        from indicator_candidates c
        left join core.household_month h on h.period = $region_period and h.household_id = c.household_id
        where c.household_id is not null and c.severity is not null
        qualify row_number() over (
            partition by c.household_id
            order by case c.severity when 'urgent' then 4 when 'high' then 3 when 'medium' then 2 else 1 end desc,
                     c.person_id) = 1
        """,
        {"common": json.dumps(common, ensure_ascii=False, default=str), "raised_at": raised_at,
         "region_period": region_period or period},
    )
    with transaction(con):
        before = dict(con.execute(
            "select warning_id, case_id from mart.warnings where indicator_code = ? and period = ?",
            [code, period]).fetchall())
        new_ids = {r[0] for r in con.execute("select warning_id from indicator_new").fetchall()}
        con.execute(
            """delete from mart.warnings where indicator_code = ? and period = ? and case_id is null
               and warning_id not in (select warning_id from indicator_new)""", [code, period])
        con.execute(
            """update mart.warnings w set evidence = n.evidence, explanation = n.explanation,
                      office_region = n.office_region
               from indicator_new n where w.warning_id = n.warning_id and w.case_id is null""")
        con.execute(
            """insert into mart.warnings by name
               select * from indicator_new n where not exists (
                   select 1 from mart.warnings w where w.warning_id = n.warning_id)""")
        con.execute("delete from mart.indicator_runs where indicator_code = ? and period = ?", [code, period])
        con.execute("insert into mart.indicator_runs values (?, ?, ?, ?, ?, ?, ?)",
                    [code, period, digest, raised_at, len(new_ids), json.dumps(inputs, default=str), partial])
    added = len(new_ids - set(before))
    retracted = len({w for w, case in before.items() if case is None} - new_ids)
    return len(new_ids), added, retracted


def compute_indicators(con: duckdb.DuckDBPyConnection, rules: Rules, periods: list[str] | None = None,
                       raised_at: dt.datetime | None = None, indicators: list[str] | None = None) -> IndicatorSummary:
    """Evaluate every enabled indicator for every evaluable data month whose inputs changed.

    ``core`` must be built first (:func:`pipelines.core.build_core`): gating reads ``core.feed_month``,
    the completeness snapshot the core facts were built from. ``raised_at`` is the run's logical time
    (default: the first moment after each data month).
    """
    migrate(con)
    _prepare_session(con, rules)
    tokens = feed_tokens(con)
    calendar = _calendar(con)
    months_known = sorted(calendar)
    months = months_known if periods is None else list(periods)
    unknown = [p for p in months if p not in calendar]
    if unknown:
        raise ValueError(f"unknown data month(s) {', '.join(unknown)} (known: {', '.join(sorted(calendar)) or 'none'})")
    done = {(c, p): h for c, p, h in con.execute(
        "select indicator_code, period, inputs_hash from mart.indicator_runs").fetchall()}
    first_month, horizon = data_span(tokens)
    models = model_tokens(con)
    summary = IndicatorSummary()
    for code in indicators or rules.codes:
        rule = rules.indicators[code]
        if not rule.enabled:
            continue
        for period in months:
            if not applicable(rule, period):
                continue
            if horizon is None or period < first_month:
                continue
            if period > horizon and not (rule.arrival and arrived(rule, period, tokens)):
                continue  # outside the months monthly feeds (or an arrival's event feed) have reached
            waits, partial = gate(rule, period, tokens, first_month)
            composition = composition_period(rule, period, tokens, months_known)
            if composition is None:
                target = shift_period(period, composition_offset(rule))
                waits.append(" / ".join(COMPOSITION_FEEDS) + (" (before first data month)" if target < first_month
                                                               else " (no month loaded yet)"))
            partial += [lack for _, lacks in path_bounds(rule, period, tokens).values() for lack in lacks]
            if waits:
                if any("before first data month" in w or "(not expected)" in w for w in waits):
                    summary.unevaluable += 1   # the window reaches before the data: never evaluable
                else:
                    summary.waiting.append(f"{code} {period} waits for {', '.join(waits)}")
                continue
            inputs = _window_inputs(rule, period, tokens) + _model_inputs(rule, period, models)
            if rule.arrival:
                inputs.append(["composition", composition,
                               *[list(tokens.get((f, composition), ("missing", None, None))) for f in COMPOSITION_FEEDS]])
            digest = inputs_hash(rules, code, inputs)
            if done.get((code, period)) == digest:
                summary.skipped += 1
                continue
            started, cpu = time.perf_counter(), time.process_time()  # process CPU: DuckDB's threads included
            candidates(con, rules, code, period, calendar, composition, tokens)
            common = _common_evidence(rules, rule, period, tokens, composition)
            n, added, retracted = _write(con, code, period, common, raised_at or default_raised_at(period),
                                         digest, inputs, partial, region_period=composition, arrival=rule.arrival)
            if partial:
                summary.partial.append(f"{code} {period} evaluated without {', '.join(partial)}; "
                                       f"re-evaluated when it arrives")
            summary.evaluated.append({"indicator": code, "period": period, "warnings": n, "partial": partial,
                                      "seconds": round(time.perf_counter() - started, 3),
                                      "cpu_s": round(time.process_time() - cpu, 3)})
            summary.new_warnings += added
            summary.retracted_warnings += retracted
    return summary
