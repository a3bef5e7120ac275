"""Department extracts print: every sheet of cases.xlsx and feedback_template.xlsx is A4 landscape,
one page wide, with the header row repeated and frozen, a page header naming the sheet, office,
department and night, page x of n, and column widths from the text the sheet shows."""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from case_fixtures import add_warning, warehouse
from pipelines.cases import update_cases
from pipelines.dispatch import write_extracts
from pipelines.workbook import MAX_WIDTH, MIN_WIDTH, text_width
from pipelines.rules import default_rules

NIGHT = dt.date(2026, 2, 7)
LONG = ("户主收入骤减：家庭人均收入由 1,295 元降至 395 元，降幅 69%，低于当地低保标准 850 元，"
        "家庭成员中有重病患者，近三个月医疗自付支出合计 12,480 元，建议入户核实家庭经济状况并评估临时救助需要")

# sheet -> (freeze panes, gridlines printed)
SHEETS = {
    "cases.xlsx": {"案件 cases": ("B2", True), "指标说明 indicators": ("A2", True),
                   "填报说明 how to answer": ("A2", False)},
    "feedback_template.xlsx": {"反馈 feedback": ("B2", True), "状态说明 statuses": ("A2", True)},
}


@pytest.fixture
def outbox(tmp_path):
    con = warehouse(tmp_path)
    add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA", "HRSS"])
    add_warning(con, "F002", "EXP_MED", "high", "2026-01", ["MCA"], explanation=LONG)
    add_warning(con, "F003", "EXP_MED", "medium", "2026-01", ["MCA"])
    add_warning(con, "HHK004", "ELIG_DIBAO", "high", "2026-01", ["MCA"])  # key person named =HYPERLINK(...)
    update_cases(con, NIGHT)
    out = tmp_path / "outbox"
    write_extracts(con, out, NIGHT)
    con.close()
    return out


def _widths(ws) -> dict[str, float]:
    header = [c.value for c in ws[1]]
    return {h.split()[-1]: ws.column_dimensions[ws.cell(1, j).column_letter].width
            for j, h in enumerate(header, start=1)}


def _cjk_width(text: str) -> float:
    """The rule the brief gives, written independently of the module: CJK 2 units, others 1.1."""
    return sum(2.0 if "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1.1 for ch in text)


@pytest.mark.parametrize("name", sorted(SHEETS))
def test_every_sheet_prints_a4_landscape_one_page_wide(outbox, name):
    folder = outbox / "MCA/330102/2026-02-07"
    label = default_rules().department_label("MCA")
    wb = load_workbook(folder / name)
    assert wb.sheetnames == list(SHEETS[name])
    for ws in wb:
        freeze, gridlines = SHEETS[name][ws.title]
        setup = ws.page_setup
        assert setup.orientation == "landscape", ws.title
        assert int(setup.paperSize) == int(ws.PAPERSIZE_A4) == 9
        assert (int(setup.fitToWidth), int(setup.fitToHeight)) == (1, 0)
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows.replace("$", "") == "1:1"
        assert ws.freeze_panes == freeze
        assert bool(ws.print_options.gridLines) == gridlines
        assert (ws.page_margins.left, ws.page_margins.right) == (0.5, 0.5)
        assert ws.oddHeader.left.text == ws.title
        centre = ws.oddHeader.center.text
        assert label in centre and "330102" in centre and "2026-02-07" in centre
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
        for letter, dim in ws.column_dimensions.items():
            assert dim.width is not None, (ws.title, letter)


def test_print_titles_name_the_header_row_in_the_workbook(outbox):
    """What Excel reads: one _xlnm.Print_Titles per sheet, its header row."""
    with zipfile.ZipFile(outbox / "MCA/330102/2026-02-07/cases.xlsx") as z:
        workbook = z.read("xl/workbook.xml").decode()
    titles = re.findall(r'<definedName name="_xlnm.Print_Titles" localSheetId="(\d)">([^<]*)</definedName>', workbook)
    assert titles == [("0", "'案件 cases'!$1:$1"), ("1", "'指标说明 indicators'!$1:$1"),
                      ("2", "'填报说明 how to answer'!$1:$1")]


def test_header_footer_escapes_an_ampersand(outbox):
    """人社 human resources & social security: a single & would start a header field code."""
    label = default_rules().department_label("HRSS")
    assert "&" in label
    ws = load_workbook(outbox / "HRSS/330102/2026-02-07/cases.xlsx")["案件 cases"]
    assert label.replace("&", "&&") in ws.oddHeader.center.text


def test_rows_are_set_inside_sheet_data_before_the_print_settings(outbox):
    """The data rows are XML set before </sheetData>; openpyxl writes the print settings after it.
    The part must keep the schema's element order with every row inside sheetData."""
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    with zipfile.ZipFile(outbox / "MCA/330102/2026-02-07/cases.xlsx") as z:
        for part in ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml"):
            root = ElementTree.fromstring(z.read(part))
            order = [child.tag.removeprefix(ns) for child in root]
            assert order == ["sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData",
                             "printOptions", "pageMargins", "pageSetup", "headerFooter"], (part, order)
            rows = root.find(f"{ns}sheetData")
            numbers = [int(r.get("r")) for r in rows]
            assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) > 1
            assert root.find(f"{ns}dimension").get("ref").endswith(str(numbers[-1]))


def test_column_widths_follow_the_text_shown(outbox):
    a = load_workbook(outbox / "MCA/330102/2026-02-07/cases.xlsx")["案件 cases"]
    b = load_workbook(outbox / "MCA/330103/2026-02-07/cases.xlsx")["案件 cases"]
    wa, wb = _widths(a), _widths(b)
    for widths in (wa, wb):
        assert all(MIN_WIDTH <= w <= MAX_WIDTH for w in widths.values()), widths
    # the same column is wider where it shows a longer text: 张三/李四 vs a neutralised formula
    # (the apostrophe written before it counts: the width is that of the text in the cell)
    k = list(wb).index("person_name") + 1
    (shown,) = [c.value for (c,) in b.iter_rows(min_row=2, min_col=k, max_col=k) if "HYPERLINK" in c.value]
    assert shown.startswith("'=HYPERLINK")
    assert wa["person_name"] < wb["person_name"] == math.ceil(2 + 1.1 * len(shown))
    # a CJK character counts about twice a Latin one: the explanation column of 330103 fits its
    # longest explanation (mixed Chinese and Latin) exactly
    k = list(wb).index("explanation") + 1
    longest = max((c.value for (c,) in b.iter_rows(min_row=2, min_col=k, max_col=k)), key=_cjk_width)
    assert wb["explanation"] == math.ceil(2 + _cjk_width(longest)) < MAX_WIDTH
    # long free text stops at the maximum and wraps, its row tall enough for its lines
    assert wa["explanation"] == MAX_WIDTH
    k = list(wa).index("explanation") + 1
    (cell,) = [c for (c,) in a.iter_rows(min_row=2, min_col=k, max_col=k) if c.value == LONG]
    assert cell.alignment.wrap_text
    assert a.row_dimensions[cell.row].height >= 15 * math.ceil(_cjk_width(LONG) / MAX_WIDTH)
    # ids are sized to themselves, not to their bilingual header (which wraps between its words)
    assert wa["case_id"] == math.ceil(2 + 1.1 * len(a["A2"].value))
    assert a["A1"].alignment.wrap_text and a.row_dimensions[1].height >= 30


def test_feedback_template_leaves_room_to_answer(outbox):
    ws = load_workbook(outbox / "MCA/330102/2026-02-07/feedback_template.xlsx")["反馈 feedback"]
    widths = _widths(ws)
    assert widths["case_id"] == math.ceil(2 + 1.1 * len(ws["A2"].value))
    assert widths["note"] >= 40 and widths["action"] >= 30  # empty when sent, written by hand on paper


def test_text_width():
    assert text_width("张三") == pytest.approx(4.0)
    assert text_width("ab12") == pytest.approx(4.4)
    assert text_width("收入 drop") == pytest.approx(4.0 + 5 * 1.1)
    assert text_width("很长的一行\r\n短") == pytest.approx(10.0)  # the widest line


# --- optional: render with LibreOffice ------------------------------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_prints_one_landscape_page_per_sheet(outbox, tmp_path):
    """LibreOffice renders the extract: each sheet of this small office fits one A4 landscape page
    (before the print layout, the cases sheet alone took a dozen portrait pages)."""
    folder = outbox / "MCA/330102/2026-02-07"
    pdf_dir = tmp_path / "pdf"
    profile = (tmp_path / "lo_profile").as_uri()  # its own profile: parallel test workers do not collide
    for name in SHEETS:
        subprocess.run([SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                        "--outdir", str(pdf_dir), str(folder / name)],
                       check=True, capture_output=True, timeout=180)
        pdf = (pdf_dir / name).with_suffix(".pdf").read_bytes()
        pages = re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)
        assert len(pages) == len(SHEETS[name]), (name, len(pages))
        boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
        assert boxes and {(round(float(w)), round(float(h))) for w, h in boxes} == {(842, 595)}  # A4 landscape
