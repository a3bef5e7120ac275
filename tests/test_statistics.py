"""民政统计: roster statistics roll up exactly from county to city to province (hand province and its
hand-counted totals), warnings by indicator and department, 处置率 and overdue cases per office at the
night, the data-quality summary, and the 月报 workbook (one sheet per table, numbers as numbers, no
person in it)."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from decimal import Decimal

import duckdb
import pytest
from openpyxl import load_workbook

from pipelines.cases import update_cases
from pipelines.core import build_core
from pipelines.dates import night_time
from pipelines.dispatch import write_extracts
from pipelines.statistics import collect, monthly_report_path, workbook_of, write_monthly_report
from tests.warehouse_fixtures import Province, assert_rolls_up, month_range

MONTHS = month_range("2026-01", "2026-02")
C1, C2, C3 = "330102001001", "330103001201", "330201001002"   # two counties of city 3301, one of 3302
NAMES = ["张三", "李四", "王五", "赵六", "钱七", "孙八", "周九", "吴十"]
REGIONS = [("330000000000", "测试省", "province", None), ("330100000000", "甲市", "city", "330000000000"),
           ("330102000000", "东区", "county", "330100000000"), ("330103000000", "西县", "county", "330100000000"),
           ("330200000000", "乙市", "city", "330000000000"), ("330201000000", "南区", "county", "330200000000")]


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    con = duckdb.connect(str(tmp_path_factory.mktemp("statistics") / "w.duckdb"))
    p = Province(con, MONTHS)
    for city in ("3301", "3302"):
        p.standard(city, "urban", 1000, 1300)
        p.standard(city, "rural", 800, 1100)
    n = iter(NAMES)
    fam = {}
    # (family, region, category, members, benefit per member, urban/rural)
    for fid, region, cat, size, benefit, area in [
            ("F330102001001000001", C1, "dibao", 3, 400, "urban"),
            ("F330102001001000002", C1, "dibao", 1, 650, "urban"),
            ("F330102001001000003", C1, "edge", 2, 0, "urban"),
            ("F330103001201000004", C2, "tekun", 1, 1100, "rural"),
            ("F330201001002000005", C3, "dibao", 1, 500, "urban")]:
        members = [p.person(next(n), "head" if i == 0 else "child", income=None) for i in range(size)]
        fam[fid] = p.family(fid, region, cat, members, benefit=benefit, urban_rural=area)
    p.resident_household(C1, [p.person(None, income=3000)])   # not on the roster: not counted
    p.load()
    p.deliver("ref_regions", MONTHS[0], [dict(region_code=c, name=nm, level=lv, parent_code=pa) for c, nm, lv, pa in REGIONS])
    build_core(con)
    yield con, p, fam
    con.close()


def stats(con, month: str) -> dict[tuple, tuple]:
    rows = con.execute("select level, region_code, category, urban_rural, households, persons, benefit_yuan "
                       "from mart.roster_statistics where period = ?", [month]).fetchall()
    return {r[:4]: r[4:] for r in rows}


def test_roster_statistics_hand_counted(province):
    con, _, _ = province
    s = stats(con, "2026-02")
    # by hand: dibao 3 families (C1: 3+1 persons, 1,200 + 650; C3: 1 person, 500), tekun 1 (1,100), edge 1 (2, 0)
    assert s[("province", "33", "all", "all")] == (5, 8, Decimal("3450.00"))
    assert s[("province", "33", "dibao", "all")] == (3, 5, Decimal("2350.00"))
    assert s[("province", "33", "dibao", "urban")] == (3, 5, Decimal("2350.00"))
    assert s[("province", "33", "all", "rural")] == (1, 1, Decimal("1100.00"))
    assert s[("city", "3301", "all", "all")] == (4, 7, Decimal("2950.00"))
    assert s[("city", "3302", "dibao", "urban")] == (1, 1, Decimal("500.00"))
    assert s[("county", "330102", "edge", "urban")] == (1, 2, Decimal("0.00"))
    assert s[("county", "330103", "tekun", "rural")] == (1, 1, Decimal("1100.00"))
    # the same money in the assistance statistics (the edge family has no benefit, hence no assistance)
    assist = {(r[0], r[1], r[2]): r[3:] for r in con.execute(
        "select level, region_code, kind, households, payments, amount_yuan from mart.assistance_statistics "
        "where period = '2026-02'").fetchall()}
    assert assist[("province", "33", "all")] == (4, 4, Decimal("3450.00"))
    assert assist[("province", "33", "dibao")] == (3, 3, Decimal("2350.00"))
    assert assist[("city", "3301", "all")] == (3, 3, Decimal("2950.00"))
    assert assist[("county", "330103", "tekun")] == (1, 1, Decimal("1100.00"))
    names = dict(con.execute("select region_code, region_name from mart.roster_statistics where period = '2026-02'").fetchall())
    assert (names["33"], names["3301"], names["330103"]) == ("测试省", "甲市", "西县")


def test_every_level_adds_up(province):
    con, _, _ = province
    for month in MONTHS:
        assert_rolls_up(stats(con, month))


@pytest.fixture(scope="module")
def cased(province, tmp_path_factory):
    """Three cases sent on 2026-03-05: EXP_MED (high, 7 days) to NHSA and MCA of 330102, INC_DROP
    (medium, 15 days) to MCA of 330102, DISASTER (urgent, 3 days) to MEM of 330103. NHSA then answers
    EXP_MED 'assisted' on 2026-03-09."""
    con, p, fam = province
    night = dt.date(2026, 3, 5)
    for wid, fid, code, sev, depts in [("W-1", "F330102001001000001", "EXP_MED", "high", ["NHSA", "MCA"]),
                                       ("W-2", "F330102001001000002", "INC_DROP", "medium", ["MCA"]),
                                       ("W-3", "F330103001201000004", "DISASTER", "urgent", ["MEM"])]:
        hh = fam[fid]
        con.execute("insert into mart.warnings (warning_id, indicator_code, severity, period, family_id, hukou_no, "
                    "person_id, county_code, departments, evidence, explanation, raised_at, household_id) values "
                    "(?, ?, ?, '2026-02', ?, ?, ?, ?, ?, '{}', '预警', ?, ?)",
                    [wid, code, sev, fid, hh.hukou_no, hh.members[0].person_id, hh.region_code[:6], depts,
                     night_time(night), fid])
    update_cases(con, night)
    write_extracts(con, tmp_path_factory.mktemp("outbox"), night)
    case_id = con.execute("select case_id from mart.cases where indicator_code = 'EXP_MED'").fetchone()[0]
    answered = dt.datetime(2026, 3, 9, tzinfo=night_time(night).tzinfo)
    con.execute("insert into mart.case_events values (?, 90, ?, 'wang@NHSA', 'dispatched', 'assisted', 'assisted', ?, "
                "'feedback')", [case_id, answered, json.dumps({"department": "NHSA", "amount_yuan": "3000"})])
    con.execute("update mart.cases set status = 'assisted', closed_at = ?, awaiting_feedback = false where case_id = ?",
                [answered, case_id])
    return con


def test_disposal_rate_and_overdue_per_office(cased):
    con = cased
    rows = {(r[0], r[1], r[2]): r[3:] for r in con.execute(
        "select level, department, county_code, sent, due, disposed, disposal_rate, overdue, in_progress, not_due "
        "from mart.case_disposal(?)", [night_time(dt.date(2026, 3, 15))]).fetchall()}
    # 15 March: EXP_MED was due on the 12th (disposed for NHSA and MCA: the case is final), DISASTER on the
    # 8th (overdue: MEM never answered), INC_DROP only on the 20th (not due)
    assert rows[("office", "NHSA", "330102")] == (1, 1, 1, Decimal("1.0000"), 0, 0, 0)
    assert rows[("office", "MCA", "330102")] == (2, 1, 1, Decimal("1.0000"), 0, 0, 1)
    assert rows[("office", "MEM", "330103")] == (1, 1, 0, Decimal("0.0000"), 1, 0, 0)
    assert rows[("total", "all", "all")] == (4, 3, 2, Decimal("0.6667"), 1, 0, 1)
    # on the 7th nothing was due yet
    early = con.execute("select due, disposal_rate from mart.case_disposal(?) where level = 'total'",
                        [night_time(dt.date(2026, 3, 7))]).fetchone()
    assert early == (0, None)
    # offices add up to their department, departments to the total
    for dept in ("NHSA", "MCA", "MEM"):
        offices = [v for k, v in rows.items() if k[0] == "office" and k[1] == dept]
        assert tuple(sum(v[i] for v in offices) for i in (0, 1, 2, 4)) == tuple(
            rows[("department", dept, "all")][i] for i in (0, 1, 2, 4))


def test_warning_statistics(cased):
    con = cased
    rows = {(r[0], r[1], r[2]): r[3:] for r in con.execute(
        "select level, indicator_code, department, warnings, households, cases_opened from mart.warning_statistics "
        "where period = '2026-02'").fetchall()}
    assert rows[("total", "all", "all")] == (3, 3, 3)
    assert rows[("department", "all", "MCA")] == (2, 2, 2)     # EXP_MED counts for NHSA and for MCA
    assert rows[("department", "all", "NHSA")] == (1, 1, 1)
    assert rows[("indicator", "EXP_MED", "all")] == (1, 1, 1)
    assert rows[("indicator_department", "DISASTER", "MEM")] == (1, 1, 1)


ID18 = re.compile(r"\d{17}[\dXx]")


def test_monthly_report_workbook(cased, tmp_path):
    con = cased
    path = write_monthly_report(con, tmp_path, dt.date(2026, 3, 15), month="2026-02")
    assert path == monthly_report_path(tmp_path, dt.date(2026, 3, 15), "2026-02")
    assert path.name == "月报_2026-02.xlsx" and path.parent.name == "2026-03-15"
    wb = load_workbook(path)
    assert wb.sheetnames == ["说明 about", "低收入人口 roster", "救助 assistance", "预警 warnings", "处置 disposal",
                             "数据质量 data quality"]
    ws = wb["低收入人口 roster"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["层级 level", "区划代码 region_code", "区划名称 region_name"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert rows[0][:5] == ("省 province", "33", "测试省", "合计 all", "城乡合计 all")
    assert rows[0][5:] == (5, 8, 3450)                          # numbers, not text
    assert isinstance(rows[0][7], (int, float)) and ws.cell(row=2, column=8).number_format == "#,##0.00"
    disposal = [r for r in wb["处置 disposal"].iter_rows(min_row=2, values_only=True) if r[0] == "总计 total"]
    assert disposal[0][4:9] == (4, 3, 2, pytest.approx(0.6667), 1)
    # same bytes on a rerun of the night
    first = path.read_bytes()
    write_monthly_report(con, tmp_path, dt.date(2026, 3, 15), month="2026-02")
    assert path.read_bytes() == first
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    # nothing identifies a person: no 身份证号, no roster name, no family id
    text = "\n".join(str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    assert not ID18.search(text)
    assert not [n for n in NAMES if n in text]
    assert "F330102" not in text


def test_collect_numbers_match_the_views(cased):
    s = collect(cased, "2026-02", dt.date(2026, 3, 15))
    roster = next(t for t in s.tables if t.title.startswith("低收入人口"))
    total = sum(r[7] for r in roster.rows if r[0] == "县 county" and r[3] == "合计 all" and r[4] == "城乡合计 all")
    assert total == pytest.approx(3450.0)
    assert s.province_code == "33" and s.province_name == "测试省"
    assert workbook_of(s) == workbook_of(collect(cased, "2026-02", dt.date(2026, 3, 15)))


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def render_pdf(path, tmp_path) -> tuple[bytes, str | None]:
    """LibreOffice's PDF of a workbook, and its text when pdftotext is installed."""
    pdf_dir = tmp_path / "pdf"
    profile = (tmp_path / "lo_profile").as_uri()  # its own profile: parallel test workers do not collide
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(pdf_dir), str(path)], check=True, capture_output=True, timeout=180)
    pdf = pdf_dir / (path.stem + ".pdf")
    text = None
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, timeout=60).stdout.decode()
    return pdf.read_bytes(), text


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_monthly_report_opens_in_libreoffice_with_chinese_intact(cased, tmp_path):
    path = write_monthly_report(cased, tmp_path / "outbox", dt.date(2026, 3, 15), month="2026-02")
    pdf, text = render_pdf(path, tmp_path)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert boxes and {(round(float(w)), round(float(h))) for w, h in boxes} == {(842, 595)}  # A4 landscape
    if text is not None:
        for words in ("低收入人口 roster", "测试省", "低保 dibao", "处置率", "民政统计 月报 2026-02"):
            assert words in text, words
