"""Department extracts: each office gets the cases it must act on, and nothing else.

``write_extracts`` writes, for every department office with cases not yet sent (new cases,
re-alerted cases, cases transferred to it (转办), and overdue cases escalated to the county MCA
office),

    outbox/<DEPT>/<office>/<as_of YYYY-MM-DD>/

The office (principle 10, docs/cases.md) is a case's department entry in ``mart.cases.department_status``:
the 9-digit town office for a town-level department (MCA, except its county acts), the 6-digit
county office otherwise, from the case's region (``office_region``); escalations go to the county
office of the escalation department. In an extract a household's cases are adjacent rows, households
in order.

        cases.xlsx               sheet 「案件 cases」, sheet 「指标说明 indicators」, sheet 「填报说明 how to answer」
        cases.csv                UTF-8 with BOM (Excel opens it without mojibake)
        feedback_template.csv    UTF-8 with BOM: case_id,status,action,amount_yuan,handled_on,handler,note
        feedback_template.xlsx   the same, with a drop-down of allowed statuses
        manifest.json            files (rows, sha256, bytes), department, county, as_of, case count

Caseworkers print the workbooks: every sheet prints A4 landscape, one page wide, the header row on
every page, the office and night in the page header (:func:`pipelines.workbook.print_layout`), its columns as wide
as the text they show (:func:`pipelines.workbook.sheet`).

Each folder is built under a temporary name and renamed into place (``atomic_dir``); once every
folder of the night is in place, one transaction marks their cases dispatched (status,
dispatched_at, due_at, event) and records each extract in ``ops.audit_log``. A crash before that
commit leaves folders nothing records: the rerun finds the same cases pending and writes the same
folders again, byte for byte (sent at least once, never differently). What was sent is kept per
case in ``mart.case_dispatches``, so a re-run of the night sends nothing new, and a re-run that
does find new cases rebuilds that night's folder with the earlier rows plus the new ones (nothing
already sent disappears).

Data minimisation: an office receives only its own cases, only the fields in
:data:`COMMON_FIELDS` plus what models/departments.toml grants it, and never a warning's evidence
JSON (other departments' source records) — only the warning's explanation.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines import assistance
from pipelines.atomic import atomic_dir, sha256_file
from pipelines.cases import (
    FEEDBACK_STATUSES, FINAL_STATUSES, STATUSES, EventLog, append_audit, department_state, escalate_overdue,
    load_cases, save_cases, settle,
)
from pipelines.dates import night_time
from pipelines.learning.priority import priorities
from pipelines.rules import Rules, default_rules
from pipelines.spreadsheet import csv_bytes, safe_text
from pipelines.warehouse import insert_arrow, migrate, relation_exists, transaction
from pipelines.workbook import Page, fixed_properties, save_workbook, sheet

# Fields every office receives: enough to find the household and act on the case.
COMMON_FIELDS: tuple[str, ...] = (
    "case_id", "priority", "dispatch_kind", "indicator_code", "indicator_name", "severity", "period", "opened_period",
    "county_code", "town_code", "town_name", "family_id", "hukou_no", "explanation", "due_date", "escalated",
    "status",
)

# Column order and bilingual headers of cases.xlsx / cases.csv.
HEADERS: dict[str, str] = {
    "case_id": "案件编号 case_id",
    "priority": "优先级 priority",
    "dispatch_kind": "派发类型 dispatch_kind",
    "indicator_code": "指标代码 indicator_code",
    "indicator_name": "指标名称 indicator_name",
    "severity": "严重程度 severity",
    "period": "数据月份 period",
    "opened_period": "首次预警月份 opened_period",
    "county_code": "区县 county_code",
    "town_code": "乡镇街道代码 town_code",
    "town_name": "乡镇街道 town_name",
    "family_id": "低保家庭编号 family_id",
    "hukou_no": "户口簿号 hukou_no",
    "person_name": "关键人员姓名 person_name",
    "id_number": "身份证号 id_number",
    "explanation": "预警说明 explanation",
    "assistance": "近12个月救助 assistance",
    "due_date": "反馈期限 due_date",
    "escalated": "逾期升级 escalated",
    "status": "当前状态 status",
    "departments": "原承办部门 departments",
}

KIND_LABELS = {"new": "新案件 new", "realert": "升级 realert", "transfer": "转办 transferred",
               "escalation": "逾期升级 escalated"}
KIND_ORDER = ("new", "realert", "transfer", "escalation")

FEEDBACK_COLUMNS = ("case_id", "status", "action", "amount_yuan", "handled_on", "handler", "note")
FEEDBACK_HEADERS_ZH = {
    "case_id": "案件编号 case_id", "status": "状态 status", "action": "办理措施 action",
    "amount_yuan": "救助金额(元) amount_yuan", "handled_on": "办理日期 handled_on (YYYY-MM-DD)",
    "handler": "经办人 handler", "note": "备注 note",
}
PRINCIPLE_ZH = ("预警是转介，不是决定：本表中的任何内容都不改变、停发或给予待遇，须经核实后依规办理。"
                " A warning is a referral, never a decision: nothing here changes, stops or grants a benefit.")



# --- helpers --------------------------------------------------------------------------------------

def mask_id(pid: str | None) -> str | None:
    if not pid:
        return pid
    return pid[:6] + "*" * max(len(pid) - 10, 0) + pid[-4:] if len(pid) > 10 else "*" * len(pid)


def fields_for(department: str, rules: Rules | None = None) -> list[str]:
    """The columns an office of ``department`` receives, in extract order (models/departments.toml:
    every office can identify the household; the full 身份证号 only where the department acts on the
    person's own record, the routed departments only where it coordinates)."""
    policy = (rules or default_rules()).department(department)
    allowed = set(COMMON_FIELDS) | {"id_number"}
    if policy.person_name:
        allowed.add("person_name")
    if policy.sees_departments:
        allowed.add("departments")
    if policy.assistance != "none":
        allowed.add("assistance")
    return [c for c in HEADERS if c in allowed]


def _person_names(con: duckdb.DuckDBPyConnection, person_ids: list[str]) -> dict[str, str]:
    """Latest known name per person: core.person_month, else the roster."""
    if not person_ids:
        return {}
    for schema, table, order in (("core", "person_month", "period"), ("staging", "mca_roster", "snapshot_month")):
        if relation_exists(con, f"{schema}.{table}"):
            rows = con.execute(
                f"select person_id, arg_max(name, {order}) from {schema}.{table} "
                f"where person_id in (select unnest(?::varchar[])) and name is not null group by person_id",
                [person_ids]).fetchall()
            if rows:
                return dict(rows)
    return {}


def town_of(case: dict) -> str | None:
    """The 9-digit town of a case's region (None when only the county is known)."""
    region = case.get("office_region") or ""
    return region[:9] if len(region) >= 9 else None


def region_names(con: duckdb.DuckDBPyConnection, towns: list[str]) -> dict[str, str]:
    """Names of 9-digit town codes from the region list in force (staging.ref_regions_current)."""
    if not towns or not relation_exists(con, "staging.ref_regions_current"):
        return {}
    return dict(con.execute(
        "select left(region_code, 9), arg_max(name, valid_from) from staging.ref_regions_current "
        "where level = 'town' and left(region_code, 9) in (select unnest(?::varchar[])) group by 1",
        [towns]).fetchall())


def _record(case: dict, department: str, kind: str, due_date: dt.date | None, names: dict[str, str],
            rules: Rules, received: dict[str, dict] | None = None, towns: dict[str, str] | None = None) -> dict:
    """The row an office of ``department`` receives for ``case`` (English keys; only its fields)."""
    policy = rules.department(department)
    pid = case["person_id"]
    town = town_of(case)
    state = department_state(case, department)
    status = state["status"] if state is not None else case["status"]
    full = {
        "case_id": case["case_id"],
        "priority": case.get("priority"),  # 高/中/低, set by write_extracts (pipelines.learning.priority)
        "dispatch_kind": kind,
        "indicator_code": case["indicator_code"],
        "indicator_name": rules.indicator_label(case["indicator_code"]),
        "severity": case["severity"],
        "period": case["last_period"],
        "opened_period": case["opened_period"],
        "county_code": case["county_code"],
        "town_code": town,
        "town_name": (towns or {}).get(town) if town else None,
        "family_id": case["family_id"],
        "hukou_no": case["hukou_no"],
        "person_name": names.get(pid),
        "id_number": pid if policy.id_number == "full" else mask_id(pid),
        "explanation": case["explanation"],
        # the household's last 12 months of assistance that this department may see (assistance.py)
        "assistance": assistance.cell_text((received or {}).get(case["case_id"], {}),
                                           rules.assistance_shown(department), rules),
        "due_date": due_date.isoformat() if due_date else None,
        "escalated": bool(case["escalated"]),
        # This department's status, as it stands once this extract is sent (open becomes dispatched).
        "status": "dispatched" if status == "open" else status,
        "departments": list(case["departments"]),
    }
    return {k: full[k] for k in fields_for(department, rules)}


def _display(key: str, value, rules: Rules) -> object:
    """Staff-facing rendering of one field (Chinese labels with English codes)."""
    if value is None:
        return ""
    if key == "dispatch_kind":
        return " + ".join(KIND_LABELS.get(k, k) for k in value.split("+"))
    if key == "severity":
        return f"{value} {rules.severities.get(value, '')}".strip()
    if key == "escalated":
        return "是 逾期升级 yes" if value else "否 no"
    if key == "status":
        info = STATUSES.get(value)
        return f"{value} {info.label_zh}" if info else value
    if key == "departments":
        return "、".join(value)
    return value


def _merge_rows(records: list[dict], sort_keys: dict | None = None) -> list[dict]:
    """One row per case: a case both re-alerted and escalated in the same extract shows both kinds.
    Rows sorted by ``sort_keys`` (case_id -> priority, then probability or severity), else by case id,
    a household's cases kept together (adjacent rows, at the place of its most urgent case: principle 3)."""
    by_case: dict[str, dict] = {}
    kinds: dict[str, list[str]] = defaultdict(list)
    for rec in records:
        cid = rec["case_id"]
        for k in rec["dispatch_kind"].split("+"):
            if k not in kinds[cid]:
                kinds[cid].append(k)
        base = by_case.get(cid)
        if base is None or rec["dispatch_kind"] != "escalation":
            merged = dict(rec)
            if base is not None:
                merged["escalated"] = bool(base.get("escalated")) or bool(rec.get("escalated"))
            by_case[cid] = merged
        else:
            base["escalated"] = True
    key = {c: (sort_keys or {}).get(c, (9, 0.0, c)) for c in by_case}
    household = {c: r.get("family_id") or f"H{r.get('hukou_no')}" for c, r in by_case.items()}
    first: dict[str, tuple] = {}
    for c in by_case:
        first[household[c]] = min(first.get(household[c], key[c]), key[c])
    out = []
    for cid in sorted(by_case, key=lambda c: (first[household[c]], household[c], key[c])):
        row = by_case[cid]
        row["dispatch_kind"] = "+".join(sorted(kinds[cid], key=KIND_ORDER.index))
        out.append(row)
    return out


# --- file writers ---------------------------------------------------------------------------------

def _indicator_rows(codes: list[str], rules: Rules, city: str) -> list[list]:
    """The 指标说明 sheet: each indicator's rule with the thresholds in force in the office's city."""
    rows = []
    for code in codes:
        if code not in rules.indicators:
            rows.append([code, code, "", "", "", ""])
            continue
        due = "；".join(f"{rules.severity_label(s)}：派发后 {rules.deadlines[s]} 天 days"
                       for s in rules.indicator(code).severities)
        rows.append([code, rules.indicator_label(code), rules.rule_text(code, city), rules.severity_text(code), due,
                     rules.routing_text(code)])
    return rows


# Widest a column of the cases sheet may grow before its text wraps (default MAX_WIDTH, which the
# explanation reaches): bilingual labels wrap onto a Chinese and an English line rather than
# widening a sheet that must print one page wide.
CASE_MAX_WIDTHS = {"dispatch_kind": 20, "indicator_name": 26, "status": 22, "departments": 24, "assistance": 36}


def _write_cases_xlsx(path: Path, columns: list[str], rows: list[dict], rules: Rules, city: str,
                      as_of: dt.date, page: Page, order_note: str = "") -> None:
    from openpyxl import Workbook

    wb = Workbook()
    fixed_properties(wb, as_of)
    ws = wb.active
    ws.title = "案件 cases"
    # B2: the case id stays in view while a caseworker scrolls across the 15-17 columns of a row
    most = {j: CASE_MAX_WIDTHS[c] for j, c in enumerate(columns, start=1) if c in CASE_MAX_WIDTHS}
    sheets = [sheet(ws, [HEADERS[c] for c in columns], [[_display(c, r.get(c), rules) for c in columns] for r in rows],
                     page, freeze="B2", max_widths=most)]
    ws2 = wb.create_sheet("指标说明 indicators")
    codes = sorted({r["indicator_code"] for r in rows})
    sheets.append(sheet(ws2, ["指标代码 code", "指标名称 name", "预警规则 rule", "严重程度含义 severity meaning",
                               "反馈期限 feedback deadline", "承办部门 routed to"], _indicator_rows(codes, rules, city),
                         page, max_widths={2: 26, 4: 50, 5: 36, 6: 40}))
    ws3 = wb.create_sheet("填报说明 how to answer")
    guide = [
        [PRINCIPLE_ZH],
        ["请在 feedback_template.csv / feedback_template.xlsx 中逐案填写办理情况，状态只能向前，不能回退。"
         " Fill one line per case in the feedback template; a status only moves forward."],
        ["逾期未反馈的案件将升级至区县民政部门。 Cases without feedback by the due date are escalated to the county MCA office."],
    ] + ([[order_note]] if order_note else []) + [[f"{code} {zh}"] for code, zh in FEEDBACK_STATUSES.items()]
    sheets.append(sheet(ws3, ["填报说明 how to answer"], guide, page, gridlines=False, max_widths={1: 110}))
    save_workbook(wb, path, as_of, sheets)


def _write_template_xlsx(path: Path, case_ids: list[str], as_of: dt.date, page: Page) -> None:
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    fixed_properties(wb, as_of)
    ws = wb.active
    ws.title = "反馈 feedback"
    # column E (handled_on) is date-formatted on every answer row, the first one even when there is no case;
    # the answer columns are empty when sent: wide enough to choose, type or write an answer by hand
    sheets = [sheet(ws, [FEEDBACK_HEADERS_ZH[c] for c in FEEDBACK_COLUMNS],
                     [[cid, None, None, None, None, None, None] for cid in case_ids] or [[None] * 7],
                     page, freeze="B2", min_widths={2: 16, 3: 30, 4: 14, 5: 14, 6: 14, 7: 40},
                     column_styles={5: {"number_format": "yyyy-mm-dd"}})]
    last = max(len(case_ids) + 1, 2)
    status_dv = DataValidation(type="list", formula1='"' + ",".join(FEEDBACK_STATUSES) + '"', allow_blank=True,
                               showErrorMessage=True, errorTitle="状态 status",
                               error="请从下拉列表选择 choose a status from the list")
    status_dv.add(f"B2:B{last}")
    amount_dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                               showErrorMessage=True, error="金额须为不小于0的数字 amount must be a number ≥ 0")
    amount_dv.add(f"D2:D{last}")
    date_dv = DataValidation(type="date", operator="greaterThan", formula1="DATE(2000,1,1)", allow_blank=True,
                             showErrorMessage=True, error="请填写日期 a date, YYYY-MM-DD")
    date_dv.add(f"E2:E{last}")
    for dv in (status_dv, amount_dv, date_dv):
        ws.add_data_validation(dv)
    ws2 = wb.create_sheet("状态说明 statuses")
    sheets.append(sheet(ws2, ["状态代码 status", "含义 meaning"], [[k, v] for k, v in FEEDBACK_STATUSES.items()],
                         page))
    save_workbook(wb, path, as_of, sheets)


def _write_folder(folder: Path, department: str, office: str, as_of: dt.date, rows: list[dict],
                  rules: Rules, order_note: str = "") -> dict:
    """Write the five files of one office's extract into ``folder``; return the manifest."""
    columns = fields_for(department, rules)
    case_ids = [r["case_id"] for r in rows]
    page = Page.of(rules.department_label(department), office, as_of)
    _write_cases_xlsx(folder / "cases.xlsx", columns, rows, rules, office[:4], as_of, page, order_note)
    (folder / "cases.csv").write_bytes(
        csv_bytes([HEADERS[c] for c in columns], [[_display(c, r.get(c), rules) for c in columns] for r in rows]))
    (folder / "feedback_template.csv").write_bytes(
        csv_bytes(list(FEEDBACK_COLUMNS), [[cid, "", "", "", "", "", ""] for cid in case_ids]))
    _write_template_xlsx(folder / "feedback_template.xlsx", case_ids, as_of, page)
    kinds: dict[str, int] = defaultdict(int)
    for r in rows:
        for k in r["dispatch_kind"].split("+"):
            kinds[k] += 1
    manifest = {
        "department": department,
        "department_name": rules.department_label(department),
        "office_code": office,
        "office_level": "town" if len(office) == 9 else "county",
        "county_code": office[:6],
        "as_of": as_of.isoformat(),
        "cases": len(rows),
        "kinds": dict(sorted(kinds.items())),
        "escalated": sum(1 for r in rows if r.get("escalated")),
        "files": [
            {"name": name, "rows": len(rows), "sha256": sha256_file(folder / name),
             "bytes": (folder / name).stat().st_size}
            for name in ("cases.xlsx", "cases.csv", "feedback_template.csv", "feedback_template.xlsx")
        ],
        "feedback": {"path": f"feedback/{department}/{office}/<YYYY-MM-DD>/feedback.csv",
                     "columns": list(FEEDBACK_COLUMNS), "statuses": list(FEEDBACK_STATUSES)},
        "note": PRINCIPLE_ZH,
        "order": order_note,
        "generated_by": "lowincome pipelines.dispatch",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


# --- write_extracts -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Pending:
    case_id: str
    department: str
    office_code: str
    dispatch_round: int
    kind: str


def pending_dispatches(con: duckdb.DuckDBPyConnection, escalation_department: str) -> list[_Pending]:
    """What tonight's extracts must carry, set-based: each (case, department) not yet sent in the
    case's current round (``new`` or ``realert``) to the department's office; each department whose
    office changed since its last dispatch (``transfer``: a 转办 named another office; round = the
    n-th transfer); and escalations not yet sent to the county office of the escalation department.
    A department that has given its final answer receives nothing more."""
    rows = con.execute("""
        with live as (
            select case_id, dispatch_round, escalated, coalesce(office_region, county_code) as region,
                   coalesce(department_status, list_transform(departments, d -> {
                       'department': d, 'office_code': county_code, 'status': status,
                       'awaiting_feedback': awaiting_feedback, 'last_feedback_on': last_feedback_on})) as states
            from mart.cases where not list_contains($final, status)
        ),
        routed as (
            select case_id, dispatch_round, s.department, s.office_code, s.status
            from (select case_id, dispatch_round, unnest(states) as s from live)
            where not list_contains($final, s.status)
        ),
        sent as (
            select case_id, department,
                   max(dispatch_round) filter (where kind in ('new', 'realert')) as last_round,
                   arg_max(county_code, dispatched_at) filter (where kind <> 'escalation') as last_office,
                   count(*) filter (where kind = 'transfer') as transfers
            from mart.case_dispatches group by case_id, department
        )
        select r.case_id, r.department, r.office_code, r.dispatch_round,
               case when s.last_round is null then 'new' else 'realert' end as kind
        from routed r left join sent s using (case_id, department)
        where s.last_round is null or s.last_round < r.dispatch_round
        union all
        select r.case_id, r.department, r.office_code, cast(s.transfers + 1 as integer), 'transfer' as kind
        from routed r join sent s using (case_id, department)
        where s.last_round is not null and s.last_office <> r.office_code
        union all
        select l.case_id, $escalation as department, left(l.region, 6), l.dispatch_round, 'escalation' as kind
        from live l
        where l.escalated
          and not exists (select 1 from mart.case_dispatches d where d.case_id = l.case_id and d.kind = 'escalation')
        order by 2, 3, 1, 5
    """, {"final": sorted(FINAL_STATUSES), "escalation": escalation_department}).fetchall()
    return [_Pending(*r) for r in rows]


_DISPATCH_SCHEMA = pa.schema([
    ("case_id", pa.string()), ("department", pa.string()), ("county_code", pa.string()), ("kind", pa.string()),
    ("dispatch_round", pa.int32()), ("as_of", pa.date32()), ("dispatched_at", pa.timestamp("us", tz="UTC")),
    ("due_at", pa.timestamp("us", tz="UTC")), ("extract_dir", pa.string()), ("record", pa.string()),
])


def _insert_dispatches(con: duckdb.DuckDBPyConnection, rows: list[list]) -> None:
    insert_arrow(con, "mart.case_dispatches",
                 pa.Table.from_pylist([dict(zip(_DISPATCH_SCHEMA.names, r)) for r in rows], schema=_DISPATCH_SCHEMA))


def write_extracts(con: duckdb.DuckDBPyConnection, outbox: Path, as_of: dt.date,
                   rules: Rules | None = None, actor: str = "system") -> list[Path]:
    """Write one extract folder per department and county office with cases to send tonight;
    return the folders written (empty on a re-run that has nothing new). ``rules`` gives labels, rule
    texts, deadlines and each department's data rights (default: models/ without overrides)."""
    migrate(con)
    rules = rules or default_rules()
    escalate_overdue(con, as_of, actor=actor, rules=rules)
    outbox = Path(outbox)
    now = night_time(as_of)
    pending = pending_dispatches(con, rules.escalation_department)
    if not pending:
        return []
    cases = load_cases(con, "c.case_id in (select unnest(?::varchar[]))", [sorted({p.case_id for p in pending})])
    names = _person_names(con, sorted({c["person_id"] for c in cases.values() if c["person_id"]}))
    received = assistance.received(con, {cid: (c["household_id"], c["last_period"]) for cid, c in cases.items()})
    # every row gets a priority (高/中/低) and the rows are sorted by it, never filtered
    # (pipelines.learning.priority: the triage stage's mart.case_priority, else the severity)
    ranked, order_note = priorities(con, sorted(cases), {cid: c["severity"] for cid, c in cases.items()})
    for cid, case in cases.items():
        case["priority"] = ranked[cid].label
    towns = region_names(con, sorted({t for t in map(town_of, cases.values()) if t}))

    def days_for(case: dict) -> int:
        """Feedback is due this many days after tonight's dispatch: the deadline in force now."""
        return rules.deadlines[case["severity"]]

    # Everything an office's folder and recording need is read once, before the first folder:
    # the rows are built from the cases as they stand now (a case sent to two offices shows the
    # same state in both), and tonight's earlier rows of every office come from one query.
    records: dict[tuple[str, str], list[tuple[_Pending, dict]]] = defaultdict(list)
    for p in pending:
        case = cases[p.case_id]
        if p.kind == "escalation":
            due = case["due_at"].date() if case["due_at"] else None
            rec = _record(case, p.department, "escalation", due, names, rules, received, towns)
            rec["escalated"] = True
        else:
            rec = _record(case, p.department, p.kind, as_of + dt.timedelta(days=days_for(case)), names, rules,
                          received, towns)
        records[(p.department, p.office_code)].append((p, rec))
    earlier: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for department, county, record in con.execute(
            "select department, county_code, record from mart.case_dispatches where as_of = ? "
            "order by department, county_code, case_id, kind", [as_of]).fetchall():
        earlier[(department, county)].append(json.loads(record))
    earlier_ids = sorted({r["case_id"] for recs in earlier.values() for r in recs} - set(ranked))
    if earlier_ids:
        severity_of = {r["case_id"]: r.get("severity") or "low" for recs in earlier.values() for r in recs}
        ranked.update(priorities(con, earlier_ids, severity_of)[0])
    sort_keys = {cid: pr.sort_key(cid) for cid, pr in ranked.items()}
    written: list[tuple[Path, dict, str]] = []
    for (department, office), new_records in sorted(records.items()):
        folder = outbox / department / office / as_of.isoformat()
        rows = _merge_rows(earlier[(department, office)] + [rec for _, rec in new_records], sort_keys)
        with atomic_dir(folder) as tmp:
            manifest = _write_folder(tmp, department, office, as_of, rows, rules, order_note)
        written.append((folder, manifest, sha256_file(folder / "manifest.json")))

    # Every folder is in place: only now do their cases count as dispatched, all in one
    # transaction. A crash before its commit leaves folders that no row records; the rerun finds
    # the same cases pending and writes the same folders again, byte for byte (at least once).
    with transaction(con):
        events = EventLog(con)
        events.prime(cases)
        dispatch_rows = []
        changed: dict[str, dict] = {}  # an escalation sent changes nothing on its case
        for folder, manifest, manifest_sha in written:
            department, office = manifest["department"], manifest["office_code"]
            new_records = records[(department, office)]
            for p, rec in new_records:
                case = cases[p.case_id]
                detail = {"department": department, "county_code": office[:6], "office_code": office,
                          "kind": p.kind, "dispatch_round": p.dispatch_round, "extract": str(folder)}
                if p.kind == "escalation":
                    events.add(p.case_id, now, actor, case["status"], case["status"], "escalation_sent",
                               {**detail, "label": "逾期升级"}, "dispatch")
                    due_at = case["due_at"]
                else:
                    due_at = now + dt.timedelta(days=days_for(case))
                    detail["due_date"] = rec["due_date"]
                    state = department_state(case, department)
                    from_status = state["status"]
                    to_status = "dispatched" if from_status == "open" else from_status
                    action = {"realert": "redispatched", "transfer": "transfer_sent"}.get(p.kind, "dispatched")
                    events.add(p.case_id, now, actor, from_status, to_status, action, detail, "dispatch")
                    state.update(status=to_status, awaiting_feedback=True)
                    case.update(dispatched_at=now, due_at=due_at, deadline_days=days_for(case), updated_at=now)
                    settle(case, now)
                    changed[p.case_id] = case
                dispatch_rows.append([p.case_id, department, office, p.kind, p.dispatch_round, as_of, now, due_at,
                                      str(folder), json.dumps(rec, ensure_ascii=False, sort_keys=True)])
            append_audit(con, actor, "extract_written", str(folder), rows=manifest["cases"], sha256=manifest_sha,
                         detail={"department": department, "office_code": office, "as_of": as_of.isoformat(),
                                 "new_rows": len(new_records), "kinds": manifest["kinds"],
                                 "files": manifest["files"]})
        save_cases(con, changed.values())
        events.write()
        _insert_dispatches(con, dispatch_rows)
    return [folder for folder, _, _ in written]
