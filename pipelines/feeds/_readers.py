"""File readers for the feeds (CSV / Parquet / XLSX / JSON lines): every column as delivered, as a
string, with ``_file`` and ``_row`` lineage. A file that cannot be read as documented raises
:class:`~pipelines.feeds._base.FeedFormatError` naming file, row and field.

Every reader takes the :class:`~pipelines.feeds._base.Layout` the delivery's period calls for (a
plain tuple of column names is one layout). Columns are matched by name (order does not matter):
a missing, renamed or duplicated column, or a column of another layout of the feed, raises; a
column no layout announces is ignored and named in the table's schema metadata
(:func:`ignored_columns`), so the ingest records a warning naming it."""

from __future__ import annotations

import collections
import csv
import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.feeds._base import FeedFormatError, Layout
from pipelines.redact import Echo

# Schema metadata key: JSON list of the columns (as the department wrote them) a reader ignored.
IGNORED_KEY = b"lowincome.ignored_columns"
MAX_LISTED = 10  # column names an error message lists (a header may have thousands)
echo = Echo()    # a header or value quoted in a message: short (pipelines/redact.py)
short = Echo(limit=240)  # a library's error message (it may quote a whole damaged line)

# --- readers -------------------------------------------------------------------------------------

def _constant_column(value: str, n: int) -> pa.Array:
    return pa.array([value], pa.string()).take(pa.array(np.zeros(n, dtype=np.int32)))


# C0 control characters other than tab, LF and CR: no department system exports them as text; a NUL
# or similar in a cell means a damaged file, and would break the XLSX extracts downstream.
_CONTROL_RE = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]"


def reject_control_characters(table: pa.Table, file: str) -> None:
    """Raise :class:`FeedFormatError` naming row and column of the first value holding a NUL (or
    another C0 control character except tab/LF/CR). Fast path: a column whose bytes are all >= 0x20
    (one vectorised ``min`` over the data buffer) is skipped without a regex."""
    for name in table.column_names:
        col = table.column(name)
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            continue
        suspicious = False
        for chunk in col.chunks:
            buf = chunk.buffers()[2] if len(chunk) else None
            if buf is not None and buf.size and int(np.frombuffer(buf, dtype=np.uint8).min()) < 0x20:
                suspicious = True
                break
        if not suspicious:
            continue
        mask = pc.fill_null(pc.match_substring_regex(col, _CONTROL_RE), False)
        if pc.any(mask).as_py():
            i = pc.index(mask, True).as_py()
            raise FeedFormatError(file, f"column {echo(name)!r}, row {i + 1}: value contains a control character "
                                        f"(e.g. NUL); the file is damaged or not text", field=name, row=i + 1,
                                  check="control_character")


def with_lineage(table: pa.Table, path: Path, ignored: list[str] | tuple[str, ...] = ()) -> pa.Table:
    """Append ``_file`` and ``_row`` (1-based data row number), after rejecting control characters.
    ``ignored``: unannounced columns the reader left out, kept in the schema metadata."""
    reject_control_characters(table, Path(path).name)
    n = table.num_rows
    table = table.append_column("_file", _constant_column(Path(path).name, n))
    table = table.append_column("_row", pa.array(np.arange(1, n + 1, dtype=np.int64)))
    if ignored:
        import json

        table = table.replace_schema_metadata({IGNORED_KEY: json.dumps(list(ignored), ensure_ascii=False)})
    return table


def ignored_columns(table: pa.Table) -> list[str]:
    """The unannounced columns a reader ignored in this file (as the department wrote them)."""
    import json

    meta = table.schema.metadata or {}
    return json.loads(meta[IGNORED_KEY]) if IGNORED_KEY in meta else []


def conform(table: pa.Table, raw_columns: tuple[str, ...]) -> pa.Table:
    """A reader's table in the part's raw shape: every raw column in order (those the file's layout
    does not have as null strings), then ``_file``, ``_row``; the schema metadata is kept."""
    meta = table.schema.metadata
    n = table.num_rows
    cols = {c: (table.column(c) if c in table.column_names else pa.nulls(n, pa.string())) for c in raw_columns}
    out = pa.table({**cols, "_file": table.column("_file"), "_row": table.column("_row")})
    return out.replace_schema_metadata(meta) if meta else out


def as_layout(layout: Layout | tuple[str, ...] | list[str]) -> Layout:
    return layout if isinstance(layout, Layout) else Layout("v1", None, tuple(layout))


def check_columns(file: str, found: list[str], layout: Layout | tuple[str, ...],
                  shown: dict[str, str] | None = None) -> list[str]:
    """Check a file's columns (English names, as mapped from the delivered header) against its
    layout; returns the unannounced columns to ignore, in the department's words.

    Raises :class:`FeedFormatError` naming them for a duplicated column, a column of another
    layout of the feed (``check = "layout"``), or a missing or renamed one (``columns``; a missing
    column the layout introduced says so). ``shown`` maps English names back to the header the
    department writes, so the message uses the department's own words (e.g. ``缴费基数``).
    """
    layout = as_layout(layout)
    shown = shown or {}
    name = lambda c: echo(shown.get(c, c))  # noqa: E731  (a header may be anything: quoted short)

    def listed(columns: list[str]) -> str:
        more = f" (+{len(columns) - MAX_LISTED} more)" if len(columns) > MAX_LISTED else ""
        return ", ".join(repr(name(c)) for c in columns[:MAX_LISTED]) + more

    counts = collections.Counter(found)
    dupes = sorted(c for c, n in counts.items() if n > 1)
    if dupes:
        raise FeedFormatError(file, f"duplicate column(s) {listed(dupes)}", field=name(dupes[0]), check="columns")
    expected = layout.columns
    allowed = set(expected) | set(layout.optional)
    other = dict(layout.elsewhere)
    foreign = [c for c in found if c in other and c not in allowed]
    if foreign:
        where = sorted({other[c] for c in foreign})
        raise FeedFormatError(
            file, f"column(s) {listed(foreign)} belong to {' / '.join(where)}; "
                  f"a delivery for this period uses {layout.label}: {[name(c) for c in expected]}",
            field=name(foreign[0]), check="layout")
    missing = [c for c in expected if c not in counts]
    extra = [c for c in found if c not in allowed]
    if not missing:
        return [name(c) for c in extra]
    parts = ["missing column(s) " + listed(missing)]
    introduced = [c for c in missing if c in layout.added]
    if introduced:
        parts[0] += f" ({layout.label} adds {listed(introduced)})"
    if extra:
        parts.append("unexpected column(s) " + listed(extra))
        parts.append("(renamed?)")
    check = "layout" if introduced and len(introduced) == len(missing) and not extra else "columns"
    raise FeedFormatError(file, "; ".join(parts) + f"; expected {[name(c) for c in expected]}",
                          field=name(missing[0]), check=check)


def _sniff_header(path: Path, encodings: tuple[str, ...], delimiter: str) -> tuple[list[str], str]:
    """Decode the header line with the first encoding that works; returns (names, encoding)."""
    with open(path, "rb") as f:
        first = f.readline(1 << 20)
    if not first.strip():
        raise FeedFormatError(path.name, "empty file (no header line)", check="format")
    last_error = None
    for enc in encodings:
        try:
            line = first.decode(enc)
        except UnicodeDecodeError as e:
            last_error = e
            continue
        line = line.lstrip("\ufeff")
        try:
            names = next(csv.reader(io.StringIO(line), delimiter=delimiter))
        except (csv.Error, StopIteration) as e:  # e.g. a bare carriage return inside the header
            raise FeedFormatError(path.name, f"the header line cannot be read as {enc} CSV: {short(e)}",
                                  check="format") from None
        return [n.strip() for n in names], enc
    raise FeedFormatError(path.name, f"header is not {' or '.join(encodings)} text: {short(last_error)}",
                          check="encoding")


def _locate_csv_problem(path: Path, encoding: str, delimiter: str,
                        names: list[str]) -> tuple[int | None, str | None, str | None]:
    """After Arrow failed to read a CSV: the first data row (1-based, blank lines skipped, as
    Arrow counts) that is not ``encoding`` text or has the wrong number of fields, with the
    column concerned. Only runs on the failure path; (None, None, None) if nothing is found."""
    width = len(names)
    try:
        with open(path, encoding="utf-8" if encoding == "utf-8-sig" else encoding, errors="replace",
                  newline="") as f:  # streamed: the file may be large
            reader = csv.reader(f, delimiter=delimiter)
            next(reader, None)  # header
            row = 0
            for rec in reader:
                if not rec:
                    continue
                row += 1
                for j, v in enumerate(rec):
                    if "\ufffd" in v:
                        return row, names[j] if j < width else None, f"not {encoding} text"
                if len(rec) != width:
                    field = names[len(rec)] if len(rec) < width else None
                    return row, field, f"{len(rec)} fields, expected {width}"
    except (OSError, csv.Error, LookupError):
        pass
    return None, None, None


def read_csv_strings(path: Path, layout: Layout | tuple[str, ...], *, encodings: tuple[str, ...] = ("utf-8",),
                     header_map: dict[str, str] | None = None, delimiter: str = ",",
                     newlines_in_values: bool = False) -> pa.Table:
    """Read a delimited text file with every column as a string (empty -> null).

    ``encodings`` are tried in order on the header; the first that decodes *and* yields the
    layout's columns wins (a department that switched GB18030 -> UTF-8 still loads). A UTF-8 BOM
    is skipped. ``header_map`` renames delivered headers (e.g. Chinese) to English names.
    """
    import pyarrow.csv as pcsv

    path = Path(path)
    layout = as_layout(layout)
    expected = layout.columns
    header_map = header_map or {}
    reverse = {v: k for k, v in header_map.items()}
    chosen = None
    names: list[str] = []
    for enc in encodings:
        try:
            names, chosen_try = _sniff_header(path, (enc,), delimiter)
        except FeedFormatError:
            continue
        if set(expected) <= {header_map.get(n, n) for n in names}:
            chosen = chosen_try
            break
    if chosen is None:
        # No encoding gives the expected header: report what the first decodable one shows.
        names, chosen = _sniff_header(path, encodings, delimiter)
    mapped_names = [header_map.get(n, n) for n in names]
    ignored = check_columns(path.name, mapped_names, layout, reverse)
    keep = [c for c in mapped_names if c in set(expected) | set(layout.optional)]

    encoding = "utf-8" if chosen in ("utf-8", "utf-8-sig") else chosen
    read_options = pcsv.ReadOptions(encoding=encoding, column_names=mapped_names, skip_rows=1,
                                    block_size=16 << 20)
    parse_options = pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=newlines_in_values)
    convert_options = pcsv.ConvertOptions(
        column_types={c: pa.string() for c in keep}, include_columns=keep,
        strings_can_be_null=True, null_values=[""], quoted_strings_can_be_null=True,
    )
    try:
        table = pcsv.read_csv(path, read_options=read_options, parse_options=parse_options,
                              convert_options=convert_options)
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        row, field, what = _locate_csv_problem(path, chosen, delimiter, mapped_names)
        where = f" (row {row}, column {reverse.get(field, field)!r}: {what})" if row else ""
        raise FeedFormatError(path.name, f"cannot be read as {chosen} CSV{where}: {short(e)}", field=field, row=row,
                              check="parse") from None
    return with_lineage(table.select(keep), path, ignored)


def _values_to_strings(values: list) -> pa.Array:
    """Spreadsheet cells (str / float / int / bool / date / datetime) -> strings, '' -> null."""
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = None
    if arr is not None:
        t = arr.type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            pass
        elif pa.types.is_null(t):
            arr = arr.cast(pa.string())
        elif pa.types.is_date(t):
            arr = pc.strftime(arr.cast(pa.timestamp("s")), "%Y-%m-%d")
        elif pa.types.is_timestamp(t):
            # A date-formatted cell comes back as midnight; keep only the date then.
            midnight = pc.all(pc.equal(pc.cast(pc.cast(arr, pa.date32()), t), arr)).as_py()
            arr = pc.strftime(arr, "%Y-%m-%d" if midnight in (True, None) else "%Y-%m-%d %H:%M:%S")
        elif pa.types.is_floating(t):
            integral = pc.all(pc.equal(pc.floor(arr), arr)).as_py()
            arr = arr.cast(pa.int64()).cast(pa.string()) if integral in (True, None) else arr.cast(pa.string())
        else:
            arr = arr.cast(pa.string())
    else:
        # Mixed cell types in one column (e.g. dates and blanks): the rare slow path.
        def one(v):
            if v is None or v == "":
                return None
            if hasattr(v, "isoformat"):
                s = v.isoformat()
                return s[:10] if s.endswith("T00:00:00") else s
            if isinstance(v, float) and v.is_integer():
                return str(int(v))
            return str(v)

        arr = pa.array([one(v) for v in values], pa.string())
    arr = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def read_xlsx_strings(path: Path, layout: Layout | tuple[str, ...], header_map: dict[str, str]) -> pa.Table:
    """First sheet of an .xlsx with a header row; cells as strings (python-calamine, Rust)."""
    from python_calamine import CalamineWorkbook

    path = Path(path)
    layout = as_layout(layout)
    reverse = {v: k for k, v in header_map.items()}
    try:
        wb = CalamineWorkbook.from_path(str(path))
        rows = wb.get_sheet_by_index(0).to_python(skip_empty_area=True)
    except Exception as e:  # calamine raises its own error types for zip/xml damage
        raise FeedFormatError(path.name, f"cannot be read as an .xlsx workbook: {short(e)}", check="parse") from None
    if not rows:
        raise FeedFormatError(path.name, "the sheet is empty (no header row)", check="format")
    header = [str(h).strip() for h in rows[0]]
    while header and header[-1] == "":
        header.pop()
    names = [header_map.get(h, h) for h in header]
    ignored = check_columns(path.name, names, layout, reverse)
    allowed = set(layout.columns) | set(layout.optional)
    keep = [c for c in names if c in allowed]
    data = rows[1:]
    # Drop trailing blank rows (formatting left in the sheet).
    while data and all(v in ("", None) for v in data[-1]):
        data.pop()
    width = len(header)
    # calamine returns a rectangular area, so zip(*) transposes it at C speed; pad only ragged rows
    if data and set(map(len, data)) != {width}:
        data = [r[:width] + [""] * (width - len(r)) for r in data]
    columns = list(zip(*data)) if data else [()] * width
    arrays = {name: _values_to_strings(list(col)) for name, col in zip(names, columns) if name in allowed}
    table = pa.table({c: arrays[c] for c in keep}) if data else pa.table(
        {c: pa.array([], pa.string()) for c in keep})
    return with_lineage(table, path, ignored)


def read_jsonl_strings(path: Path, layout: Layout | tuple[str, ...]) -> pa.Table:
    """JSON lines, one object per line; every field as the text it was delivered as.

    DuckDB's reader with explicit VARCHAR columns keeps ``"2026-01-05"`` as written (Arrow's JSON
    reader would infer a timestamp) and renders JSON numbers with their digits. A first pass over
    the objects' keys detects missing or unexpected fields (a key counts as present if any object
    has it; an object without it gives null)."""
    import duckdb

    path = Path(path)
    layout = as_layout(layout)
    expected = layout.columns + layout.optional
    con = duckdb.connect(":memory:", config={"threads": 1, "preserve_insertion_order": True})
    try:
        src = str(path)  # a prepared parameter: the (manifest-given) file name never becomes SQL text
        try:
            keys = [r[0] for r in con.execute(
                "select distinct unnest(json_keys(json)) from read_json_objects(?, "
                "format='newline_delimited')", [src]).fetchall()]
            columns = ", ".join(f"'{c}': 'VARCHAR'" for c in expected)  # code constants
            table = con.execute(
                f"select * from read_json(?, format='newline_delimited', columns={{{columns}}})", [src]).arrow()
        except duckdb.Error as e:
            raise FeedFormatError(path.name, f"not valid JSON lines: {short(e)}", check="parse") from None
        table = table.read_all() if hasattr(table, "read_all") else table
    finally:
        con.close()
    ignored: list[str] = []
    if table.num_rows:
        present = set(keys)
        ignored = check_columns(path.name, [k for k in expected if k in present] +
                                sorted(k for k in present if k not in expected), layout)
    return with_lineage(table.select(list(expected)), path, ignored)


def _first_invalid_utf8(col) -> int | None:
    """0-based index of the first value that is not valid UTF-8 (error path only)."""
    for i, v in enumerate(col.cast(pa.binary()).to_pylist()):
        if v is not None:
            try:
                v.decode("utf-8")
            except UnicodeDecodeError:
                return i
    return None


def read_parquet_strings(path: Path, layout: Layout | tuple[str, ...]) -> pa.Table:
    """Parquet as delivered, every column rendered as a string (dates ISO, booleans true/false).

    A damaged file can decode to anything: column names or string values that are not UTF-8
    (Parquet readers do not check; DuckDB must never see them), types no cast handles. All of it
    is a :class:`FeedFormatError` naming the column (and row), never an exception of the night."""
    import pyarrow.parquet as pq

    path = Path(path)
    layout = as_layout(layout)
    errors = (pa.ArrowException, OSError, UnicodeDecodeError, ValueError, MemoryError)
    try:
        names = pq.read_schema(path).names
    except errors as e:
        raise FeedFormatError(path.name, f"cannot be read as Parquet: {short(e)}", check="parse") from None
    ignored = check_columns(path.name, names, layout)  # missing, renamed, duplicated or foreign columns
    allowed = set(layout.columns) | set(layout.optional)
    expected = [c for c in names if c in allowed]
    try:
        table = pq.read_table(path, columns=list(expected))
    except errors as e:
        raise FeedFormatError(path.name, f"cannot be read as Parquet: {short(e)}", check="parse") from None
    cols = {}
    for c in expected:
        col = table.column(c)
        try:
            if pa.types.is_string(col.type):
                out = col
            elif pa.types.is_large_string(col.type) or pa.types.is_dictionary(col.type):
                out = col.cast(pa.string())
            elif pa.types.is_timestamp(col.type):
                out = pc.strftime(col, "%Y-%m-%d %H:%M:%S")
            elif pa.types.is_date(col.type):
                out = pc.strftime(col.cast(pa.timestamp("s")), "%Y-%m-%d")
            else:
                out = col.cast(pa.string())
            out.validate(full=True)  # string contents must be valid UTF-8
        except (pa.ArrowException, UnicodeDecodeError, ValueError, MemoryError) as e:
            row = None
            if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                try:
                    i = _first_invalid_utf8(col)
                    row = None if i is None else i + 1
                except (pa.ArrowException, ValueError):
                    pass
            where = f", row {row}" if row else ""
            raise FeedFormatError(path.name, f"column {c!r}{where} cannot be read as text ({col.type}): {short(e)}",
                                  field=c, row=row, check="parse") from None
        cols[c] = out
    return with_lineage(pa.table(cols) if cols else pa.table({}), path, ignored)
