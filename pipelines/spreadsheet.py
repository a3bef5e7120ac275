"""Cells a spreadsheet will not run: the one place every CSV and XLSX the project writes goes through.

Excel, WPS and LibreOffice treat a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (``=HYPERLINK(...)``, ``-2+3+cmd|' /C calc'!A0``), and they forgive what comes before the
sign: leading spaces, a tab or a line break, a byte-order mark or zero-width character pasted in
with the text, a no-break or ideographic space; WPS also reads the full-width signs of a Chinese
input method (``＝`` ``＋`` ``－`` ``＠``) as the ASCII ones. :func:`safe_text` gives any such text
a leading apostrophe, which every spreadsheet shows as text and does not display. The extracts
(:mod:`pipelines.dispatch`), the feedback reject reports (:mod:`pipelines.feedback`) and
``lowincome query --csv`` (:mod:`pipelines.analyst.query`) write through :func:`csv_bytes` /
:func:`write_csv` or call :func:`safe_text` on every cell (every text cell of a workbook).

What a neutralised cell looks like when it comes back (a department returns the feedback template
it was sent): the same text behind one apostrophe. The feedback intake strips a leading apostrophe
from the case id; no other field it reads can start with a formula sign in a valid answer.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import BinaryIO, Iterable

APOSTROPHE = "'"
# Signs a spreadsheet may take as the start of a formula, as written and in the forms an input
# method or a copy from a web page produces: the full-width (＝ ＋ － ＠) and small (﹦ ﹢ ﹣) forms
# normalise to them under NFKC; the minus sign U+2212 does not, so it is listed.
FORMULA_SIGNS = frozenset("=+-@")
_OTHER_SIGNS = frozenset("\u2212")
# A leading tab or carriage return starts a formula-like cell in some importers on its own.
_ALWAYS = ("\t", "\r")


def _ignorable(ch: str) -> bool:
    """Characters a spreadsheet skips (or shows as nothing) before a formula sign: any whitespace
    (NBSP, ideographic space, line breaks, ...), format characters (BOM, zero-width space and
    joiners, direction marks, soft hyphen) and other control characters."""
    return ch.isspace() or unicodedata.category(ch) in ("Cf", "Cc")


def formula_lead(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula: its first visible character is a
    formula sign (in any of its forms), or it starts with a tab or carriage return."""
    if not text:
        return False
    if text.startswith(_ALWAYS):
        return True
    for ch in text:
        if _ignorable(ch):
            continue
        return ch in FORMULA_SIGNS or ch in _OTHER_SIGNS or unicodedata.normalize("NFKC", ch) in FORMULA_SIGNS
    return False


def safe_text(value) -> object:
    """``value`` as a spreadsheet cell that is never a formula: text with a formula lead
    (:func:`formula_lead`) gets a leading apostrophe; anything else (other text, numbers, dates,
    None) is returned unchanged."""
    if isinstance(value, str) and formula_lead(value):
        return APOSTROPHE + value
    return value


def safe_row(row: Iterable) -> list:
    return [safe_text(v) for v in row]


class SafeWriter:
    """A ``csv.writer`` whose every text cell goes through :func:`safe_text`."""

    def __init__(self, out, lineterminator: str = "\r\n"):
        self._writer = csv.writer(out, lineterminator=lineterminator)

    def writerow(self, row: Iterable) -> None:
        self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


def write_csv(out: BinaryIO, header: list, rows: Iterable[Iterable], *, bom: bool = True,
              lineterminator: str = "\r\n") -> None:
    """Stream a CSV file as Excel opens it without mojibake (UTF-8 with BOM, CRLF) into the binary
    file ``out``, every cell neutralised, row by row (a large report is never one string)."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        if bom:
            text.write("\ufeff")
        writer = SafeWriter(text, lineterminator=lineterminator)
        writer.writerow(header)
        writer.writerows(rows)
        text.flush()
    finally:
        text.detach()  # ``out`` stays open: its owner closes (and e.g. fsyncs) it


def csv_bytes(header: list, rows: Iterable[Iterable], *, bom: bool = True, lineterminator: str = "\r\n") -> bytes:
    """:func:`write_csv` into bytes."""
    buf = io.BytesIO()
    write_csv(buf, header, rows, bom=bom, lineterminator=lineterminator)
    return buf.getvalue()
