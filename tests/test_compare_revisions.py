"""The normalisers of ``scripts/compare_revisions.py`` (no pipeline run here: fast)."""

from __future__ import annotations

import importlib.util
import io
import sys
import zipfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "compare_revisions.py"


@pytest.fixture(scope="module")
def cr():
    spec = importlib.util.spec_from_file_location("compare_revisions", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
DATA = '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>{value}</t></is></c></row></sheetData>'


def sheet(value="户主", layout=False, col_style=""):
    """A worksheet part as openpyxl writes it; ``layout`` adds print settings, another frozen pane
    and other column widths."""
    pane = "C2" if layout else "B2"
    width = 30 if layout else 20
    parts = [f"<worksheet {NS}>",
             '<sheetPr><outlinePr summaryBelow="1" summaryRight="1"/>'
             + ('<pageSetUpPr fitToPage="1"/>' if layout else "<pageSetUpPr/>") + "</sheetPr>",
             '<dimension ref="A1:A1"/>',
             f'<sheetViews><sheetView workbookViewId="0"><pane xSplit="1" ySplit="1" topLeftCell="{pane}" '
             'activePane="bottomRight" state="frozen"/></sheetView></sheetViews>',
             '<sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>',
             f'<cols><col width="{width}" customWidth="1" min="1" max="1"{col_style}/></cols>',
             DATA.format(value=value)]
    if layout:
        parts += ['<printOptions horizontalCentered="1"/>',
                  '<pageMargins left="0.3" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>',
                  '<pageSetup orientation="landscape" paperSize="9" fitToHeight="0" fitToWidth="1"/>',
                  "<headerFooter><oddFooter>&amp;C&#31532; &amp;P &#39029;</oddFooter></headerFooter>",
                  '<rowBreaks count="1" manualBreakCount="1"><brk id="10" max="16383" man="1"/></rowBreaks>']
    else:
        parts.append('<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>')
    parts.append("</worksheet>")
    return "".join(parts).encode()


def workbook(names=""):
    return (f'<workbook {NS}><workbookPr/><sheets><sheet name="案件 cases" sheetId="1"/></sheets>'
            f'{names}<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>').encode()


PRINT_TITLES = "<definedNames><definedName name=\"_xlnm.Print_Titles\" localSheetId=\"0\">'案件 cases'!$1:$1</definedName></definedNames>"


def xlsx(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 31, 2, 0, 0)), data)
    return buf.getvalue()


def test_sheet_print_and_layout_settings_are_left_out_and_named(cr):
    a, removed_a = cr.strip_sheet_layout(sheet())
    b, removed_b = cr.strip_sheet_layout(sheet(layout=True))
    assert a == b
    changed = {k for k in set(removed_a) | set(removed_b) if removed_a.get(k) != removed_b.get(k)}
    assert changed == {"pageSetUpPr", "sheetViews", "cols", "printOptions", "pageMargins", "pageSetup",
                       "headerFooter", "rowBreaks"}
    assert b"sheetData" in a and b"pageSetup" not in a and b"pane" not in a


def test_sheet_data_and_column_styles_still_count(cr):
    assert cr.strip_sheet_layout(sheet("户主"))[0] != cr.strip_sheet_layout(sheet("户主 ", layout=True))[0]
    # a column's style is not a width: it survives the normaliser
    assert cr.strip_sheet_layout(sheet())[0] != cr.strip_sheet_layout(sheet(col_style=' style="1"'))[0]


def test_workbook_print_titles_and_empty_defined_names(cr):
    plain = cr.strip_workbook_print_names(workbook("<definedNames/>"))
    titled = cr.strip_workbook_print_names(workbook(PRINT_TITLES))
    assert plain[0] == titled[0] == cr.strip_workbook_print_names(workbook())[0]
    assert set(titled[1]) == {"_xlnm.Print_Titles"}
    other = workbook('<definedNames><definedName name="cases">\'案件 cases\'!$A$1</definedName></definedNames>')
    assert cr.strip_workbook_print_names(other)[0] != plain[0]


def test_compare_xlsx(cr):
    base = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": workbook("<definedNames/>"),
            "xl/worksheets/sheet1.xml": sheet()}
    assert cr.compare_xlsx(xlsx(base), xlsx(base)).status == "identical"

    layout = cr.compare_xlsx(xlsx(base), xlsx({**base, "xl/workbook.xml": workbook(PRINT_TITLES),
                                               "xl/worksheets/sheet1.xml": sheet(layout=True)}))
    assert layout.status == "layout"
    assert {"column widths: cols", "frozen panes/sheet view: sheetViews", "print: pageSetup",
            "print: _xlnm.Print_Titles"} <= layout.settings

    data = cr.compare_xlsx(xlsx(base), xlsx({**base, "xl/worksheets/sheet1.xml": sheet("户主2", layout=True)}))
    assert data.status == "DIFFERS" and "sheet1.xml" in data.notes[0]
    other_member = cr.compare_xlsx(xlsx(base), xlsx({**base, "[Content_Types].xml": b"<Types x='1'/>"}))
    assert other_member.status == "DIFFERS"
    extra = cr.compare_xlsx(xlsx(base), xlsx({**base, "xl/styles.xml": b"<styleSheet/>"}))
    assert extra.status == "DIFFERS"


def test_json_path_normaliser(cr):
    roots = {**cr.root_variants(Path("/x/run-base"), "<RUN>"), "/x/src": "<SRC>", "/x": "<X>"}
    detail = {"extract": "/x/run-base/outbox/MCA/520322/2025-12-28", "line": 2, "implied": True,
              "amount_yuan": None, "files": ["/x/src/models/indicators.toml", "/x/other", "rel/path"],
              "nested": {"/x/run-base/k": [("/x/run-base/a", 1.5)]}}
    assert cr.normalise_paths(detail, roots) == {
        "extract": "<RUN>/outbox/MCA/520322/2025-12-28", "line": 2, "implied": True, "amount_yuan": None,
        "files": ["<SRC>/models/indicators.toml", "<X>/other", "rel/path"],
        "nested": {"<RUN>/k": [("<RUN>/a", 1.5)]}}
    head = cr.normalise_paths({**detail, "extract": "/y/run-head/outbox/MCA/520322/2025-12-28"},
                              {"/y/run-head": "<RUN>"})
    assert head["extract"] == cr.normalise_paths(detail, roots)["extract"]


def test_json_differences(cr):
    a = {"thresholds": {"drop_ratio": 0.7}, "ids": [1, 2], "gone": 1}
    b = {"thresholds": {"drop_ratio": 0.8}, "ids": [1, 3]}
    assert cr.json_differences(a, b, path="evidence") == [
        "evidence.gone: 1 vs missing", "evidence.ids[1]: 2 vs 3", "evidence.thresholds.drop_ratio: 0.7 vs 0.8"]


def test_row_heights_and_cell_formats_are_layout_values_are_not(cr):
    plain = (f'<worksheet {NS}><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>户主</t></is></c></row>'
             '</sheetData></worksheet>').encode()
    styled = plain.replace(b'<row r="1">', b'<row r="1" ht="30" customHeight="1">').replace(b'<c r="A1"', b'<c r="A1" s="3"')
    other_value = plain.replace("户主".encode(), "配偶".encode())
    a, ra = cr.strip_sheet_layout(plain)
    b, rb = cr.strip_sheet_layout(styled)
    assert a == b and {"rowHeights", "cellFormats"} <= set(rb) - set(ra)
    assert cr.strip_sheet_layout(other_value)[0] != a
