"""民政统计: the province's monthly statistics (月报), from the warehouse's one definition of each.

The figures are the warehouse's (read-only here):

- ``mart.roster_statistics``: roster households, persons and benefit by category x urban/rural x
  county, rolled up to city and province (sums of ``core.roster_month``: every level adds up);
- ``mart.assistance_statistics``: the assistance chain (``core.assistance_month``) per kind and region;
- ``mart.warning_statistics``: warnings and the cases they opened by indicator and department;
- ``mart.case_disposal(reference_at)``: 处置率 = disposed ÷ due and overdue cases per department office
  at the night's logical time;
- ``mart.delivery_quality(due_day)``: per department, deliveries on time, late, rejected and the share
  of rows warned.

:func:`write_monthly_report` writes them as ``outbox/report/<as_of>/月报_<YYYY-MM>.xlsx`` beside the
nightly report, for the latest complete data month (:func:`latest_complete_month`): one sheet per
table, Chinese headers with the English codes, numbers as numbers, printable (:mod:`pipelines.workbook`),
written atomically and byte for byte the same on a rerun. Aggregates only: no row names a person or a
household (tests scan the file for 身份证号 and names).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

from pipelines.atomic import atomic_write_bytes
from pipelines.dates import night_time, period_of
from pipelines.rules import Rules, default_rules
from pipelines.workbook import Page, fixed_properties, sheet, workbook_bytes

LEVELS_ZH = {"province": "省", "city": "市", "county": "县", "office": "县级办公室", "department": "部门合计",
             "total": "总计", "indicator_department": "指标×部门", "indicator": "指标合计"}
CATEGORY_ZH = {"dibao": "低保", "tekun": "特困", "edge": "低保边缘", "expense_hardship": "支出型困难",
               "relapse_watch": "防止返贫监测", "other": "其他困难", "unknown": "未填", "all": "合计"}
AREA_ZH = {"urban": "城市", "rural": "农村", "unknown": "未填", "all": "城乡合计"}
CATEGORY_ORDER = ["all"] + [c for c in CATEGORY_ZH if c != "all"]
AREA_ORDER = ["all", "urban", "rural", "unknown"]
MONEY = "#,##0.00"
COUNT = "#,##0"
RATE = "0.0%"


@dataclass
class Table:
    """One sheet: its title, bilingual headers, rows (numbers as numbers) and column formats."""

    title: str
    headers: list[str]
    rows: list[list]
    formats: dict[int, str] = field(default_factory=dict)  # 1-based column -> number format


@dataclass
class MonthlyStatistics:
    month: str
    as_of: dt.date
    province_code: str | None
    province_name: str | None
    tables: list[Table]


def latest_complete_month(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> str | None:
    """The latest data month before the night's month whose deliveries are all in: every feed the
    month expects (``ops.completeness``, pseudo-feeds left out) is ``loaded`` or ``not_expected``, the
    roster among them. None while no month is complete."""
    row = con.execute("""
        with c as (
            select c.feed_id, c.period, c.status
            from ops.completeness c
            join ops.feeds f using (feed_id)
            where c.period < ?
        ),
        months as (
            select period,
                   bool_and(status in ('loaded', 'not_expected')) as complete,
                   bool_or(feed_id = 'mca_roster' and status = 'loaded') as roster
            from c group by period
        )
        select max(period) from months where complete and roster""", [period_of(as_of)]).fetchone()
    return row[0] if row else None


def _num(v):
    """A cell value: Decimal -> float (the sheet stores numbers), None stays empty."""
    if isinstance(v, Decimal):
        return float(v)
    return v


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    cur = con.execute(sql, params)
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _region_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """County (6), city (4) and province (2) code -> name, from the region list in force."""
    rows = con.execute("""
        select case level when 'county' then left(region_code, 6) when 'city' then left(region_code, 4)
                          else left(region_code, 2) end, min(name)
        from staging.ref_regions_current where level in ('province', 'city', 'county') group by 1""").fetchall()
    return dict(rows)


def _sort_key_region(r: dict) -> tuple:
    return (r.get("city_code") or "", r.get("county_code") or "")


def roster_table(con: duckdb.DuckDBPyConnection, month: str) -> Table:
    rows = _rows(con, "select * from mart.roster_statistics where period = ?", [month])
    rows.sort(key=lambda r: _sort_key_region(r) + (
        CATEGORY_ORDER.index(r["category"]) if r["category"] in CATEGORY_ORDER else 99, r["category"],
        AREA_ORDER.index(r["urban_rural"]) if r["urban_rural"] in AREA_ORDER else 99))
    return Table(
        "低收入人口 roster",
        ["层级 level", "区划代码 region_code", "区划名称 region_name", "类别 category", "城乡 urban_rural",
         "户数 households", "人数 persons", "发放金额(元) benefit_yuan"],
        [[f"{LEVELS_ZH[r['level']]} {r['level']}", r["region_code"], r["region_name"] or "",
          f"{CATEGORY_ZH.get(r['category'], r['category'])} {r['category']}",
          f"{AREA_ZH.get(r['urban_rural'], r['urban_rural'])} {r['urban_rural']}",
          r["households"], r["persons"], _num(r["benefit_yuan"])] for r in rows],
        {6: COUNT, 7: COUNT, 8: MONEY})


def assistance_table(con: duckdb.DuckDBPyConnection, month: str, rules: Rules,
                     names: dict[str, str]) -> Table:
    rows = _rows(con, "select * from mart.assistance_statistics where period = ? and level in ('province', 'city')",
                 [month])
    order = list(rules.assistance_kinds) + ["all"]
    rows.sort(key=lambda r: _sort_key_region(r) + (order.index(r["kind"]) if r["kind"] in order else 99, r["kind"]))

    def label(kind: str) -> str:
        k = rules.assistance_kinds.get(kind)
        return f"{k.name_zh} {kind}" if k else f"合计 {kind}"

    def unit(kind: str) -> str:
        k = rules.assistance_kinds.get(kind)
        return ("月 months" if k.counts == "months" else "次 times") if k else ""

    return Table(
        "救助 assistance",
        ["层级 level", "区划代码 region_code", "区划名称 region_name", "救助类别 kind", "户数 households",
         "月数或次数 payments", "单位 unit", "金额(元) amount_yuan"],
        [[f"{LEVELS_ZH[r['level']]} {r['level']}", r["region_code"], names.get(r["region_code"], ""), label(r["kind"]),
          r["households"], r["payments"], unit(r["kind"]), _num(r["amount_yuan"])] for r in rows],
        {5: COUNT, 6: COUNT, 8: MONEY})


def warning_table(con: duckdb.DuckDBPyConnection, month: str, rules: Rules) -> Table:
    rows = _rows(con, "select * from mart.warning_statistics where period = ?", [month])
    codes = list(rules.codes)
    depts = list(rules.departments)
    rows.sort(key=lambda r: (r["indicator_code"] == "all", codes.index(r["indicator_code"]) if r["indicator_code"] in codes
                             else 99, r["department"] != "all", depts.index(r["department"]) if r["department"] in depts
                             else 99))
    return Table(
        "预警 warnings",
        ["层级 level", "指标 indicator", "部门 department", "预警数 warnings", "涉及户数 households", "立案数 cases_opened"],
        [[f"{LEVELS_ZH[r['level']]} {r['level']}",
          rules.indicator_label(r["indicator_code"]) + f" {r['indicator_code']}" if r["indicator_code"] != "all" else "合计 all",
          f"{rules.department_label(r['department'])} {r['department']}" if r["department"] != "all" else "合计 all",
          r["warnings"], r["households"], r["cases_opened"]] for r in rows],
        {4: COUNT, 5: COUNT, 6: COUNT})


def disposal_table(con: duckdb.DuckDBPyConnection, as_of: dt.date, rules: Rules, names: dict[str, str]) -> Table:
    rows = _rows(con, "select * from mart.case_disposal(?)", [night_time(as_of)])
    depts = list(rules.departments)
    rows.sort(key=lambda r: (r["department"] == "all", depts.index(r["department"]) if r["department"] in depts else 99,
                             r["county_code"] != "all", r["county_code"]))
    return Table(
        "处置 disposal",
        ["层级 level", "部门 department", "区县 county_code", "区县名称 county_name", "已派发 sent", "到期 due",
         "已办结 disposed", "处置率 disposal_rate", "逾期 overdue", "办理中 in_progress", "未到期 not_due"],
        [[f"{LEVELS_ZH[r['level']]} {r['level']}",
          f"{rules.department_label(r['department'])} {r['department']}" if r["department"] != "all" else "合计 all",
          r["county_code"] if r["county_code"] != "all" else "合计 all", names.get(r["county_code"], ""),
          r["sent"], r["due"], r["disposed"], _num(r["disposal_rate"]), r["overdue"], r["in_progress"], r["not_due"]]
         for r in rows],
        {5: COUNT, 6: COUNT, 7: COUNT, 8: RATE, 9: COUNT, 10: COUNT, 11: COUNT})


def quality_table(con: duckdb.DuckDBPyConnection, month: str, rules: Rules) -> Table:
    rows = _rows(con, "select * from mart.delivery_quality(?) where period = ?", [rules.delivery_due_day, month])
    depts = list(rules.departments)
    rows.sort(key=lambda r: (r["department"] == "all", depts.index(r["department"]) if r["department"] in depts else 99))
    return Table(
        "数据质量 data quality",
        ["部门 department", "交付次数 deliveries", "按时 on_time", "迟交 late", "被拒 rejected", "入库 loaded",
         "入库行数 rows_loaded", "警告行数 warned_rows", "警告行占比 warned_share"],
        [[f"{rules.department_label(r['department'])} {r['department']}" if r["department"] != "all" else "合计 all",
          r["deliveries"], r["on_time"], r["late"], r["rejected"], r["loaded"], r["rows_loaded"], r["warned_rows"],
          _num(r["warned_share"])] for r in rows],
        {2: COUNT, 3: COUNT, 4: COUNT, 5: COUNT, 6: COUNT, 7: COUNT, 8: COUNT, 9: RATE})


def collect(con: duckdb.DuckDBPyConnection, month: str, as_of: dt.date, rules: Rules | None = None) -> MonthlyStatistics:
    """Every table of the 月报 of data month ``month`` as of the night ``as_of`` (disposal: at the night)."""
    rules = rules or default_rules()
    names = _region_names(con)
    roster = roster_table(con, month)
    province = next((r[1] for r in roster.rows if r[0].endswith(" province")), None)
    tables = [roster, assistance_table(con, month, rules, names), warning_table(con, month, rules),
              disposal_table(con, as_of, rules, names), quality_table(con, month, rules)]
    about = Table("说明 about", ["项目 item", "内容 value"], [
        ["统计月份 month", month],
        ["数据截至 as of", f"{as_of.isoformat()} 02:00 (Asia/Shanghai)"],
        ["省份 province", f"{names.get(province or '', '')} {province or ''}".strip()],
        ["低收入人口 roster", "在册家庭户数、在册人数与当月花名册发放金额，按类别×城乡×区县，汇总至市、省；各级合计逐级相加相等。"
                          " Roster families, their members on the roster and the month's benefit by category x urban/rural"
                          " x county, rolled up to city and province; every level adds up exactly."],
        ["救助 assistance", "一户一条救助链按类别汇总：低保、特困等按月计，医疗救助、教育资助、受灾救助按次计。"
                          " The assistance chain per kind: roster benefits and unemployment benefit in months paid,"
                          " medical, student and disaster aid in times."],
        ["预警 warnings", "当月预警数、涉及户数及由当月预警新立案数；一条预警推送两个部门时在两个部门行各计一次，合计行只计一次。"
                        " A warning routed to two departments counts in both department rows and once in the totals."],
        ["处置率 disposal_rate", "处置率 = 已办结 ÷ 到期。到期 = 已派发且反馈期限不晚于数据截至时间；已办结 = 到期且案件已有最终结果"
                               "（核实不属实、已救助、不符合条件、已办结）；逾期 = 到期、未办结且该部门自派发以来没有反馈。"
                               " disposal_rate = disposed / due; due = dispatched with its deadline on or before the"
                               " night; disposed = due and final; overdue = due, not final, no feedback from the office"
                               " since its dispatch."],
        ["数据质量 data quality", f"按时 = 交付文件夹日期不晚于数据月份次月 {rules.delivery_due_day} 日；被拒不含系统内部原因的重试。"
                                f" On time = delivered by day {rules.delivery_due_day} of the month after the data"
                                " month; rejected = for the data (an internal failure retried is not counted)."],
        ["说明 note", "本表仅含汇总数据，不含身份证号、姓名或家庭明细。 Aggregates only: no 身份证号, names or household rows."],
    ])
    return MonthlyStatistics(month, as_of, province, names.get(province or ""), [about] + tables)


def monthly_report_path(outbox: Path, as_of: dt.date, month: str) -> Path:
    return Path(outbox) / "report" / as_of.isoformat() / f"月报_{month}.xlsx"


def workbook_of(stats: MonthlyStatistics) -> bytes:
    """The 月报 as XLSX bytes: one sheet per table, printable, the same bytes for the same night."""
    from openpyxl import Workbook

    wb = Workbook()
    fixed_properties(wb, stats.as_of, creator="lowincome statistics")
    place = f"{stats.province_name or ''} {stats.province_code or ''}".strip()
    page = Page(f"民政统计 月报 {stats.month} {place} — {stats.as_of.isoformat()}")
    sheets = []
    for i, table in enumerate(stats.tables):
        ws = wb.active if i == 0 else wb.create_sheet()
        ws.title = table.title
        styles = {j: {"number_format": fmt} for j, fmt in table.formats.items()}
        widths = {2: 110} if i == 0 else {}
        sheets.append(sheet(ws, table.headers, table.rows, page, column_styles=styles, max_widths=widths,
                            gridlines=i != 0))
    return workbook_bytes(wb, stats.as_of, sheets)


def write_monthly_report(con: duckdb.DuckDBPyConnection, outbox: Path, as_of: dt.date,
                         rules: Rules | None = None, month: str | None = None) -> Path | None:
    """Write the 月报 of the latest complete data month (or ``month``) into the night's report folder,
    atomically; return its path, or None while no month is complete. Reads the warehouse only."""
    month = month or latest_complete_month(con, as_of)
    if month is None:
        return None
    target = monthly_report_path(outbox, as_of, month)
    atomic_write_bytes(target, workbook_of(collect(con, month, as_of, rules)))
    return target
