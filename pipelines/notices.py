"""核查通报: data-quality notices back to the department that delivered a bad delivery.

Every delivery the night's ingest rejected for its data, or loaded with warnings (``ops.deliveries``
whose ``as_of`` is the night; a rejection for an internal reason, ``retry``, is the data team's and
is not sent), gets a notice in the delivering department's outbox folder::

    outbox/<DEPT>/quality/<as_of YYYY-MM-DD>/
        notice_<feed_id>_<delivery_date>.xlsx   sheet 「问题明细 findings」: file, row, field, rule, what;
                                                sheet 「交付信息 delivery」: the delivery, the outcome, what to do
        notice_<feed_id>_<delivery_date>.csv    the findings, UTF-8 with BOM

in Chinese with the English codes beside (the field also as the department's own column header).
The department sees its delivery's file, row and field and the rule that failed. It may see the
values it sent -- a 身份证号 in a rejected row is its own record -- but a notice never echoes a value
that may be a secret: a configured key (HMAC, encryption) anywhere in a message is withheld, so is
any long unbroken token (the shape of a key or checksum), a quoted value is cut to
:data:`MAX_VALUE` characters and a message to :data:`MAX_MESSAGE`.

A department folder is written whole or not at all (``atomic_dir``), the workbook with the night's
logical time, so a rerun of the night writes the same bytes. Notices are rebuilt from the ledger:
the ledger is their record. The same file goes out through the department's transport once real
transports exist.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.atomic import atomic_dir
from pipelines.feeds import FEEDS
from pipelines.rules import Rules, default_rules
from pipelines.spreadsheet import csv_bytes
from pipelines.workbook import Page, fixed_properties, sheet, workbook_bytes

FOLDER = "quality"
MAX_VALUE = 32
MAX_MESSAGE = 200
WITHHELD = "[已隐去 withheld]"

# What each check means, in the department's words (check codes: the GX suites' meta.check and the
# ingest's own checks).
CHECK_ZH = {
    "checksum": "文件校验值与清单不符", "missing_file": "清单所列文件缺失", "row_count": "行数与清单不符",
    "manifest": "清单 manifest.json 有误", "unsafe_file_name": "文件名不安全", "part": "文件不属于本数据源或缺少文件",
    "parse": "文件无法读取", "format": "文件格式有误", "encoding": "文件编码有误", "columns": "列缺失、改名或重复",
    "layout": "列与该数据月份的版式不符", "extra_column": "未约定的列（已忽略）", "control_character": "含控制字符",
    "type": "值无法识别", "range": "数值超出范围", "date_range": "日期超出范围", "enumeration": "取值不在代码表中",
    "unique": "记录重复", "id_check_character": "身份证号校验位错误", "region_known": "区划代码不在区划表中",
    "not_null": "必填项为空", "reversal_target": "冲正所指结算不存在", "reversal_sign": "冲正金额符号有误",
    "oop_balance": "自付金额与各项金额不平", "member_count": "家庭人数与成员数不符",
    "household_reference": "所指家庭不存在", "consistency": "数据前后不一致", "check_reference": "所指核对记录不存在",
}
SEVERITY_ZH = {"critical": "拒收 critical", "warning": "警告 warning"}
FINDING_HEADERS = ["序号 no", "文件 file", "行 row", "字段 field", "规则 rule", "级别 severity", "涉及行数 count",
                   "说明 message"]
CSV_COLUMNS = ["delivery_id", "feed_id", "file", "row", "field", "check", "severity", "count", "message"]
CSV_HEADERS = ["交付编号 delivery_id", "数据源 feed_id", "文件 file", "行 row", "字段 field", "规则 check",
               "级别 severity", "涉及行数 count", "说明 message"]
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")
# a run this long of letters and digits without a space or a separator, mixed or very long, is a key,
# a hash or a token, never a value a department needs to see quoted back (a 身份证号 has 18 characters,
# a family id 19; file and column names break the run with _ - .)
_TOKEN = re.compile(r"[A-Za-z0-9+/=]{24,}")


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    feed_id: str
    period: str | None
    delivery_date: dt.date
    status: str
    rows: int
    findings: list[dict]

    @property
    def rejected(self) -> bool:
        return self.status == "rejected"

    @property
    def department(self) -> str:
        return FEEDS[self.feed_id].department if self.feed_id in FEEDS else "MCA"

    @property
    def stem(self) -> str:
        return f"notice_{self.feed_id}_{self.delivery_date.isoformat()}"


def _token(m: re.Match) -> str:
    run = m.group(0)
    mixed = any(c.isdigit() for c in run) and any(c.isalpha() for c in run)
    return WITHHELD if mixed or len(run) >= MAX_VALUE else run


def staff_text(text: str | None, withhold: tuple[str, ...] = ()) -> str:
    """A message as a notice may show it: configured secrets and long tokens withheld, quoted values
    cut to :data:`MAX_VALUE` characters, the whole to :data:`MAX_MESSAGE`."""
    if not text:
        return ""
    text = str(text)
    for secret in withhold:
        if secret and len(secret) >= 8 and secret in text:
            text = text.replace(secret, WITHHELD)
    text = _TOKEN.sub(_token, text)

    def cut(m: re.Match) -> str:
        value = m.group(1) if m.group(1) is not None else m.group(2)
        if len(value) <= MAX_VALUE:
            return m.group(0)
        q = m.group(0)[0]
        return f"{q}{value[:MAX_VALUE]}…{q}（共 {len(value)} 字符 chars）"

    text = _QUOTED.sub(cut, text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "…"


def field_label(feed_id: str, field: str | None) -> str:
    """``缴费基数 contribution_base_yuan``: the department's own column header beside the code."""
    if not field:
        return ""
    spec = FEEDS.get(feed_id)
    if spec is None:
        return field
    labels = []
    for name in field.split(","):
        name = name.strip()
        label = name
        for part in spec.parts:
            source = next((f.source for f in part.fields if f.name == name and f.source), None)
            raw = name if name in part.raw_columns else source
            if raw and part.header_of(raw) != name:
                label = f"{part.header_of(raw)} {name}"
                break
        labels.append(label)
    return "、".join(labels)


def rule_label(check: str | None) -> str:
    if not check:
        return ""
    return f"{CHECK_ZH.get(check, '其他')} {check}"


def night_deliveries(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[Delivery]:
    """The deliveries the night rejected for their data or loaded with warnings."""
    rows = con.execute("""
        select delivery_id, feed_id, period, delivery_date, status, coalesce(rows, 0),
               cast(errors as varchar), cast(warnings as varchar)
        from ops.deliveries
        where as_of = ?
          and ((status = 'rejected' and not coalesce(retry, false))
               or (status = 'loaded' and coalesce(json_array_length(try_cast(warnings as json)), 0) > 0))
        order by feed_id, delivery_date, delivery_id""", [as_of]).fetchall()
    out = []
    for did, feed, period, day, status, n, errors, warnings in rows:
        findings = []
        for severity, text in (("critical", errors), ("warning", warnings)):
            try:
                records = json.loads(text) if text else []
            except ValueError:
                records = []
            for r in records if isinstance(records, list) else []:
                if isinstance(r, dict):
                    findings.append({**r, "severity": r.get("severity") or severity})
        findings.sort(key=lambda r: (r["severity"] != "critical", str(r.get("file") or ""),
                                     r.get("row") if isinstance(r.get("row"), int) else -1,
                                     str(r.get("field") or ""), str(r.get("check") or "")))
        out.append(Delivery(did, feed, period, day, status, int(n), findings))
    return out


def _finding_rows(d: Delivery, withhold: tuple[str, ...]) -> list[list]:
    rows = []
    for i, r in enumerate(d.findings, start=1):
        row = r.get("row")
        count = r.get("count")
        rows.append([i, staff_text(r.get("file"), withhold), row if isinstance(row, int) else None,
                     field_label(d.feed_id, staff_text(r.get("field"), withhold)), rule_label(r.get("check")),
                     SEVERITY_ZH.get(r["severity"], r["severity"]), count if isinstance(count, int) else None,
                     staff_text(r.get("message"), withhold)])
    return rows


def _about_rows(d: Delivery, rules: Rules) -> list[list]:
    spec = FEEDS.get(d.feed_id)
    critical = sum(1 for r in d.findings if r["severity"] == "critical")
    if d.rejected:
        outcome = "已拒收 rejected：本次交付未入库，数据月份的数据以此前入库的交付为准（如有）。 Not loaded."
        todo = ("请按问题明细更正后，在新的日期文件夹中重新交付该数据月份的全部文件（清单 manifest.json 最后写入）。"
                " Correct the findings and deliver the whole period again in a new date folder, manifest last.")
    else:
        outcome = "已入库，有警告 loaded with warnings：数据已使用，请核实下列记录。 Loaded; please check the rows below."
        todo = ("请核实所列记录；如有错误，请在下次交付中更正（或重新交付该数据月份）。"
                " Check the rows listed; correct them in the next delivery (or deliver the period again).")
    return [
        ["数据源 feed", f"{spec.title if spec else ''} {d.feed_id}".strip()],
        ["交付部门 department", f"{rules.department_label(d.department)} {d.department}"],
        ["交付编号 delivery_id", d.delivery_id],
        ["数据月份 period", d.period or ""],
        ["交付日期 delivery date", d.delivery_date.isoformat()],
        ["处理结果 outcome", outcome],
        ["入库行数 rows loaded", d.rows],
        ["问题条数 findings", f"{len(d.findings)}（拒收原因 critical {critical}，警告 warnings {len(d.findings) - critical}）"],
        ["下一步 what to do", todo],
        ["说明 note", "每条规则只列出前几行问题，涉及行数为该规则的全部问题行数。身份证号等为贵单位自行报送的数据；过长的值已截断，"
                    "疑似密钥的内容不予显示。 Each rule lists its first few rows; count is all rows failing it. Ids are your own"
                    " records; long values are cut and anything shaped like a key is withheld."],
    ]


def _write_notice(folder: Path, d: Delivery, as_of: dt.date, rules: Rules, withhold: tuple[str, ...]) -> None:
    from openpyxl import Workbook

    findings = _finding_rows(d, withhold)
    wb = Workbook()
    fixed_properties(wb, as_of, creator="lowincome notices")
    page = Page(f"{rules.department_label(d.department)} 核查通报 {d.delivery_id} — {as_of.isoformat()}")
    ws = wb.active
    ws.title = "问题明细 findings"
    sheets = [sheet(ws, FINDING_HEADERS, findings, page, max_widths={2: 30, 4: 30, 5: 30, 8: 70})]
    ws2 = wb.create_sheet("交付信息 delivery")
    sheets.append(sheet(ws2, ["项目 item", "内容 value"], _about_rows(d, rules), page, gridlines=False,
                        max_widths={2: 90}))
    (folder / f"{d.stem}.xlsx").write_bytes(workbook_bytes(wb, as_of, sheets))
    (folder / f"{d.stem}.csv").write_bytes(csv_bytes(CSV_HEADERS, [
        [d.delivery_id, d.feed_id, row[1], row[2] if row[2] is not None else "", row[3], row[4], row[5],
         row[6] if row[6] is not None else "", row[7]] for row in findings]))


def notice_folder(outbox: Path, department: str, as_of: dt.date) -> Path:
    return Path(outbox) / department / FOLDER / as_of.isoformat()


def write_notices(con: duckdb.DuckDBPyConnection, outbox: Path, as_of: dt.date, rules: Rules | None = None,
                  withhold: tuple[str, ...] = ()) -> list[Path]:
    """Write the night's notices, one folder per department with any; return the files written.
    ``withhold``: secrets of the configuration (never shown, whatever a delivery contained)."""
    rules = rules or default_rules()
    by_department: dict[str, list[Delivery]] = defaultdict(list)
    for d in night_deliveries(con, as_of):
        by_department[d.department].append(d)
    written = []
    for department, deliveries in sorted(by_department.items()):
        target = notice_folder(outbox, department, as_of)
        with atomic_dir(target) as tmp:
            for d in deliveries:
                _write_notice(tmp, d, as_of, rules, withhold)
        written += [target / f"{d.stem}{ext}" for d in deliveries for ext in (".xlsx", ".csv")]
    return written
