"""Feedback intake: department answers move cases forward, line by line, each file once.

Each office that received cases returns
``feedback/<DEPT>/<office_code>/<YYYY-MM-DD>/feedback.csv`` (also ``feedback_<anything>.csv`` in
the same folder) with the columns ``case_id, status, action, amount_yuan, handled_on, handler,
note``. ``office_code`` is the office's folder in the outbox: a 9-digit town code (MCA's town
offices) or a 6-digit county code.

- Encoding: UTF-8 with BOM (Excel "CSV UTF-8"), plain UTF-8, or GB18030 (Excel "CSV" on a Chinese
  Windows) — detected in that order. Headers may be the bare English codes or the bilingual
  headers of the xlsx template (「状态 status」): the English code in the header is what counts.
- A folder is read only once its date is on or before the night (``as_of``), like deliveries.
- Each file is applied once, by content hash (``ops.feedback_files``).
- Lines are validated one by one; a bad line is rejected (``ops.feedback_rejects`` and a report
  under ``<work>/feedback_reports/<DEPT>/<date>/``) and the other lines are still applied.
- ``status`` is exactly one code (any case) or its Chinese label, nothing else (``not verified``
  and ``verified 核实属实`` are rejected). A status only moves forward (cases.FORWARD). Skipped
  steps are recorded as implied (verified straight from dispatched records accepted, then
  verified). A move back, a sibling move (verified -> not_verified) or any status on a final case
  is rejected. Repeating the current status is recorded as a confirmation (no status change).
  ``transferred`` is an event, not a status; on a case still ``dispatched`` it implies ``accepted``.
- A line may only answer a case that was sent to that office of that department and that the
  office has now (after a 转办, the office it was handed to), or an escalation the county MCA office
  received — that office answers for every department of the case not yet final. A line moves its
  department's own status (``department_status``); the case is final when every department is.
- ``transferred`` names the target office in ``note`` (a 9-digit town or 6-digit county code); the
  department's part of the case is dispatched there in the next extract.

Hostile and broken files (docs/architecture.md, Security): nothing is read through a symbolic
link (a file or folder that is one is listed in ``ops.unread_entries``, never opened); a file in
the old place ``feedback/<DEPT>/<date>/`` cannot show its office and is rejected whole, unread,
saying where the office's folder is; a file above ``FeedbackLimits.max_bytes`` or
``max_lines`` is rejected whole, a line with a field above ``max_field_chars`` is rejected;
a rejected value is echoed only truncated and only when it is no secret (:class:`pipelines.redact.Echo`),
a header line never; the rejects of a file are recorded with one Arrow insert.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import stat
import unicodedata
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterable

import duckdb
import pyarrow as pa

from pipelines.atomic import atomic_file
from pipelines.cases import (
    FEEDBACK_STATUSES, FINAL_STATUSES, EventLog, append_audit, department_state, forward_path, load_cases, save_cases,
    settle,
)
from pipelines.dates import day_start, folder_date, night_time
from pipelines.dispatch import FEEDBACK_COLUMNS
from pipelines.redact import Echo
from pipelines.rules import Rules, default_rules
from pipelines.spreadsheet import APOSTROPHE, write_csv
from pipelines.warehouse import insert_arrow, migrate, record_unread_entries, relation_exists, transaction

REQUIRED_COLUMNS = ("case_id", "status", "handled_on", "handler")
MAX_AMOUNT_YUAN = Decimal("10000000")  # one case's assistance above 10 million yuan is a typo
_STATUS_BY_LABEL = {zh: code for code, zh in FEEDBACK_STATUSES.items()}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
OFFICE_DIR = re.compile(r"^\d{6}(\d{3})?$")  # a county (6 digits) or town (9 digits) office
FEEDBACK_FILE = re.compile(r"^feedback.*\.csv$")


@dataclass(frozen=True)
class FeedbackLimits:
    """What one feedback file may be: beyond ``max_bytes`` or ``max_lines`` it is rejected whole
    (unparsed), a line with a field longer than ``max_field_chars`` is rejected."""

    max_bytes: int = 20_000_000
    max_lines: int = 50_000
    max_field_chars: int = 2_000

    @classmethod
    def of(cls, settings) -> "FeedbackLimits":
        return cls(settings.feedback_max_bytes, settings.feedback_max_lines, settings.feedback_max_field_chars)


@dataclass(frozen=True)
class FeedbackFile:
    """A feedback file found on the night: its department and office folder (``office`` None: the
    old place ``feedback/<DEPT>/<date>/``, which cannot show its office) and its date folder."""

    department: str
    office: str | None
    folder_date: dt.date
    path: Path


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
    unread: list[str] = field(default_factory=list)  # entries found for the first time and not read

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


def trim(value: str | None) -> str:
    """A cell without what surrounds it invisibly: whitespace of any kind (NBSP, ideographic space)
    and format characters (BOM, zero-width space) at either end."""
    v = value or ""
    start, end = 0, len(v)
    while start < end and (v[start].isspace() or unicodedata.category(v[start]) == "Cf"):
        start += 1
    while end > start and (v[end - 1].isspace() or unicodedata.category(v[end - 1]) == "Cf"):
        end -= 1
    return v[start:end]


def header_map(header: list[str]) -> dict[str, int]:
    """Column index of each known field; a header cell matches if it is the code or contains it
    as a separate token (「状态 status」, "status(状态)")."""
    out: dict[str, int] = {}
    for i, raw in enumerate(header):
        text = trim(raw).lower()
        if len(text) > 200:
            continue  # no header of the template is this long
        tokens = set(re.split(r"[\s()（）\[\]【】:：/]+", text))
        for col in FEEDBACK_COLUMNS:
            if col not in out and (text == col or col in tokens):
                out[col] = i
                break
    return out


def parse_status(value: str) -> str | None:
    """The status code of a cell: exactly one code (any case) or exactly its Chinese label, once
    trimmed; ``None`` for an empty cell, ``"?"`` for anything else (``not verified``, ``verified
    核实属实``, two statuses, a typo)."""
    v = trim(value)
    if not v:
        return None
    if v.lower() in FEEDBACK_STATUSES:
        return v.lower()
    return _STATUS_BY_LABEL.get(v, "?")


def parse_date(value: str) -> dt.date | None:
    v = trim(value)
    if " " in v:  # "2026-03-05 00:00:00" from a spreadsheet date cell
        v = v.split(" ", 1)[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(v, fmt).date()
        except ValueError:
            continue
    raise ValueError(v)


def parse_amount(value: str) -> Decimal | None:
    v = trim(value)
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


def csv_records(text: str, max_records: int) -> tuple[list[list[str]], bool]:
    """The CSV records of ``text`` (the header first), at most ``max_records`` + 1 of them, and
    whether there were more. Never raises for a long field: the csv module's field limit is raised
    to the text's length first (a 200 KB note is then a too-long field of its line, not an error
    that stops the file)."""
    if csv.field_size_limit() < len(text) + 1:
        csv.field_size_limit(len(text) + 1)
    out: list[list[str]] = []
    for record in csv.reader(io.StringIO(text)):
        if len(out) > max_records:
            return out, True
        out.append(record)
    return out, False


# --- discovery --------------------------------------------------------------------------------

def _unread(root: Path, path: Path, kind: str, reason: str) -> dict:
    return {"path": path.relative_to(root).as_posix(), "kind": kind, "reason": reason}


def feedback_files(feedback_dir: Path, as_of: dt.date) -> tuple[list[FeedbackFile], int, list[dict]]:
    """Every feedback file visible on ``as_of``, oldest folder first; how many are in folders
    dated later (not visible yet); and what the folder holds that is not read
    (``{path, kind, reason}``: symbolic links, folders that are no office or no date).

    Files in the old place ``feedback/<DEPT>/<date>/`` are returned with ``office`` None (the intake
    rejects them whole, unread). Nothing is followed through a symbolic link."""
    root = Path(feedback_dir)
    if not root.is_dir():
        return [], 0, []
    root = root.resolve()  # the feedback folder itself may be a mount point's link
    found: list[FeedbackFile] = []
    unread: list[dict] = []
    later = 0
    link = "a symbolic link is never followed: an office returns real files in its own folder"

    def date_folder(department: str, office: str | None, folder: Path, day: dt.date) -> None:
        nonlocal later
        for f in sorted(folder.iterdir()):
            if not FEEDBACK_FILE.match(f.name):
                continue  # only feedback*.csv is read (the office may keep other files beside it)
            if day > as_of:
                later += 1
            elif f.is_symlink():
                unread.append(_unread(root, f, "symlink", link))
            elif not f.is_file():
                unread.append(_unread(root, f, "not_a_file", "named like a feedback file but not a regular file"))
            else:
                found.append(FeedbackFile(department, office, day, f))

    for dept_dir in sorted(root.iterdir()):
        if dept_dir.is_symlink():
            unread.append(_unread(root, dept_dir, "symlink", link))
            continue
        if not dept_dir.is_dir():
            unread.append(_unread(root, dept_dir, "not_a_folder", "feedback goes into feedback/<DEPT>/<office_code>/"
                                                                  "<YYYY-MM-DD>/"))
            continue
        for sub in sorted(dept_dir.iterdir()):
            day = folder_date(sub.name)
            if sub.is_symlink():
                unread.append(_unread(root, sub, "symlink", link))
            elif not sub.is_dir():
                unread.append(_unread(root, sub, "not_a_folder", "feedback goes into feedback/<DEPT>/<office_code>/"
                                                                 "<YYYY-MM-DD>/"))
            elif day is not None:
                date_folder(dept_dir.name, None, sub, day)  # the old place: no office
            elif not OFFICE_DIR.match(sub.name):
                unread.append(_unread(root, sub, "unknown_office", f"{sub.name!r} is no office code (6-digit county "
                                                                   f"or 9-digit town code): nothing in it is read"))
            else:
                for date_dir in sorted(sub.iterdir()):
                    day = folder_date(date_dir.name)
                    if date_dir.is_symlink():
                        unread.append(_unread(root, date_dir, "symlink", link))
                    elif not date_dir.is_dir():
                        unread.append(_unread(root, date_dir, "not_a_folder", "feedback files go into a date folder "
                                                                              "<YYYY-MM-DD>/ of the office"))
                    elif day is None:
                        unread.append(_unread(root, date_dir, "not_a_date", f"{date_dir.name!r} is not a date "
                                                                            f"YYYY-MM-DD: nothing in it is read"))
                    else:
                        date_folder(dept_dir.name, sub.name, date_dir, day)
    found.sort(key=lambda f: (f.folder_date, f.department, f.office or "", f.path.name))
    return found, later, unread


def read_bounded(path: Path, max_bytes: int) -> tuple[bytes | None, str]:
    """The bytes of a feedback file and their sha256 — never through a symbolic link, never more
    than ``max_bytes`` in memory: a larger file gives ``None`` (it is hashed in chunks, not kept);
    a file that is no regular file gives ``None`` and the sha256 of its path."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None, hashlib.sha256(f"not a file:{path}".encode()).hexdigest()
        data = f.read(max_bytes + 1)
        if len(data) <= max_bytes:
            return data, hashlib.sha256(data).hexdigest()
        digest = hashlib.sha256(data)
        del data
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return None, digest.hexdigest()


# --- applying one file ------------------------------------------------------------------------

@dataclass
class _NightCases:
    """The cases the night's files answer, read once -- the cases, where they were sent and their next
    event numbers, one query each -- and kept in memory while the files are applied in order: a file
    sees what the files before it changed. Saved once, at the end of the night's one transaction (a
    query per file scanned mart.cases, mart.case_dispatches and mart.case_events again for each of a
    province's ~200 office files: 150 ms a file at 1M)."""

    con: duckdb.DuckDBPyConnection
    cases: dict[str, dict] = field(default_factory=dict)
    sent: dict[str, dict[tuple[str, str, str], tuple[dt.date, bool]]] = field(default_factory=dict)
    changed: dict[str, dict] = field(default_factory=dict)
    events: EventLog | None = None

    def __post_init__(self) -> None:
        self.events = EventLog(self.con)
        self._read: set[str] = set()

    def ensure(self, case_ids: Iterable[str]) -> None:
        """Read the cases not read yet (one query each for all of them)."""
        ids = sorted(set(case_ids) - self._read)
        if not ids:
            return
        self._read.update(ids)
        self.cases.update(load_cases(self.con, "c.case_id in (select unnest(?::varchar[]))", [ids]))
        for key, info in _dispatch_info(self.con, ids).items():
            self.sent.setdefault(key[0], {})[key] = info
        self.events.prime(i for i in ids if i in self.cases)

    def sent_to(self, case_ids: Iterable[str]) -> dict[tuple[str, str, str], tuple[dt.date, bool]]:
        return {k: v for i in case_ids for k, v in self.sent.get(i, {}).items()}

    def save(self) -> None:
        save_cases(self.con, self.changed.values())
        self.events.write()
        self.changed = {}


def _file_case_ids(data_bytes: bytes | None, limits: FeedbackLimits) -> set[str]:
    """The case ids a file names (for reading the night's cases at once; a file this cannot read is
    judged, and rejected, by :func:`_apply_file`)."""
    if data_bytes is None:
        return set()
    try:
        rows, more = csv_records(decode(data_bytes)[0], limits.max_lines)
    except (UnicodeDecodeError, csv.Error):
        return set()
    if more or not rows or "case_id" not in (cols := header_map(rows[0])):
        return set()
    i = cols["case_id"]
    return {v for r in rows[1:] if i < len(r) and (v := trim(r[i]).lstrip(APOSTROPHE))
            and len(v) <= limits.max_field_chars}


def _dispatch_info(con: duckdb.DuckDBPyConnection, case_ids: list[str]) -> dict[tuple[str, str, str], tuple[dt.date, bool]]:
    """Per (case, department, office) the case was sent to: the first date, and whether an escalation
    went there. The office is the extract's folder, ``mart.case_dispatches.county_code`` (a town or
    county office; escalations are sent to the county office of the escalation department)."""
    if not case_ids:
        return {}
    rows = con.execute(
        "select case_id, department, county_code, min(as_of), bool_or(kind = 'escalation') "
        "from mart.case_dispatches "
        "where case_id in (select unnest(?::varchar[])) group by case_id, department, county_code",
        [case_ids]).fetchall()
    return {(c, d, o): (day, bool(esc)) for c, d, o, day, esc in rows}


OFFICE_IN_NOTE = re.compile(r"(?<!\d)(\d{12}|\d{9}|\d{6})(?!\d)")


def transfer_target(con: duckdb.DuckDBPyConnection, note: str, department: str, case: dict,
                    rules: Rules) -> str | Reject | None:
    """The office a 转办 line names in its note: the first 6-digit county or 9-digit town code (a
    12-digit region code names the department's office for that region). None when the note names
    none; a :class:`Reject` (its reason) when the code is no region of the list in force or is the
    office that has the case already."""
    m = OFFICE_IN_NOTE.search(note or "")
    if not m:
        return None
    code = m.group(1)
    if len(code) == 12:
        code = rules.office_of(department, code, case["indicator_code"])
    if relation_exists(con, "staging.ref_regions_current") and con.execute(
            "select count(*) from staging.ref_regions_current").fetchone()[0] and not con.execute(
            "select 1 from staging.ref_regions_current where left(region_code, ?) = ? "
            "and level = ? limit 1", [len(code), code, "town" if len(code) == 9 else "county"]).fetchone():
        return Reject(0, None, "note", None, f"转办目标 {code} 不是现行区划中的区县或乡镇 the target office {code} is no "
                                              f"county or town of the region list in force")
    state = department_state(case, department)
    if state is not None and state["office_code"] == code:
        return Reject(0, None, "note", None, f"转办目标 {code} 即本办公室 the target office {code} is the office that "
                                              f"has the case")
    return code


def _apply_file(con: duckdb.DuckDBPyConnection, f: FeedbackFile, data_bytes: bytes, as_of: dt.date,
                rules: Rules, limits: FeedbackLimits, echo: Echo, night: _NightCases
                ) -> tuple[str, int, int, int, int, list[Reject]]:
    """Validate and apply one file (its bytes as hashed) to the night's cases (``night``: saved by the
    caller, inside its transaction). Returns (status, lines, applied, rejected lines, blank, rejects).
    Every value a reject echoes goes through ``echo`` (short, never a secret); a header is never
    echoed."""
    department, office, folder_day, path = f.department, f.office, f.folder_date, f.path
    rejects: list[Reject] = []

    def reject(line: int, case_id: str | None, field_: str, value: str | None, reason: str) -> Reject:
        return Reject(line, echo(case_id), field_, echo(value), reason)

    def whole(line: int, field_: str, reason: str) -> tuple[str, int, int, int, int, list[Reject]]:
        rejects.append(Reject(line, None, field_, None, reason))
        return "rejected", 0, 0, 0, 0, rejects

    if department not in rules.case_departments:
        return whole(0, "file", f"未知部门文件夹 unknown department folder {echo(department)!r} "
                                f"(known: {', '.join(rules.case_departments)})")
    try:
        text, _ = decode(data_bytes)
    except UnicodeDecodeError:
        return whole(0, "file", "无法识别的文件编码 unreadable encoding (save as CSV UTF-8)")
    rows, more = csv_records(text, limits.max_lines)
    if more:
        return whole(0, "file", f"行数过多 more than {limits.max_lines:,} lines: split the file (nothing of it "
                                f"was applied)")
    if not rows:
        return whole(1, "header", "空文件 empty file")
    cols = header_map(rows[0])
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    if missing:
        # the header line is never echoed: a "file" may be anything (a key file behind a link)
        found = ", ".join(c for c in FEEDBACK_COLUMNS if c in cols) or "none"
        return whole(1, "header", f"缺少列 missing columns: {', '.join(missing)} (expected "
                                  f"{', '.join(FEEDBACK_COLUMNS)}; the header line has {len(rows[0])} cell(s), "
                                  f"recognised: {found})")

    def get(row: list[str], col: str) -> str:
        i = cols.get(col)
        return trim(row[i]) if i is not None and i < len(row) else ""

    data = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(trim(c) for c in r)]
    ids = sorted({get(r, "case_id").lstrip(APOSTROPHE) for _, r in data if get(r, "case_id")})
    ids = [i for i in ids if len(i) <= limits.max_field_chars]
    night.ensure(ids)
    cases = {i: night.cases[i] for i in ids if i in night.cases}
    sent = night.sent_to(ids)
    offices_of: dict[tuple[str, str], list[str]] = {}  # (case, department) -> the offices it was sent to
    for c, d, o in sorted(sent):
        offices_of.setdefault((c, d), []).append(o)
    events = night.events
    now = night_time(as_of)
    file_name = str(path)
    changed = night.changed
    applied = blank = 0
    rejected_lines: set[int] = set()
    names = {i: c for c, i in cols.items()}

    for line, row in data:
        long_fields = [(i, c) for i, c in enumerate(row) if len(c) > limits.max_field_chars]
        if long_fields:
            i, cell = long_fields[0]
            rejects.append(reject(line, None, names.get(i, f"column {i + 1}"), cell,
                                  f"内容过长 a field of {len(cell):,} characters; at most {limits.max_field_chars:,} "
                                  f"(the line was not applied)"))
            rejected_lines.add(line)
            continue
        case_id = get(row, "case_id").lstrip(APOSTROPHE)  # an apostrophe added against formula injection
        raw_status = get(row, "status")
        others = [get(row, c) for c in ("action", "amount_yuan", "handled_on", "handler", "note")]
        status = parse_status(raw_status)
        if status is None and not any(others):
            blank += 1  # a template line not answered yet
            continue
        errs: list[Reject] = []
        if not case_id:
            errs.append(reject(line, None, "case_id", "", "缺少案件编号 case_id missing"))
        if status is None:
            errs.append(reject(line, case_id, "status", "", "缺少状态 status missing"))
        elif status == "?":
            errs.append(reject(line, case_id, "status", raw_status,
                               "无效状态 status must be exactly one code or its Chinese label "
                               f"(allowed: {', '.join(f'{c} {zh}' for c, zh in FEEDBACK_STATUSES.items())})"))
        handled_on = None
        raw_date = get(row, "handled_on")
        if not raw_date:
            errs.append(reject(line, case_id, "handled_on", "", "缺少办理日期 handled_on missing"))
        else:
            try:
                handled_on = parse_date(raw_date)
            except ValueError:
                errs.append(reject(line, case_id, "handled_on", raw_date, "日期格式错误 not a date (YYYY-MM-DD)"))
            else:
                if handled_on > folder_day:
                    errs.append(reject(line, case_id, "handled_on", raw_date,
                                       f"办理日期晚于反馈日期 handled_on after the feedback folder date {folder_day}"))
                    handled_on = None
        amount = None
        raw_amount = get(row, "amount_yuan")
        try:
            amount = parse_amount(raw_amount)
        except ValueError:
            errs.append(reject(line, case_id, "amount_yuan", raw_amount,
                               f"金额无效 amount must be a number of yuan, ≥ 0, at most 2 decimals, ≤ {MAX_AMOUNT_YUAN}"))
        handler = get(row, "handler")
        if not handler:
            errs.append(reject(line, case_id, "handler", "", "缺少经办人 handler missing"))

        case = cases.get(case_id) if case_id else None
        offices = offices_of.get((case_id, department), [])
        state = department_state(case, department) if case is not None else None
        # whose answer the line is: the department's own office (the office the case is with now), or
        # the county office the overdue case was escalated to, answering for every department that
        # has not finished it
        own = state is not None and state["office_code"] == office and (case_id, department, office) in sent
        on_behalf = (not own and department == rules.escalation_department
                     and sent.get((case_id, department, office), (None, False))[1])
        if case_id and case is None:
            errs.append(reject(line, case_id, "case_id", case_id, "未知案件编号 unknown case_id"))
        elif case is not None and not offices:
            to = sorted({d for (c, d, _) in sent if c == case_id})
            errs.append(reject(line, case_id, "case_id", case_id,
                               f"该案件未派发给本部门 case was not sent to {department}"
                               + (f" (sent to {', '.join(to)})" if to else " (not dispatched yet)")))
        elif case is not None and office not in offices:
            errs.append(reject(line, case_id, "case_id", case_id,
                               f"该案件未派发给本办公室 case was not sent to office {office} of {department} "
                               f"(sent to {department} {', '.join(offices)}): an office answers only its own cases"))
        elif case is not None and not own and not on_behalf:
            now_at = state["office_code"] if state is not None else "?"
            errs.append(reject(line, case_id, "case_id", case_id,
                               f"该案件已转办至 {now_at} case was transferred to office {now_at} of {department}: "
                               f"only that office answers it now"))
        elif case is not None and handled_on is not None and handled_on < sent[(case_id, department, office)][0]:
            errs.append(reject(line, case_id, "handled_on", raw_date,
                               f"办理日期早于派发日期 handled_on before the case was sent "
                               f"({sent[(case_id, department, office)][0]})"))

        # the department entries the line moves, each with the steps it takes
        moves: list[tuple[dict, list[str]]] = []
        target_office = None
        if not errs and case is not None:
            targets = [state] if own else [s for s in case["department_status"] if s["status"] not in FINAL_STATUSES]
            if status == "transferred":
                target_office = transfer_target(con, get(row, "note"), department, case, rules)
                if on_behalf:
                    errs.append(reject(line, case_id, "status", raw_status,
                                       "逾期升级案件的转办由原承办部门办理 a county office answering an escalated case "
                                       "cannot transfer it: the department's own office does"))
                elif target_office is None:
                    errs.append(reject(line, case_id, "note", get(row, "note"),
                                       "转办须在备注中写明接收办公室代码 transferred must name the target office in "
                                       "note: its 9-digit town or 6-digit county code"))
                elif isinstance(target_office, Reject):
                    errs.append(reject(line, case_id, "note", get(row, "note"), target_office.reason))
                elif state["status"] in FINAL_STATUSES:
                    errs.append(reject(line, case_id, "status", raw_status,
                                       f"本部门已办结 {department} has already given its final answer "
                                       f"({state['status']})"))
                else:
                    moves = [(state, ["accepted"] if state["status"] == "dispatched" else [])]
            else:
                moves = [(t, steps) for t in targets if (steps := forward_path(t["status"], status)) is not None]
                if not moves:
                    current = state["status"] if own else case["status"]
                    reason = (f"本部门已办结 {department}'s answer is already final ({current})"
                              if current in FINAL_STATUSES else
                              f"状态不能回退 status cannot move from {current} to {status} (only forward)")
                    errs.append(reject(line, case_id, "status", raw_status, reason))

        if errs:
            rejects.extend(errs)
            rejected_lines.add(line)
            continue

        at = day_start(handled_on)
        who = f"{handler}@{department}"
        detail = {"department": department, "office": office, "file": file_name, "line": line,
                  "action": get(row, "action") or None, "amount_yuan": str(amount) if amount is not None else None,
                  "note": get(row, "note") or None, "handled_on": handled_on.isoformat(),
                  "received_as_of": as_of.isoformat(), "feedback_status": status}
        if on_behalf:
            detail["escalation_answer"] = True
        if status == "transferred":
            detail.update(from_office=state["office_code"], to_office=target_office)
        for target, steps in moves:
            current = target["status"]
            tdetail = {**detail, "department": target["department"]}
            for i, step in enumerate(steps):
                implied = i < len(steps) - 1 or status == "transferred"
                events.add(case_id, at, who, current, step, step, {**tdetail, "implied": implied}, "feedback")
                current = step
            if status == "transferred" or not steps:
                events.add(case_id, at, who, current, current, status, tdetail, "feedback")
            target["status"] = current
            target["awaiting_feedback"] = False
            target["last_feedback_on"] = max(filter(None, [target["last_feedback_on"], handled_on]))
            if status == "transferred":
                target["office_code"] = target_office
        before = case["status"]
        if settle(case, at):
            events.add(case_id, at, who, before, case["status"], "case_final",
                       {"departments": {s["department"]: s["status"] for s in case["department_status"]},
                        "file": file_name, "line": line}, "feedback")
        case["updated_at"] = now
        changed[case_id] = case
        applied += 1

    return "applied", len(data), applied, len(rejected_lines), blank, rejects


def _write_report(report_dir: Path, f: FeedbackFile, sha: str | None, as_of: dt.date, status: str, counts: dict,
                  rejects: list[Reject]) -> Path:
    """The office's report of one file: ``<stem>_rejects.csv`` (spreadsheet-safe, every value already
    echoed through :class:`Echo`) and ``<stem>_report.json``."""
    path = f.path
    stem = path.stem
    # both written row by row: the report of a 20,000-line file is never one string in memory
    with atomic_file(report_dir / f"{stem}_rejects.csv") as out:
        write_csv(out, ["文件 file", "行号 line", "案件编号 case_id", "字段 field", "填写值 value", "原因 reason"],
                  ([path.name, r.line, r.case_id or "", r.field, r.value or "", r.reason] for r in rejects))
    head = json.dumps({"file": str(path), "sha256": sha, "department": f.department, "office": f.office,
                       "folder_date": f.folder_date.isoformat(), "as_of": as_of.isoformat(), "status": status,
                       **counts}, ensure_ascii=False, indent=2)
    target = report_dir / f"{stem}_report.json"
    with atomic_file(target) as out:
        out.write((head.removesuffix("\n}") + ',\n  "rejects": [').encode("utf-8"))
        for i, r in enumerate(rejects):
            out.write((("," if i else "") + "\n    " + json.dumps(asdict(r) | {"file": path.name},
                                                                 ensure_ascii=False)).encode("utf-8"))
        out.write(("\n  ]\n}\n" if rejects else "]\n}\n").encode("utf-8"))
    return target


_REJECT_SCHEMA = pa.schema([
    ("sha256", pa.string()), ("department", pa.string()), ("office", pa.string()), ("file", pa.string()),
    ("line", pa.int32()), ("case_id", pa.string()), ("field", pa.string()), ("value", pa.string()),
    ("reason", pa.string()), ("as_of", pa.date32()),
])


def _insert_rejects(con: duckdb.DuckDBPyConnection, f: FeedbackFile, sha: str, as_of: dt.date,
                    rejects: list[Reject]) -> None:
    """All rejects of one file in one Arrow insert (a 20,000-line file is one statement, not 20,000)."""
    if not rejects:
        return
    n = len(rejects)
    table = pa.table({
        "sha256": pa.array([sha] * n, pa.string()), "department": pa.array([f.department] * n, pa.string()),
        "office": pa.array([f.office] * n, pa.string()), "file": pa.array([str(f.path)] * n, pa.string()),
        "line": pa.array([r.line for r in rejects], pa.int32()),
        "case_id": pa.array([r.case_id for r in rejects], pa.string()),
        "field": pa.array([r.field for r in rejects], pa.string()),
        "value": pa.array([r.value for r in rejects], pa.string()),
        "reason": pa.array([r.reason for r in rejects], pa.string()),
        "as_of": pa.array([as_of] * n, pa.date32()),
    }, schema=_REJECT_SCHEMA)
    insert_arrow(con, "ops.feedback_rejects", table)


def old_place_reason(con: duckdb.DuckDBPyConnection, f: FeedbackFile) -> str:
    """Why a file in ``feedback/<DEPT>/<date>/`` is rejected, and where its office's folder is."""
    offices = [r[0] for r in con.execute(
        "select distinct county_code from mart.case_dispatches where department = ? order by 1",
        [f.department]).fetchall()]
    office = offices[0] if len(offices) == 1 else "<office_code>"
    return (f"反馈文件须放在本办公室的文件夹 a feedback file must be in its office's folder "
            f"feedback/{f.department}/{office}/{f.folder_date}/{f.path.name} (<office_code>: the folder of the "
            f"office's extract, outbox/{f.department}/<office_code>/); in feedback/{f.department}/{f.folder_date}/ "
            f"it cannot show which office sent it, and it was not read")


# --- apply_feedback ---------------------------------------------------------------------------

def apply_feedback(con: duckdb.DuckDBPyConnection, feedback_dir: Path, as_of: dt.date,
                   work_dir: Path | None = None, actor: str = "system", rules: Rules | None = None,
                   limits: FeedbackLimits | None = None, secrets: Iterable[bytes | str] = ()) -> FeedbackSummary:
    """Apply every feedback file visible on ``as_of`` that was not applied before.

    Reports go to ``<work_dir>/feedback_reports/<DEPT>/<folder date>/<file stem>_rejects.csv`` and
    ``..._report.json`` (``work_dir`` defaults to the feedback folder's parent). ``secrets`` (the
    run's keys) are never echoed in a reject; ``limits`` bound what one file may be."""
    migrate(con)
    rules = rules or default_rules()
    limits = limits or FeedbackLimits()
    echo = Echo(secrets)
    summary = FeedbackSummary(as_of=as_of)
    work = Path(work_dir) if work_dir is not None else Path(feedback_dir).resolve().parent
    if not Path(feedback_dir).is_dir():
        summary.notes.append(f"no feedback folder {feedback_dir}")
        return summary
    files, later, unread = feedback_files(Path(feedback_dir), as_of)
    summary.files_not_yet_visible = later
    root = Path(feedback_dir).resolve()
    misplaced = [f for f in files if f.office is None]
    reasons = {f: old_place_reason(con, f) for f in misplaced}
    unread += [_unread(root, f.path, "old_place", reasons[f]) for f in misplaced]
    with transaction(con):
        new = set(record_unread_entries(con, "feedback", unread, as_of))
        summary.unread = sorted(new)
        for f in misplaced:  # rejected whole, unread, once (the ops.unread_entries row remembers it)
            if f.path.relative_to(root).as_posix() not in new:
                continue
            summary.files_seen += 1
            summary.files_rejected += 1
            report_dir = work / "feedback_reports" / f.department / f.folder_date.isoformat()
            counts = {"lines": 0, "applied": 0, "rejected": 0, "blank": 0}
            report = _write_report(report_dir, f, None, as_of, "rejected", counts,
                                   [Reject(0, None, "folder", None, reasons[f])])
            summary.reports.append(str(report))
            append_audit(con, actor, "feedback_file_rejected", str(f.path), rows=0,
                         detail={"department": f.department, "office": None, "folder_date": f.folder_date.isoformat(),
                                 "as_of": as_of.isoformat(), "reason": "old_place", "report": str(report)})
    # The files' bytes are read (and hashed) once; the cases they name are read at once, and the
    # files applied in order in one transaction with the cases saved at its end: the night's answers
    # land together or, after a crash, not at all (the rerun applies every file again).
    readable = []
    for f in files:
        if f.office is None:
            continue
        summary.files_seen += 1
        try:
            data_bytes, sha = read_bounded(f.path, limits.max_bytes)  # hash and parse the same bytes
        except OSError as e:  # vanished, or became a link since the scan: tried again next night
            summary.notes.append(f"{f.path}: not read ({e.strerror})")
            continue
        readable.append((f, data_bytes, sha))
    # Applied once, wherever copied; but a file rejected whole in one folder (say, a department that
    # dropped it into the wrong department's folder) is still tried where it belongs. What ops.feedback_files
    # holds, read once and kept up to date below as the night records files: the folders keep every
    # file ever answered, and reading the cases of all of them (and a query per file) took ~10 s a
    # night at 1M after a year, to apply nothing.
    applied_before, tried_before = set(), set()

    def remember(sha: str, department: str, status: str) -> None:
        tried_before.add((sha, department))
        if status == "applied":
            applied_before.add(sha)

    for row in con.execute("select sha256, department, status from ops.feedback_files "
                           "where sha256 in (select unnest(?::varchar[]))",
                           [sorted({sha for _, _, sha in readable})]).fetchall():
        remember(*row)

    def done_before(sha: str, department: str) -> bool:
        return sha in applied_before or (sha, department) in tried_before

    night = _NightCases(con)
    night.ensure(set().union(*(_file_case_ids(b, limits) for f, b, sha in readable
                               if not done_before(sha, f.department))))
    with transaction(con):
        for f, data_bytes, sha in readable:
            if done_before(sha, f.department):
                summary.files_already_applied += 1
                continue
            report_dir = work / "feedback_reports" / f.department / f.folder_date.isoformat()
            encoding = None
            if data_bytes is None:
                status, lines, applied, rejected, blank = "rejected", 0, 0, 0, 0
                rejects = [Reject(0, None, "file", None, f"文件过大或不是普通文件 larger than {limits.max_bytes:,} "
                                                          f"bytes, or not a regular file: not read (split the file)")]
            else:
                status, lines, applied, rejected, blank, rejects = _apply_file(
                    con, f, data_bytes, as_of, rules, limits, echo, night)
                try:
                    encoding = decode(data_bytes)[1]
                except UnicodeDecodeError:
                    pass
            counts = {"lines": lines, "applied": applied, "rejected": rejected, "blank": blank}
            report = _write_report(report_dir, f, sha, as_of, status, counts, rejects)
            con.execute(
                "insert into ops.feedback_files (sha256, department, folder_date, path, encoding, as_of, status, "
                "lines, applied, rejected, blank, report_dir, office) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [sha, f.department, f.folder_date, str(f.path), encoding, as_of, status, lines, applied,
                 rejected, blank, str(report_dir), f.office])
            remember(sha, f.department, status)
            _insert_rejects(con, f, sha, as_of, rejects)
            append_audit(con, actor, "feedback_applied" if status == "applied" else "feedback_file_rejected",
                         str(f.path), rows=applied, sha256=sha,
                         detail={"department": f.department, "office": f.office,
                                 "folder_date": f.folder_date.isoformat(), "as_of": as_of.isoformat(), **counts,
                                 "report": str(report)})
            summary.reports.append(str(report))
            summary.lines += lines
            summary.applied += applied
            summary.rejected += rejected
            summary.blank += blank
            if status == "applied":
                summary.files_applied += 1
            else:
                summary.files_rejected += 1
        night.save()
    return summary
