"""XLSX and CSV files staff read and print: the one place that writes them.

Department extracts (:mod:`pipelines.dispatch`), data-quality notices (:mod:`pipelines.notices`) and
the province's monthly statistics (:mod:`pipelines.statistics`) are written through here, so every
workbook the project sends looks and prints the same way:

- every text cell is text, never a formula (:func:`pipelines.spreadsheet.safe_text`); CSV is UTF-8
  with a BOM and CRLF (:func:`pipelines.spreadsheet.csv_bytes`), which Excel opens without mojibake;
- every sheet prints A4 landscape, one page wide, the header row frozen and repeated on every page,
  the sheet title, the office (or province) and the night in the page header, page x of n in the
  footer (:func:`print_layout`, applied by :func:`sheet`);
- columns are as wide as the text they show (:func:`text_width`: a CJK character counts 2, other
  characters 1.1), long text wraps with a stored row height;
- a workbook is saved byte for byte reproducibly (:func:`save_workbook`: members and properties carry
  the night's logical time), so a rerun writes the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.dates import night_time
from pipelines.spreadsheet import safe_text

_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
# Characters XML 1.0 cannot carry (openpyxl refuses them); dropped from cell text.
_XML_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")

# Column widths, in the spreadsheet's unit (the width of a digit of the default font): computed
# from the text each column shows, a wide (CJK, full-width) character counting ~2 units and any
# other ~1.1, plus padding; clamped so a short column stays clickable and long free text (the
# explanation) wraps in a wide column instead of widening the sheet without bound.
MIN_WIDTH, MAX_WIDTH = 8, 60
_WIDTH_PAD = 2


def text_width(text: str) -> float:
    """Display width of ``text`` in column-width units: its widest line, a wide character counting
    2 and any other 1.1. Wide is told by the UTF-8 length (a regular expression over every
    explanation of a night cost more than the rest of the width work): CJK ideographs and
    punctuation, kana, hangul and full-width forms take 3 bytes, as do a few symbols Chinese fonts
    draw full-width anyway (— … “ ”); a 2-byte letter (é, ж) counts 1.55, a 4-byte character
    (rare ideographs) 2.45."""
    if "\n" in text or "\r" in text:
        return max((text_width(line) for line in text.splitlines()), default=0.0)
    n = len(text)
    return 1.1 * n + 0.45 * (len(text.encode("utf-8", "surrogatepass")) - n)


# Row heights (points) for rows that wrap. Excel grows a row without a stored height to fit its
# wrapped text when it opens the file; LibreOffice does not (it keeps one line and the text spills
# over the next rows, on screen and on paper). So a row with wrapped text carries its height,
# estimated from the text: a line of the default font takes 15 pt; a wrapped line holds
# 1/_WRAP_SLACK of the column's width (the space a line break leaves at the end of a line, fonts a
# little wider than estimated): rather a little white space than a clipped line.
_LINE_HEIGHT = 15
_WRAP_SLACK = 1.1


def _line_count(text: str, width: float) -> int:
    """Lines ``text`` takes in a wrapping cell of a column ``width`` wide."""
    n = 0
    for line in text.splitlines() or [""]:
        w = text_width(line)
        n += 1 if w + _WIDTH_PAD <= width else math.ceil(w * _WRAP_SLACK / (width - 1))
    return n


def _word_lines(text: str, width: float) -> int:
    """Lines ``text`` takes when it wraps between words only (a header) in a column ``width`` wide."""
    lines, used = 1, 0.0
    for word in text.split():
        w = text_width(word)
        if used and used + text_width(" ") + w + _WIDTH_PAD > width:
            lines, used = lines + 1, w
        else:
            used += (text_width(" ") if used else 0.0) + w
    return lines


def _column_width(texts: list[str], most: float, measured: dict[str, float]) -> float:
    """Width of a column showing ``texts``: its widest text plus padding (at most ``most``).
    Only texts that could be wider than the longest one (by character count) are measured."""
    if not texts:
        return 0.0
    longest = max(map(len, texts))
    width = _WIDTH_PAD + 1.1 * longest  # at least the longest text, whatever its characters
    if width >= most:
        return most
    joined = "".join(texts)
    if joined.isascii() and "\n" not in joined and "\r" not in joined:
        return width  # ids, codes, dates: 1.1 units a character, the longest is the widest
    for text in set(texts):
        if 2 * len(text) > width - _WIDTH_PAD:
            w = measured.get(text)
            if w is None:
                w = measured[text] = _WIDTH_PAD + text_width(text)
            width = max(width, w)
    return min(width, most)


def _header_width(header: str) -> float:
    """Width a header needs: it wraps between its words (「中文 code」 on two lines), so its widest
    word, not the whole text, sets the minimum."""
    return max((text_width(word) for word in header.split()), default=0.0)


# --- print layout ---------------------------------------------------------------------------------

# Page x of n (Excel/WPS/LibreOffice header-footer codes &P and &N).
PAGE_NUMBER = "第 &P 页 / 共 &N 页 page &P of &N"


def _header_footer_text(text: str) -> str:
    """``text`` as literal header/footer text: ``&`` starts a field code there, ``&&`` is an ampersand."""
    return text.replace("&", "&&")


@dataclass(frozen=True)
class Page:
    """What each printed page says about where it comes from: for an office's extract
    ``民政 civil affairs 330102 — 2026-02-07`` (department label, office's county code, night)."""
    office: str

    @classmethod
    def of(cls, department_label: str, county: str, as_of: dt.date) -> Page:
        return cls(f"{department_label} {county} — {as_of.isoformat()}")


def print_layout(ws, page: Page, freeze: str, gridlines: bool) -> None:
    """How a sheet of an extract prints (caseworkers print them) and scrolls: A4 landscape, as
    wide as the page (fit to one page wide, as many pages long as needed), the header row frozen on
    screen and repeated on every printed page, the sheet title, office and night in the page
    header, page x of n in the footer, 0.5 inch side margins. Applied to every sheet by
    :func:`sheet`; openpyxl writes it after ``<sheetData>`` (``printOptions``, ``pageMargins``,
    ``pageSetup``, ``headerFooter``), ``sheetPr`` and the workbook's print titles, so the XML rows
    set into the part by :func:`_with_rows` do not touch it."""
    from openpyxl.worksheet.page import PageMargins

    ws.freeze_panes = freeze
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.5, right=0.5, top=0.75, bottom=0.75, header=0.3, footer=0.3)
    ws.print_options.gridLines = gridlines
    ws.oddHeader.left.text = _header_footer_text(ws.title)
    ws.oddHeader.center.text = _header_footer_text(page.office)
    ws.oddFooter.center.text = PAGE_NUMBER
    # Excel keeps the page header's size when a wide sheet is scaled down to fit the page
    # (LibreOffice scales it with the sheet whatever this says)
    ws.HeaderFooter.scaleWithDoc = False


@dataclass
class SheetRows:
    """The data rows of one sheet, as the XML of its ``<row>`` elements. openpyxl writes the
    workbook around them (styles, header row, widths, panes, print layout, validations); the rows
    are set into the sheet's part by :func:`save_workbook`. Building a cell object per value cost
    ~0.5 ms per extract row, the largest part of a night's extracts at province scale."""
    xml: str
    last_row: int
    last_column: int


def _cell_xml(ref: str, value, style: int | None) -> str:
    """One ``<c>`` element as openpyxl writes it: text inline (never a formula), empty unstyled
    cells left out. Text must already be free of characters XML cannot carry (:func:`_shown`)."""
    s_attr = f' s="{style}"' if style is not None else ""
    if type(value) is str:
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return f'<c r="{ref}"{s_attr} t="inlineStr"><is><t{space}>{value.translate(_XML_TEXT)}</t></is></c>'
    if value is None:
        return f'<c r="{ref}"{s_attr}/>' if style is not None else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s_attr} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"{s_attr} t="n"><v>{value!r}</v></c>'
    return _cell_xml(ref, _XML_ILLEGAL.sub("", str(value)), style)


def _shown(value) -> object:
    """A cell's value as the sheet carries it: empty text is no value, text is neutralised
    (:func:`safe_text`) and loses the characters XML cannot carry."""
    if value == "":
        return None
    if type(value) is str:
        return _XML_ILLEGAL.sub("", safe_text(value))
    return value


def _style_id(ws, **style) -> int:
    """The workbook's cell-format index for ``style`` (registered in the workbook if new)."""
    from openpyxl.cell import Cell

    probe = Cell(ws)
    for name, value in style.items():
        setattr(probe, name, value)
    return probe.style_id


def sheet(ws, header: list[str], rows: list[list], page: Page, *, freeze: str = "A2", gridlines: bool = True,
           min_widths: dict[int, float] | None = None, max_widths: dict[int, float] | None = None,
           column_styles: dict[int, dict] | None = None) -> SheetRows:
    """Header row (bold, shaded, wrapping between its words), column widths and print layout
    (:func:`print_layout`) through openpyxl; the data rows as XML (:class:`SheetRows`).

    Every string is text (never a formula: :func:`safe_text`). A column is as wide as the widest
    text it shows (:func:`text_width` of the written strings, the header by its widest word),
    within ``min_widths``/``max_widths`` (1-based column -> width; default :data:`MIN_WIDTH`,
    :data:`MAX_WIDTH`); text wider than its column's maximum wraps. ``column_styles`` (1-based
    column -> openpyxl style attributes) styles every cell of a column, empty ones included."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    head_align = Alignment(wrap_text=True, vertical="center")
    for j, h in enumerate(header, start=1):
        cell = ws.cell(row=1, column=j)
        cell.value = _shown(str(h))
        cell.data_type = "s"
        cell.font, cell.fill, cell.alignment = bold, fill, head_align

    wrap = _style_id(ws, alignment=Alignment(wrap_text=True, vertical="top"))
    top = _style_id(ws, alignment=Alignment(vertical="top"))  # beside wrapped text, a row reads from its top
    fixed = {j - 1: _style_id(ws, **st) for j, st in (column_styles or {}).items()}
    width = max([len(header)] + [len(r) for r in rows])
    letters = [get_column_letter(j) for j in range(1, width + 1)]
    low = [float((min_widths or {}).get(j, MIN_WIDTH)) for j in range(1, width + 1)]
    high = [float((max_widths or {}).get(j, MAX_WIDTH)) for j in range(1, width + 1)]
    # Per column: the style of a cell with a value (the column's own, else top-aligned), and the
    # length over which a text may be wider than its column may grow (2 units a character at
    # most), so it is measured while its row is written (it may have to wrap).
    styled = [fixed.get(j, top) for j in range(width)]
    wrap_over = [math.inf if j in fixed else (high[j] - _WIDTH_PAD) / 2 for j in range(width)]
    measured: dict[str, float] = {}  # labels repeat down a column: measure each text once
    shown_rows = []  # the text of every cell as written, for the column widths
    out = []
    for i, row in enumerate(rows, start=2):
        cells, shown = [], []
        lines = 1
        for j, v in enumerate(row):
            if v is None or v == "":
                shown.append(None)
                if j in fixed:
                    cells.append(_cell_xml(f"{letters[j]}{i}", None, fixed[j]))
                continue
            style = styled[j]
            if type(v) is str:
                v = _XML_ILLEGAL.sub("", safe_text(v))  # as _shown, inline: once per cell
                if len(v) > wrap_over[j] or "\n" in v:
                    w = measured.get(v)
                    if w is None:
                        w = measured[v] = _WIDTH_PAD + text_width(v)
                    if w > high[j] or "\n" in v:  # a line break shows only in a wrapping cell
                        style = wrap
                        lines = max(lines, _line_count(v, high[j]))
                shown.append(v)
            else:
                shown.append(str(v))
            cells.append(_cell_xml(f"{letters[j]}{i}", v, style))
        shown_rows.append(shown)
        ht = f' ht="{_LINE_HEIGHT * lines}"' if lines > 1 else ""
        out.append(f'<row r="{i}"{ht}>{"".join(cells)}</row>')
    columns = list(itertools.zip_longest(*shown_rows)) if shown_rows else []
    seen = [_WIDTH_PAD + _header_width(str(h)) for h in header] + [0.0] * (width - len(header))
    for j, column in enumerate(columns):
        seen[j] = max(seen[j], _column_width(list(filter(None, column)), high[j], measured))
    widths = [math.ceil(min(max(seen[j], low[j]), high[j])) for j in range(width)]
    for j in range(width):
        ws.column_dimensions[letters[j]].width = widths[j]
    head_lines = max([_word_lines(str(h), widths[j]) for j, h in enumerate(header)] + [1])
    if head_lines > 1:
        ws.row_dimensions[1].height = _LINE_HEIGHT * head_lines
    print_layout(ws, page, freeze, gridlines)
    return SheetRows("".join(out), len(rows) + 1, width)


def _stamp(as_of: dt.date) -> dt.datetime:
    """The night's logical time as the workbook's (naive, local) timestamps carry it."""
    return night_time(as_of).replace(tzinfo=None)


def fixed_properties(wb, as_of: dt.date, creator: str = "lowincome dispatch") -> None:
    """The workbook's properties from the night, not the wall clock (same bytes on a rerun)."""
    stamp = _stamp(as_of)
    wb.properties.creator = creator
    wb.properties.created = stamp
    wb.properties.modified = stamp


def _with_rows(part: bytes, rows: SheetRows) -> bytes:
    """A worksheet part openpyxl wrote with its header row only, with ``rows`` set after it and
    the dimension covering them."""
    from openpyxl.utils import get_column_letter

    text = part.decode("utf-8")
    head, sep, tail = text.rpartition("</sheetData>")  # the header row is always there
    text = head + rows.xml + sep + tail
    text = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{get_column_letter(rows.last_column)}{rows.last_row}"/>',
                  text, count=1)
    return text.encode("utf-8")


def save_workbook(wb, path: Path, as_of: dt.date, sheet_rows: list[SheetRows]) -> None:
    """Save ``wb`` to ``path``, byte for byte reproducibly (:func:`workbook_bytes`)."""
    Path(path).write_bytes(workbook_bytes(wb, as_of, sheet_rows))


def workbook_bytes(wb, as_of: dt.date, sheet_rows: list[SheetRows]) -> bytes:
    """The file of ``wb`` with each sheet's data rows (``sheet_rows``, in sheet order), the same
    bytes whenever it is written for the same night. openpyxl stamps every zip member with the wall
    clock, so the same extract re-written by a rerun (e.g. after a crash between the folder's rename
    and its recording) would differ from the copy an office may already have fetched, and from its
    manifest's sha256 of the first write. Members are re-stamped with the night's time."""
    import zipfile

    from openpyxl.xml.functions import tostring

    buf = io.BytesIO()
    wb.save(buf)
    # openpyxl also sets docProps/core.xml's "modified" to now() on save: write it again as the night
    wb.properties.modified = _stamp(as_of)
    core = tostring(wb.properties.to_tree())
    parts = {f"xl/worksheets/sheet{i}.xml": rows for i, rows in enumerate(sheet_rows, start=1)}
    stamp = _stamp(as_of).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = info.external_attr
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                data = core
            elif info.filename in parts:
                data = _with_rows(data, parts[info.filename])
            dst.writestr(member, data)
    return out.getvalue()
