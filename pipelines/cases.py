"""Cases: from warnings to one case per household and indicator, with a life cycle and a history.

A warning is a referral, never a decision (docs/indicators.md). The case is the unit a
department works on: it is opened by the first warning of a condition, fed by later warnings of
the same condition, dispatched to the offices of the departments the warnings name (principle 10:
MCA's town office except its county acts, every other department's county office, by the case's
region; models/departments.toml), and moved forward by their feedback. Each department of a case has
its own status (``department_status``); the case is final when every department has given a final
answer (:func:`overall_status`). Every step is one row of ``mart.case_events``; nothing here
changes a benefit.

Life cycle (ranks in :data:`STATUSES`)::

    open -> dispatched -> accepted -> verified     -> assisted | ineligible | closed
                                   -> not_verified  (final)

Choices (documented in docs/cases.md):

- Final statuses are ``not_verified``, ``assisted``, ``ineligible`` and ``closed``. A department
  that checked and found the warning untrue has finished with it; keeping such a case open would
  silence the indicator for that household for good.
- ``transferred`` (转办) is not a status: it is an event on a department's part of the case (handed to
  the office its note names, which receives it in the next extract); on a part still ``dispatched``
  it implies ``accepted`` (someone took it to hand it on).
- Persisting condition: a new warning for a household and indicator with an open case is linked to
  that case (``warnings.case_id`` set, an event recorded) and sends nothing. A higher severity
  raises the case's severity and, if it had been dispatched, starts a new dispatch round so every
  department of the case receives it again (re-alert).
- After closure: a warning no more severe than the closed case is the same condition — linked to
  the closed case, no new case — until the cool-down since the closing is over (``[cases]
  cooldown_months`` of models/indicators.toml, default 6), or, for an indicator marked
  ``dated_event``, a warning of a later data month (a new dated event). Then, or on a higher
  severity, the condition has returned: a new case (``previous_case_id`` points back).
- Escalation runs in :func:`escalate_overdue`, called by ``dispatch.write_extracts`` — i.e. after
  the night's feedback has been applied — so a case answered in the files of that night is not
  escalated. A case escalates once, to the county office of the escalation department, which may
  then answer it for the departments that did not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict, deque
from dataclasses import asdict, dataclass, field
from typing import Iterable

import duckdb
import pyarrow as pa

from pipelines.dates import TZ, add_months, local_date, night_time
from pipelines.rules import Rules, default_rules
from pipelines.warehouse import insert_arrow, migrate, registered, relation_exists, transaction

# Where a case goes when its warnings name no department: the coordinating civil-affairs office.
FALLBACK_DEPARTMENT = "MCA"


@dataclass(frozen=True)
class StatusInfo:
    rank: int
    label_zh: str
    stage: str
    is_final: bool


STATUSES: dict[str, StatusInfo] = {
    "open": StatusInfo(0, "待派发", "待派发 to_dispatch", False),
    "dispatched": StatusInfo(1, "已派发", "待反馈 awaiting_feedback", False),
    "accepted": StatusInfo(2, "已受理", "办理中 in_progress", False),
    "verified": StatusInfo(3, "核实属实", "办理中 in_progress", False),
    "not_verified": StatusInfo(3, "核实不属实", "已办结 final", True),
    "assisted": StatusInfo(4, "已救助", "已办结 final", True),
    "ineligible": StatusInfo(4, "不符合条件", "已办结 final", True),
    "closed": StatusInfo(4, "已办结", "已办结 final", True),
}
FINAL_STATUSES = frozenset(s for s, i in STATUSES.items() if i.is_final)
# The only forward moves. Feedback may skip steps; the skipped ones are recorded as implied.
FORWARD: dict[str, tuple[str, ...]] = {
    "open": ("dispatched",),
    "dispatched": ("accepted",),
    "accepted": ("verified", "not_verified"),
    "verified": ("assisted", "ineligible", "closed"),
    "not_verified": (),
    "assisted": (),
    "ineligible": (),
    "closed": (),
}

# What a department may answer in its feedback file (code -> the Chinese label it may write instead).
# ``transferred`` (转办) is an event, not a status.
FEEDBACK_STATUSES: dict[str, str] = {
    **{s: STATUSES[s].label_zh for s in ("accepted", "verified", "not_verified", "assisted", "ineligible")},
    "transferred": "转办",
}


def status_rows() -> tuple[list[str], list[tuple]]:
    """The rows of ``mart.case_statuses`` (pipelines.warehouse.migrate keeps them in step)."""
    return (["status", "rank", "label_zh", "stage", "is_final"],
            [(s, i.rank, i.label_zh, i.stage, i.is_final) for s, i in STATUSES.items()])


# --- small helpers ---------------------------------------------------------------------------

def forward_path(current: str, target: str) -> list[str] | None:
    """Statuses a case passes through from ``current`` to reach ``target`` (target last).

    ``[]`` when already there; ``None`` when ``target`` is not ahead of ``current`` (a move back,
    a sibling such as verified -> not_verified, or anything after a final status).
    """
    if current == target:
        return []
    seen = {current}
    queue: deque[tuple[str, list[str]]] = deque([(current, [])])
    while queue:
        status, path = queue.popleft()
        for nxt in FORWARD.get(status, ()):
            if nxt in seen:
                continue
            if nxt == target:
                return path + [nxt]
            seen.add(nxt)
            queue.append((nxt, path + [nxt]))
    return None


def case_id_for(county: str, household_id: str, indicator_code: str, period: str) -> str:
    digest = hashlib.sha256(f"{household_id}|{indicator_code}|{period}".encode()).hexdigest()[:10]
    return f"C-{county}-{digest}"


# --- reading and writing cases ---------------------------------------------------------------

CASE_SCHEMA = pa.schema([
    ("case_id", pa.string()), ("household_id", pa.string()), ("family_id", pa.string()),
    ("hukou_no", pa.string()), ("person_id", pa.string()), ("indicator_code", pa.string()),
    ("severity", pa.string()), ("county_code", pa.string()), ("departments", pa.list_(pa.string())),
    ("status", pa.string()), ("opened_period", pa.string()), ("last_period", pa.string()),
    ("opened_at", pa.timestamp("us", tz="UTC")), ("dispatched_at", pa.timestamp("us", tz="UTC")),
    ("due_at", pa.timestamp("us", tz="UTC")), ("deadline_days", pa.int32()),
    ("last_warning_id", pa.string()), ("explanation", pa.string()), ("dispatch_round", pa.int32()),
    ("awaiting_feedback", pa.bool_()), ("last_feedback_on", pa.date32()), ("escalated", pa.bool_()),
    ("escalated_at", pa.timestamp("us", tz="UTC")), ("closed_at", pa.timestamp("us", tz="UTC")),
    ("previous_case_id", pa.string()), ("updated_at", pa.timestamp("us", tz="UTC")),
    ("office_region", pa.string()),
    ("department_status", pa.list_(pa.struct([
        ("department", pa.string()), ("office_code", pa.string()), ("status", pa.string()),
        ("awaiting_feedback", pa.bool_()), ("last_feedback_on", pa.date32())]))),
])
CASE_COLUMNS = tuple(CASE_SCHEMA.names)
_TS_COLUMNS = frozenset(f.name for f in CASE_SCHEMA if pa.types.is_timestamp(f.type))


def _select_list(columns: Iterable[str], ts_columns: frozenset[str], alias: str = "") -> str:
    # Timestamps come back as Asia/Shanghai wall time: fetching timestamptz into Python would
    # need pytz, which is not a dependency.
    pre = f"{alias}." if alias else ""
    return ", ".join(
        f"timezone('Asia/Shanghai', {pre}\"{c}\") as \"{c}\"" if c in ts_columns else f"{pre}\"{c}\""
        for c in columns
    )


def _aware(value):
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=TZ)
    return value


def load_cases(con: duckdb.DuckDBPyConnection, where: str = "true", params: list | None = None) -> dict[str, dict]:
    """Cases matching ``where`` (SQL over mart.cases aliased ``c``) as dicts keyed by case_id;
    timestamps as aware Asia/Shanghai datetimes."""
    rows = con.execute(
        f"select {_select_list(CASE_COLUMNS, _TS_COLUMNS, 'c')} from mart.cases c where {where} order by c.case_id",
        params or [],
    ).fetchall()
    out = {}
    ts = [c for c in CASE_COLUMNS if c in _TS_COLUMNS]
    for row in rows:
        rec = dict(zip(CASE_COLUMNS, row))
        for c in ts:
            if rec[c] is not None:
                rec[c] = _aware(rec[c])
        rec["departments"] = list(rec["departments"] or [])
        if rec["department_status"] is None:
            # a case from before the per-department status: every department shares the case's state
            # and its county office
            rec["department_status"] = [
                {"department": d, "office_code": rec["county_code"], "status": rec["status"],
                 "awaiting_feedback": bool(rec["awaiting_feedback"]), "last_feedback_on": rec["last_feedback_on"]}
                for d in rec["departments"]]
        else:
            rec["department_status"] = [dict(s) for s in rec["department_status"]]
        out[rec["case_id"]] = rec
    return out


# --- per-department status (case life cycle v2) ----------------------------------------------

# Which final status the case as a whole shows once every department has given a final answer:
# the most helpful outcome any department reached.
_FINAL_ORDER = ("assisted", "ineligible", "not_verified", "closed")


def overall_status(states: list[dict]) -> str:
    """The status of the case as a whole from its departments' statuses: final only when every
    department is final (then assisted if any department assisted, else ineligible, else
    not_verified, else closed); before that the least advanced status of the departments that
    are not final yet (the case waits for them)."""
    statuses = [s["status"] for s in states]
    if not statuses:
        return "open"
    pending = [s for s in statuses if s not in FINAL_STATUSES]
    if not pending:
        return next(s for s in _FINAL_ORDER if s in statuses)
    return min(pending, key=lambda s: STATUSES[s].rank)


def department_state(case: dict, department: str) -> dict | None:
    """The entry of ``department`` in the case's ``department_status`` (None: not routed to it)."""
    return next((s for s in case["department_status"] if s["department"] == department), None)


def settle(case: dict, at: dt.datetime) -> bool:
    """Bring the case-level fields in line with its departments' states (status, awaiting_feedback,
    last_feedback_on, closed_at at ``at`` when it has just become final). True when the case became
    final now."""
    was_final = case["status"] in FINAL_STATUSES
    states = case["department_status"]
    case["status"] = overall_status(states)
    case["awaiting_feedback"] = any(s["awaiting_feedback"] and s["status"] not in FINAL_STATUSES for s in states)
    answered = [s["last_feedback_on"] for s in states if s["last_feedback_on"] is not None]
    case["last_feedback_on"] = max(answered) if answered else case.get("last_feedback_on")
    final = case["status"] in FINAL_STATUSES
    if final and case["closed_at"] is None:
        case["closed_at"] = at
    return final and not was_final


def add_department(case: dict, department: str, rules: Rules) -> bool:
    """Route the case to ``department`` too (its office from the case's region, principle 10);
    False when it already was."""
    if department_state(case, department) is not None:
        return False
    case["department_status"].append({
        "department": department,
        "office_code": rules.office_of(department, case["office_region"] or case["county_code"],
                                       case["indicator_code"]),
        "status": "open", "awaiting_feedback": False, "last_feedback_on": None})
    if department not in case["departments"]:
        case["departments"].append(department)
    return True


def save_cases(con: duckdb.DuckDBPyConnection, cases: Iterable[dict]) -> int:
    """Replace these cases' rows (delete + insert; call inside a transaction)."""
    cases = list(cases)
    if not cases:
        return 0
    table = pa.Table.from_pylist([{c: rec.get(c) for c in CASE_COLUMNS} for rec in cases], schema=CASE_SCHEMA)
    with registered(con, "_cases_save", table):
        con.execute("delete from mart.cases where case_id in (select case_id from _cases_save)")
        con.execute("insert into mart.cases by name select * from _cases_save")
    return len(cases)


EVENT_SCHEMA = pa.schema([
    ("case_id", pa.string()), ("seq", pa.int32()), ("at", pa.timestamp("us", tz="UTC")),
    ("actor", pa.string()), ("from_status", pa.string()), ("to_status", pa.string()),
    ("action", pa.string()), ("detail", pa.string()), ("source", pa.string()),
])


class EventLog:
    """Collects case events with per-case sequence numbers; :meth:`write` appends them.

    A case's next number is known once :meth:`prime` has read it (one query for many cases) or
    after a write. Events of other cases (e.g. cases opened in this run) are numbered at
    :meth:`write`, from one query for all of them -- a query per event's case scanned
    ``mart.case_events`` each time, seconds per thousand new cases at province scale.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con
        self._next: dict[str, int] = {}
        self._unnumbered: dict[str, list[dict]] = {}
        self.rows: list[dict] = []

    def prime(self, case_ids: Iterable[str]) -> None:
        """Load the next sequence numbers of many cases in one query."""
        ids = [c for c in set(case_ids) if c not in self._next]
        if not ids:
            return
        found = dict(self._con.execute(
            "select case_id, max(seq) from mart.case_events where case_id in (select unnest(?::varchar[])) group by case_id",
            [ids]).fetchall())
        for c in ids:
            self._next[c] = int(found.get(c, 0) or 0) + 1

    def add(self, case_id: str, at: dt.datetime, actor: str, from_status: str | None, to_status: str,
            action: str, detail: dict | None, source: str) -> dict:
        row = {"case_id": case_id, "seq": None, "at": at, "actor": actor,
               "from_status": from_status, "to_status": to_status, "action": action,
               "detail": json.dumps(detail or {}, ensure_ascii=False, default=str, sort_keys=True),
               "source": source}
        if case_id in self._next:
            row["seq"] = self._next[case_id]
            self._next[case_id] += 1
        else:
            self._unnumbered.setdefault(case_id, []).append(row)
        self.rows.append(row)
        return row

    def _number(self) -> None:
        if not self._unnumbered:
            return
        self.prime(self._unnumbered)
        for case_id, rows in self._unnumbered.items():
            for row in rows:
                row["seq"] = self._next[case_id]
                self._next[case_id] += 1
        self._unnumbered = {}

    def write(self) -> int:
        if not self.rows:
            return 0
        self._number()
        insert_arrow(self._con, "mart.case_events", pa.Table.from_pylist(self.rows, schema=EVENT_SCHEMA))
        n = len(self.rows)
        self.rows = []
        return n


def append_audit(con: duckdb.DuckDBPyConnection, actor: str, action: str, target: str,
                 rows: int | None = None, sha256: str | None = None, detail: dict | None = None) -> None:
    """Append one row to ops.audit_log. The audit log is append-only: nothing in the code base
    updates or deletes its rows (checked by a test)."""
    con.execute(
        'insert into ops.audit_log ("at", actor, action, target, rows, sha256, detail) values (now(), ?, ?, ?, ?, ?, ?)',
        [actor, action, str(target), rows, sha256,
         json.dumps(detail or {}, ensure_ascii=False, default=str, sort_keys=True)],
    )


# --- update_cases ----------------------------------------------------------------------------

@dataclass
class CaseSummary:
    as_of: dt.date
    warnings_read: int = 0
    links_restored: int = 0
    opened: int = 0
    returned: int = 0          # of ``opened``: a condition back after its case was closed
    linked: int = 0            # persisting condition, linked to the open case, no re-alert
    raised: int = 0            # higher severity on an open case: re-alert
    linked_after_close: int = 0
    skipped: int = 0           # warnings with an unknown severity (reported, not cased)
    open_cases: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat()
        return d


def _merge_departments(current: list[str], new: Iterable[str] | None) -> list[str]:
    out = list(current)
    for d in new or ():
        if d and d not in out:
            out.append(d)
    return out


def _unlinked_warnings(con: duckdb.DuckDBPyConnection, rules: Rules) -> list[dict]:
    rows = con.execute("""
        select w.warning_id, w.indicator_code, lower(w.severity), w.period, w.family_id, w.hukou_no,
               w.person_id, w.county_code, w.departments, w.explanation,
               coalesce(w.household_id, w.family_id, 'H' || w.hukou_no) as household_id, w.office_region
        from mart.warnings w
        where w.case_id is null
          and not exists (select 1 from mart.case_warnings cw where cw.warning_id = w.warning_id)
    """).fetchall()
    keys = ("warning_id", "indicator_code", "severity", "period", "family_id", "hukou_no", "person_id",
            "county_code", "departments", "explanation", "household_id", "office_region")
    out = [dict(zip(keys, r)) for r in rows]
    # Oldest data month first, and within a month the milder warning first, so a worse one
    # arriving in the same batch is seen as a rise, not as a second case.
    out.sort(key=lambda w: (w["period"] or "", rules.severity_rank(w["severity"]), w["warning_id"]))
    return out


def _cooldown_end(closed: dict, rules: Rules) -> dt.date:
    """The first night on which the unchanged condition of a closed case re-alerts."""
    closed_on = local_date(closed["closed_at"] or closed["updated_at"] or closed["opened_at"])
    return add_months(closed_on, rules.cooldown_months)


def _realerts_after_close(closed: dict, w: dict, as_of: dt.date, rules: Rules) -> bool:
    """A warning no more severe than the closed case re-alerts (a new case) only on a new dated event
    (an indicator with ``dated_event``: a later data month than the case's last warning) or once the
    cool-down since the closing is over (principle 3); otherwise it is the same condition."""
    rule = rules.indicators.get(w["indicator_code"])
    if rule is not None and rule.dated_event and w["period"] > closed["last_period"]:
        return True
    return as_of >= _cooldown_end(closed, rules)


def update_cases(con: duckdb.DuckDBPyConnection, as_of: dt.date, rules: Rules | None = None,
                 actor: str = "system") -> CaseSummary:
    """Turn the night's unlinked warnings (``mart.warnings.case_id is null``) into cases.

    One open case per household and indicator; see the module docstring for persisting,
    worsening and returning conditions. Every warning ends linked to a case (``warnings.case_id``
    and ``mart.case_warnings``), except warnings with an unknown severity, which are reported.
    ``rules`` gives severities and deadlines (default: models/ without overrides).
    """
    migrate(con)
    rules = rules or default_rules()
    summary = CaseSummary(as_of=as_of)
    deadlines = rules.deadlines
    severity_rank = rules.severity_rank
    now = night_time(as_of)

    with transaction(con):
        before = con.execute("select count(*) from mart.warnings where case_id is null").fetchone()[0]
        con.execute("""
            update mart.warnings set case_id = cw.case_id
            from mart.case_warnings cw
            where mart.warnings.warning_id = cw.warning_id and mart.warnings.case_id is null
        """)
        after = con.execute("select count(*) from mart.warnings where case_id is null").fetchone()[0]
        summary.links_restored = int(before - after)

        warnings = _unlinked_warnings(con, rules)
        summary.warnings_read = len(warnings)
        households = sorted({w["household_id"] for w in warnings if w["household_id"]})
        cases = load_cases(con, "c.household_id in (select unnest(?::varchar[]))", [households]) if households else {}
        by_key: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for c in sorted(cases.values(), key=lambda c: (c["opened_at"], c["case_id"])):
            by_key[(c["household_id"], c["indicator_code"])].append(c)
        events = EventLog(con)
        events.prime(cases)
        changed: dict[str, dict] = {}
        links: list[dict] = []

        for w in warnings:
            sev = w["severity"]
            if sev not in deadlines or not w["household_id"] or not w["period"]:
                summary.skipped += 1
                summary.notes.append(f"warning {w['warning_id']}: unknown severity {sev!r} or no household/period; not cased")
                continue
            chain = by_key[(w["household_id"], w["indicator_code"])]
            current = next((c for c in reversed(chain) if c["status"] not in FINAL_STATUSES), None)
            last_closed = chain[-1] if chain and current is None else None
            wdetail = {"warning_id": w["warning_id"], "period": w["period"], "severity": sev}

            if current is not None:
                case = current
                if severity_rank(sev) > severity_rank(case["severity"]):
                    redispatch = case["dispatched_at"] is not None
                    events.add(case["case_id"], now, actor, case["status"], case["status"], "severity_raised",
                               {**wdetail, "from_severity": case["severity"], "to_severity": sev,
                                "redispatch": redispatch}, "warning")
                    case["severity"] = sev
                    case["deadline_days"] = deadlines[sev]
                    if redispatch:
                        case["dispatch_round"] += 1
                    link = "raised"
                    summary.raised += 1
                else:
                    events.add(case["case_id"], now, actor, case["status"], case["status"], "warning_linked",
                               wdetail, "warning")
                    link = "linked"
                    summary.linked += 1
                for d in _merge_departments([], w["departments"]):
                    before = case["status"]
                    if add_department(case, d, rules):
                        settle(case, now)
                        events.add(case["case_id"], now, actor, before, case["status"], "department_added",
                                   {**wdetail, "department": d,
                                    "office_code": department_state(case, d)["office_code"]}, "warning")
                if link == "raised" or w["period"] >= case["last_period"]:
                    case.update(last_warning_id=w["warning_id"], explanation=w["explanation"] or case["explanation"],
                                person_id=w["person_id"] or case["person_id"])
                case["last_period"] = max(case["last_period"], w["period"])
                case["updated_at"] = now
            elif (last_closed is not None and severity_rank(sev) <= severity_rank(last_closed["severity"])
                  and not _realerts_after_close(last_closed, w, as_of, rules)):
                case = last_closed
                events.add(case["case_id"], now, actor, case["status"], case["status"], "warning_after_close",
                           {**wdetail, "note": "办结后情况未变，冷却期内不重复预警 unchanged condition after closure, "
                                               "within the cool-down: no new case",
                            "cooldown_until": _cooldown_end(last_closed, rules).isoformat()},
                           "warning")
                case["last_period"] = max(case["last_period"], w["period"])
                case["updated_at"] = now
                link = "after_close"
                summary.linked_after_close += 1
            else:
                county = (w["county_code"] or "000000")[:6]
                base = case_id_for(county, w["household_id"], w["indicator_code"], w["period"])
                cid, n = base, 1
                while cid in cases:
                    n += 1
                    cid = f"{base}-{n}"
                departments = _merge_departments([], w["departments"]) or [FALLBACK_DEPARTMENT]
                region = w["office_region"] or county
                case = {
                    "case_id": cid, "household_id": w["household_id"], "family_id": w["family_id"],
                    "hukou_no": w["hukou_no"], "person_id": w["person_id"], "indicator_code": w["indicator_code"],
                    "severity": sev, "county_code": county, "departments": departments, "status": "open",
                    "opened_period": w["period"], "last_period": w["period"], "opened_at": now,
                    "dispatched_at": None, "due_at": None, "deadline_days": deadlines[sev],
                    "last_warning_id": w["warning_id"], "explanation": w["explanation"], "dispatch_round": 1,
                    "awaiting_feedback": False, "last_feedback_on": None, "escalated": False,
                    "escalated_at": None, "closed_at": None,
                    "previous_case_id": last_closed["case_id"] if last_closed else None, "updated_at": now,
                    "office_region": region, "department_status": [],
                }
                case["departments"] = []
                for d in departments:
                    add_department(case, d, rules)
                cases[cid] = case
                chain.append(case)
                events.add(cid, now, actor, None, "open", "opened",
                           {**wdetail, "departments": departments,
                            "offices": {st["department"]: st["office_code"] for st in case["department_status"]},
                            "reason": "returned_after_close" if last_closed else "new",
                            "previous_case_id": case["previous_case_id"]}, "warning")
                link = "opened"
                summary.opened += 1
                summary.returned += last_closed is not None
                if not w["departments"]:
                    summary.notes.append(f"warning {w['warning_id']} names no department: routed to {FALLBACK_DEPARTMENT}")
            changed[case["case_id"]] = case
            links.append({"warning_id": w["warning_id"], "case_id": case["case_id"], "link": link, "linked_at": now})

        save_cases(con, changed.values())
        events.write()
        if links:
            table = pa.Table.from_pylist(links, schema=pa.schema([
                ("warning_id", pa.string()), ("case_id", pa.string()), ("link", pa.string()),
                ("linked_at", pa.timestamp("us", tz="UTC"))]))
            with registered(con, "_case_links", table):
                con.execute("insert into mart.case_warnings by name select * from _case_links")
                con.execute("""
                    update mart.warnings set case_id = l.case_id
                    from _case_links l where mart.warnings.warning_id = l.warning_id
                """)
        summary.open_cases = con.execute(
            "select count(*) from mart.cases where not list_contains(?, status)", [sorted(FINAL_STATUSES)]
        ).fetchone()[0]
        if links or summary.links_restored:
            # Only a run that changed something is audited: re-running a night (or resuming one
            # killed half-way) adds no row, so the audit log equals an uninterrupted run's.
            append_audit(con, actor, "cases_updated", "mart.cases", rows=len(links),
                         detail={k: v for k, v in summary.as_dict().items() if k != "notes"})
    return summary


# --- escalation and manual close -------------------------------------------------------------

def escalate_overdue(con: duckdb.DuckDBPyConnection, as_of: dt.date, actor: str = "system",
                     rules: Rules | None = None) -> list[str]:
    """Flag cases past their feedback deadline with no feedback since their last dispatch.

    Overdue means: not final, still awaiting feedback, and ``as_of`` later than the due date
    (feedback on the due date itself is on time). Each case escalates once; the county MCA office
    receives it in the next extract (``dispatch.write_extracts``) marked 逾期升级.
    """
    migrate(con)
    rules = rules or default_rules()
    escalation = rules.escalation_department
    now = night_time(as_of)
    with transaction(con):
        # only what the event needs: on a night with tens of thousands of unanswered cases,
        # loading and rewriting whole case rows cost seconds
        overdue = con.execute(
            "select case_id, status, timezone('Asia/Shanghai', due_at)::date, departments, "
            "coalesce(office_region, county_code) "
            "from mart.cases where not escalated and awaiting_feedback and due_at is not null and due_at < ? "
            "and not list_contains(?, status) order by case_id",
            [now, sorted(FINAL_STATUSES)]).fetchall()
        if not overdue:
            return []
        ids = [r[0] for r in overdue]
        events = EventLog(con)
        events.prime(ids)
        for case_id, status, due_on, departments, region in overdue:
            events.add(case_id, now, actor, status, status, "escalated",
                       {"due_at": due_on.isoformat(), "departments": list(departments or []),
                        "escalate_to": f"{escalation}/{rules.escalation_office(region)}", "label": "逾期升级"},
                       "escalation")
        con.execute("update mart.cases set escalated = true, escalated_at = ?, updated_at = ? "
                    "where case_id in (select unnest(?::varchar[]))", [now, now, ids])
        events.write()
        append_audit(con, actor, "cases_escalated", "mart.cases", rows=len(ids),
                     detail={"as_of": as_of.isoformat(), "case_ids": ids})
    return ids


def close_case(con: duckdb.DuckDBPyConnection, case_id: str, as_of: dt.date, actor: str, reason: str) -> None:
    """Close a case by hand (e.g. a duplicate, or handled outside the system). Recorded as an event
    with the analyst as actor; a final case cannot be closed again."""
    migrate(con)
    if not actor or not reason:
        raise ValueError("closing a case needs an actor and a reason")
    now = night_time(as_of)
    with transaction(con):
        found = load_cases(con, "c.case_id = ?", [case_id])
        if not found:
            raise KeyError(f"unknown case {case_id}")
        case = found[case_id]
        if case["status"] in FINAL_STATUSES:
            raise ValueError(f"case {case_id} is already final ({case['status']})")
        events = EventLog(con)
        events.add(case_id, now, actor, case["status"], "closed", "closed", {"reason": reason}, "analyst")
        for state in case["department_status"]:  # the analyst's close ends every department's part
            if state["status"] not in FINAL_STATUSES:
                state.update(status="closed", awaiting_feedback=False)
        case.update(status="closed", closed_at=now, awaiting_feedback=False, updated_at=now)
        save_cases(con, [case])
        events.write()
        append_audit(con, actor, "case_closed", case_id, rows=1, detail={"reason": reason})
