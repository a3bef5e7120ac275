"""File formats exactly as the departments export them, written deterministically.

* CSV: header line written by hand (pyarrow would quote it), rows by pyarrow without quoting
  (values never contain separators), or by the ``csv`` module for free text; UTF-8, optionally with a
  BOM, or GB18030.
* Parquet: pyarrow, fixed options (no timestamps in the file).
* XLSX: a minimal SpreadsheetML package built by hand (inline strings, fixed zip timestamps and
  document properties) — byte-identical for identical data, and fast.
* JSON lines: one object per line, ``ensure_ascii=False``.

Every writer returns ``(bytes, rows)``; the delivery layer writes files, then the manifest last.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

BOM = b"\xef\xbb\xbf"


def csv_bytes(table: pa.Table, header: list[str] | None = None, encoding: str = "utf-8",
              bom: bool = False) -> tuple[bytes, int]:
    """Plain CSV: header as given (defaults to the column names), no quoting, ``\\n`` line ends."""
    header = header or table.column_names
    buf = io.BytesIO()
    if table.num_rows:
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    body = buf.getvalue()
    head = (",".join(header) + "\n")
    if encoding.lower() in ("utf-8", "utf8"):
        data = head.encode("utf-8") + body
        if bom:
            data = BOM + data
    else:
        data = (head + body.decode("utf-8")).encode(encoding)
    return data, table.num_rows


def csv_text_bytes(rows: list[list[str]], header: list[str]) -> tuple[bytes, int]:
    """CSV through the csv module (quotes free text with commas, quotes or line breaks)."""
    s = io.StringIO()
    w = csv.writer(s, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return s.getvalue().encode("utf-8"), len(rows)


def parquet_bytes(table: pa.Table) -> tuple[bytes, int]:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", use_dictionary=True, write_statistics=True,
                   store_schema=True)
    return buf.getvalue(), table.num_rows


def jsonl_bytes(records: list[dict]) -> tuple[bytes, int]:
    text = "".join(json.dumps(r, ensure_ascii=False, separators=(", ", ": ")) + "\n" for r in records)
    return text.encode("utf-8"), len(records)


# --- XLSX ----------------------------------------------------------------------------------------

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>
<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>
</Types>"""
_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>
<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>
</Relationships>"""
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets>
</workbook>"""
_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
</Relationships>"""
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""
_CORE = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<dc:creator>{creator}</dc:creator>
<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>
<dcterms:modified xsi:type="dcterms:W3CDTF">{created}</dcterms:modified>
</cp:coreProperties>"""
_APP = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>Microsoft Excel</Application></Properties>"""


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def xlsx_bytes(header: list[str], columns: list[pa.Array], sheet: str = "Sheet1", created: str = "2000-01-01T00:00:00Z",
               creator: str = "synth") -> tuple[bytes, int]:
    """One sheet, every cell an inline string. ``created`` comes from the data (the period), so the
    bytes depend on nothing but the data."""
    n = len(columns[0]) if columns else 0
    rownum = pa.array(range(2, n + 2)).cast(pa.string())
    cells = []
    for j, col in enumerate(columns):
        letter = _col_letter(j)
        val = pc.fill_null(col.cast(pa.string()), "")
        cells.append(pc.binary_join_element_wise(
            f'<c r="{letter}', rownum, '" t="inlineStr"><is><t>', val, "</t></is></c>", ""))
    head = "".join(f'<c r="{_col_letter(j)}1" t="inlineStr"><is><t>{escape(h)}</t></is></c>'
                   for j, h in enumerate(header))
    if n:
        rows = pc.binary_join_element_wise('<row r="', rownum, '">', *cells, "</row>", "")
        body = "".join(rows.to_pylist())
    else:
        body = ""
    last = f"{_col_letter(len(header) - 1)}{n + 1}"
    sheet_xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                 '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                 f'<dimension ref="A1:{last}"/><sheetData><row r="1">{head}</row>{body}</sheetData></worksheet>')
    parts = [
        ("[Content_Types].xml", _CONTENT_TYPES),
        ("_rels/.rels", _RELS),
        ("docProps/app.xml", _APP),
        ("docProps/core.xml", _CORE.format(creator=escape(creator), created=created)),
        ("xl/workbook.xml", _WORKBOOK.format(sheet=escape(sheet))),
        ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
        ("xl/styles.xml", _STYLES),
        ("xl/worksheets/sheet1.xml", sheet_xml),
    ]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for name, text in parts:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            z.writestr(info, text.encode("utf-8"))
    return buf.getvalue(), n


# --- delivery folders ----------------------------------------------------------------------------

def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def write_manifest(folder: Path, manifest: dict) -> None:
    """Written last, and atomically (temp file + rename): a reader sees a whole manifest or none."""
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    tmp = folder / ".manifest.json.tmp"
    with open(tmp, "wb") as f:
        f.write(text.encode("utf-8"))
    os.replace(tmp, folder / "manifest.json")
