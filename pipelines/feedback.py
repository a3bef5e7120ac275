"""Feedback intake: department answers move cases forward, line by line, each file once.

Departments return ``feedback/<DEPT>/<YYYY-MM-DD>/feedback.csv`` (also ``feedback_<anything>.csv``
in the same folder, e.g. one per county office) with the columns
``case_id, status, action, amount_yuan, handled_on, handler, note``.

- Encoding: UTF-8 with BOM (Excel "CSV UTF-8"), plain UTF-8, or GB18030 (Excel "CSV" on a Chinese
  Windows) — detected in that order. Headers may be the bare English codes or the bilingual
  headers of the xlsx template (「状态 status」): the English code in the header is what counts.
- A folder is read only once its date is on or before the night (``as_of``), like deliveries.
- Each file is applied once, by content hash (``ops.feedback_files``).
- Lines are validated one by one; a bad line is rejected (``ops.feedback_rejects`` and a report
  under ``<work>/feedback_reports/<DEPT>/<date>/``) and the other lines are still applied.
- A status only moves forward (cases.FORWARD). Skipped steps are recorded as implied (verified
  straight from dispatched records accepted, then verified). A move back, a sibling move
  (verified -> not_verified) or any status on a final case is rejected. Repeating the current
  status is recorded as a confirmation (no status change). ``transferred`` is an event, not a
  status; on a case still ``dispatched`` it implies ``accepted``.
- A line may only answer a case that was sent to that department (including escalations sent to
  the county MCA office).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb

from pipelines.atomic import atomic_write_bytes, atomic_write_text
from pipelines.cases import FEEDBACK_STATUSES, FINAL_STATUSES, EventLog, append_audit, forward_path, load_cases, save_cases
from pipelines.dates import day_start, night_time
from pipelines.dispatch import FEEDBACK_COLUMNS, safe_text
from pipelines.rules import Rules, default_rules
from pipelines.warehouse import migrate, transaction

REQUIRED_COLUMNS = ("case_id", "status", "handled_on", "handler")
MAX_AMOUNT_YUAN = Decimal("10000000")  # one case's assistance above 10 million yuan is a typo
_STATUS_BY_LABEL = {zh: code for code, zh in FEEDBACK_STATUSES.items()}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


@dataclass
class FeedbackSummary:
    as_of: dt.date
    files_seen: int = 0
    files_applied: int = 0
    files_already_applied: int = 0
    files_rejected: int = 0
    files_not_yet_visible: int = 0
    lines: int = 0
    applied: int = 0
    rejected: int = 0
    blank: int = 0
    reports: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat()
        return d


@dataclass
class Reject:
    line: int
    case_id: str | None
    field: str
    value: str | None
    reason: str


# --- parsing ----------------------------------------------------------------------------------

def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding name of a feedback file (BOM UTF-8, UTF-8, then GB18030)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030"), "gb18030"


def header_map(header: list[str]) -> dict[str, int]:
    """Column index of each known field; a header cell matches if it is the code or contains it
    as a separate token (「状态 status」, "status(状态)")."""
    out: dict[str, int] = {}
    for i, raw in enumerate(header):
        text = (raw or "").strip().lstrip("\ufeff").lower()
        tokens = set(re.split(r"[\s()（）\[\]【】:：/]+", text))
        for col in FEEDBACK_COLUMNS:
            if col not in out and (text == col or col in tokens):
                out[col] = i
                break
    return out


def parse_status(value: str) -> str | None:
    v = (value or "").strip()
    if not v:
        return None
    low = v.lower()
    if low in FEEDBACK_STATUSES:
        return low
    if v in _STATUS_BY_LABEL:
        return _STATUS_BY_LABEL[v]
    for token in re.split(r"[\s()（）]+", low):  # "verified 核实属实" from a labelled drop-down
        if token in FEEDBACK_STATUSES:
            return token
    return "?"


def parse_date(value: str) -> dt.date | None:
    v = (value or "").strip()
    if " " in v:  # "2026-03-05 00:00:00" from a spreadsheet date cell
        v = v.split(" ", 1)[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(v, fmt).date()
        except ValueError:
            continue
    raise ValueError(v)


def parse_amount(value: str) -> Decimal | None:
    v = (value or "").strip()
    for junk in (",", "，", "元", "¥", "￥", " "):
        v = v.replace(junk, "")
    if not v:
        return None
    try:
        amount = Decimal(v)
    except InvalidOperation:
        raise ValueError(value) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT_YUAN or amount.as_tuple().exponent < -2:
        raise ValueError(value)
    return amount


# --- discovery --------------------------------------------------------------------------------

def feedback_files(feedback_dir: Path, as_of: dt.date) -> tuple[list[tuple[str, dt.date, Path]], int, list[str]]:
    """(department, folder date, file) for every feedback file visible on ``as_of``, oldest first;
    also how many are not yet visible, and notes about folders that are not feedback."""
    found, later, notes = [], 0, []
    feedback_dir = Path(feedback_dir)
    if not feedback_dir.exists():
        return [], 0, [f"no feedback folder {feedback_dir}"]
    for dept_dir in sorted(p for p in feedback_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for date_dir in sorted(p for p in dept_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            try:
                folder_date = dt.date.fromisoformat(date_dir.name)
            except ValueError:
                notes.append(f"{date_dir}: folder name is not a date YYYY-MM-DD; ignored")
                continue
            files = sorted(p for p in date_dir.glob("feedback*.csv") if not p.name.startswith("."))
            if folder_date > as_of:
                later += len(files)
                continue
            found.extend((dept_dir.name, folder_date, f) for f in files)
    found.sort(key=lambda t: (t[1], t[0], t[2].name))
    return found, later, notes


# --- applying one file ------------------------------------------------------------------------

def _dispatch_info(con: duckdb.DuckDBPyConnection, case_ids: list[str]) -> dict[tuple[str, str], dt.date]:
    """First date each (case, department) was sent."""
    if not case_ids:
        return {}
    rows = con.execute(
        "select case_id, department, min(as_of) from mart.case_dispatches where case_id in (select unnest(?::varchar[])) "
        "group by case_id, department", [case_ids]).fetchall()
    return {(c, d): day for c, d, day in rows}


def _apply_file(con: duckdb.DuckDBPyConnection, department: str, folder_date: dt.date, path: Path,
                data_bytes: bytes, as_of: dt.date, rules: Rules) -> tuple[str, int, int, int, int, list[Reject]]:
    """Validate and apply one file (its bytes as hashed) inside the caller's transaction.
    Returns (status, lines, applied, rejected lines, blank, rejects)."""
    rejects: list[Reject] = []
    if department not in rules.case_departments:
        rejects.append(Reject(0, None, "file", department,
                              f"未知部门文件夹 unknown department folder {department!r} "
                              f"(known: {', '.join(rules.case_departments)})"))
        return "rejected", 0, 0, 0, 0, rejects
    try:
        text, _ = decode(data_bytes)
    except UnicodeDecodeError:
        rejects.append(Reject(0, None, "file", None, "无法识别的文件编码 unreadable encoding (save as CSV UTF-8)"))
        return "rejected", 0, 0, 0, 0, rejects
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        rejects.append(Reject(1, None, "header", None, "空文件 empty file"))
        return "rejected", 0, 0, 0, 0, rejects
    cols = header_map(rows[0])
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    if missing:
        rejects.append(Reject(1, None, "header", ",".join(rows[0]),
                              f"缺少列 missing columns: {', '.join(missing)} (expected {', '.join(FEEDBACK_COLUMNS)})"))
        return "rejected", 0, 0, 0, 0, rejects

    def get(row: list[str], col: str) -> str:
        i = cols.get(col)
        return (row[i] if i is not None and i < len(row) else "").strip()

    data = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(c.strip() for c in r)]
    ids = sorted({get(r, "case_id").lstrip("'") for _, r in data if get(r, "case_id")})
    cases = load_cases(con, "c.case_id in (select unnest(?::varchar[]))", [ids]) if ids else {}
    sent = _dispatch_info(con, ids)
    events = EventLog(con)
    events.prime(cases)
    now = night_time(as_of)
    file_name = str(path.resolve())
    changed: dict[str, dict] = {}
    applied = blank = 0
    rejected_lines: set[int] = set()

    for line, row in data:
        case_id = get(row, "case_id").lstrip("'")  # an apostrophe added against formula injection
        raw_status = get(row, "status")
        others = [get(row, c) for c in ("action", "amount_yuan", "handled_on", "handler", "note")]
        status = parse_status(raw_status)
        if status is None and not any(others):
            blank += 1  # a template line not answered yet
            continue
        errs: list[Reject] = []
        if not case_id:
            errs.append(Reject(line, None, "case_id", "", "缺少案件编号 case_id missing"))
        if status is None:
            errs.append(Reject(line, case_id, "status", "", "缺少状态 status missing"))
        elif status == "?":
            errs.append(Reject(line, case_id, "status", raw_status,
                               f"无效状态 unknown status (allowed: {', '.join(FEEDBACK_STATUSES)})"))
        handled_on = None
        raw_date = get(row, "handled_on")
        if not raw_date:
            errs.append(Reject(line, case_id, "handled_on", "", "缺少办理日期 handled_on missing"))
        else:
            try:
                handled_on = parse_date(raw_date)
            except ValueError:
                errs.append(Reject(line, case_id, "handled_on", raw_date, "日期格式错误 not a date (YYYY-MM-DD)"))
            else:
                if handled_on > folder_date:
                    errs.append(Reject(line, case_id, "handled_on", raw_date,
                                       f"办理日期晚于反馈日期 handled_on after the feedback folder date {folder_date}"))
                    handled_on = None
        amount = None
        raw_amount = get(row, "amount_yuan")
        try:
            amount = parse_amount(raw_amount)
        except ValueError:
            errs.append(Reject(line, case_id, "amount_yuan", raw_amount,
                               f"金额无效 amount must be a number of yuan, ≥ 0, at most 2 decimals, ≤ {MAX_AMOUNT_YUAN}"))
        handler = get(row, "handler")
        if not handler:
            errs.append(Reject(line, case_id, "handler", "", "缺少经办人 handler missing"))

        case = cases.get(case_id) if case_id else None
        if case_id and case is None:
            errs.append(Reject(line, case_id, "case_id", case_id, "未知案件编号 unknown case_id"))
        elif case is not None and (case_id, department) not in sent:
            to = sorted(d for (c, d) in sent if c == case_id)
            errs.append(Reject(line, case_id, "case_id", case_id,
                               f"该案件未派发给本部门 case was not sent to {department}"
                               + (f" (sent to {', '.join(to)})" if to else " (not dispatched yet)")))
        elif case is not None and handled_on is not None and handled_on < sent[(case_id, department)]:
            errs.append(Reject(line, case_id, "handled_on", raw_date,
                               f"办理日期早于派发日期 handled_on before the case was sent ({sent[(case_id, department)]})"))

        if not errs and case is not None:
            current = case["status"]
            if status == "transferred":
                steps = None if current in FINAL_STATUSES else (["accepted"] if current == "dispatched" else [])
            else:
                steps = forward_path(current, status)
            if steps is None:
                reason = (f"案件已办结 case is already final ({current})" if current in FINAL_STATUSES else
                          f"状态不能回退 status cannot move from {current} to {status} (only forward)")
                errs.append(Reject(line, case_id, "status", raw_status, reason))

        if errs:
            rejects.extend(errs)
            rejected_lines.add(line)
            continue

        at = day_start(handled_on)
        who = f"{handler}@{department}"
        detail = {"department": department, "file": file_name, "line": line,
                  "action": get(row, "action") or None, "amount_yuan": str(amount) if amount is not None else None,
                  "note": get(row, "note") or None, "handled_on": handled_on.isoformat(),
                  "received_as_of": as_of.isoformat(), "feedback_status": status}
        current = case["status"]
        for i, step in enumerate(steps):
            implied = i < len(steps) - 1 or status == "transferred"
            events.add(case_id, at, who, current, step, step, {**detail, "implied": implied}, "feedback")
            current = step
        if status == "transferred" or not steps:
            events.add(case_id, at, who, current, current, status, detail, "feedback")
        case["status"] = current
        case["awaiting_feedback"] = False
        case["last_feedback_on"] = max(filter(None, [case["last_feedback_on"], handled_on]))
        if current in FINAL_STATUSES and case["closed_at"] is None:
            case["closed_at"] = at
        case["updated_at"] = now
        changed[case_id] = case
        applied += 1

    save_cases(con, changed.values())
    events.write()
    return "applied", len(data), applied, len(rejected_lines), blank, rejects


def _write_report(report_dir: Path, path: Path, sha: str, department: str, folder_date: dt.date, as_of: dt.date,
                  status: str, counts: dict, rejects: list[Reject]) -> Path:
    stem = path.stem
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["文件 file", "行号 line", "案件编号 case_id", "字段 field", "填写值 value", "原因 reason"])
    for r in rejects:
        w.writerow([path.name, r.line, r.case_id or "", r.field, safe_text(r.value or ""), r.reason])
    atomic_write_bytes(report_dir / f"{stem}_rejects.csv", ("\ufeff" + buf.getvalue()).encode("utf-8"))
    report = {"file": str(path), "sha256": sha, "department": department, "folder_date": folder_date.isoformat(),
              "as_of": as_of.isoformat(), "status": status, **counts,
              "rejects": [asdict(r) | {"file": path.name} for r in rejects]}
    target = report_dir / f"{stem}_report.json"
    atomic_write_text(target, json.dumps(report, ensure_ascii=False, indent=2))
    return target


# --- apply_feedback ---------------------------------------------------------------------------

def apply_feedback(con: duckdb.DuckDBPyConnection, feedback_dir: Path, as_of: dt.date,
                   work_dir: Path | None = None, actor: str = "system", rules: Rules | None = None) -> FeedbackSummary:
    """Apply every feedback file visible on ``as_of`` that was not applied before.

    Reports go to ``<work_dir>/feedback_reports/<DEPT>/<folder date>/<file stem>_rejects.csv`` and
    ``..._report.json`` (``work_dir`` defaults to the feedback folder's parent)."""
    migrate(con)
    rules = rules or default_rules()
    summary = FeedbackSummary(as_of=as_of)
    work = Path(work_dir) if work_dir is not None else Path(feedback_dir).resolve().parent
    files, later, notes = feedback_files(Path(feedback_dir), as_of)
    summary.files_not_yet_visible = later
    summary.notes.extend(notes)
    for department, folder_date, path in files:
        summary.files_seen += 1
        data_bytes = path.read_bytes()  # hash and parse the same bytes
        sha = hashlib.sha256(data_bytes).hexdigest()
        # Applied once, wherever copied; but a file rejected whole in one folder (say, a department
        # that dropped it into the wrong office's folder) is still tried where it belongs.
        if con.execute("select 1 from ops.feedback_files where sha256 = ? and (status = 'applied' or department = ?)",
                       [sha, department]).fetchone():
            summary.files_already_applied += 1
            continue
        report_dir = work / "feedback_reports" / department / folder_date.isoformat()
        with transaction(con):
            status, lines, applied, rejected, blank, rejects = _apply_file(
                con, department, folder_date, path, data_bytes, as_of, rules)
            encoding = None
            try:
                encoding = decode(data_bytes)[1]
            except UnicodeDecodeError:
                pass
            counts = {"lines": lines, "applied": applied, "rejected": rejected, "blank": blank}
            report = _write_report(report_dir, path, sha, department, folder_date, as_of, status, counts, rejects)
            con.execute(
                "insert into ops.feedback_files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [sha, department, folder_date, str(path.resolve()), encoding, as_of, status, lines, applied,
                 rejected, blank, str(report_dir)])
            if rejects:
                con.executemany(
                    "insert into ops.feedback_rejects values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [[sha, department, str(path.resolve()), r.line, r.case_id, r.field, r.value, r.reason, as_of]
                     for r in rejects])
            append_audit(con, actor, "feedback_applied" if status == "applied" else "feedback_file_rejected",
                         str(path.resolve()), rows=applied, sha256=sha,
                         detail={"department": department, "folder_date": folder_date.isoformat(),
                                 "as_of": as_of.isoformat(), **counts, "report": str(report)})
        summary.reports.append(str(report))
        summary.lines += lines
        summary.applied += applied
        summary.rejected += rejected
        summary.blank += blank
        if status == "applied":
            summary.files_applied += 1
        else:
            summary.files_rejected += 1
    return summary
