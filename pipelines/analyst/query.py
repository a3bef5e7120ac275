"""Reading the analyst database: ``lowincome query`` and the read-only connection it uses.

Analysts' SQL runs on the file opened read-only with file system access disabled and the
configuration locked: no writes, no ``ATTACH`` of other files (such as the restricted warehouse),
no ``COPY … TO``, no ``read_csv`` of arbitrary files.
"""

from __future__ import annotations

import csv as csv_module
import datetime as dt
import decimal
import json
import sys
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.config import Settings
from pipelines.dates import TZ
from pipelines.spreadsheet import safe_text

# Values of typed (non-text) columns: never a formula, written as plain text without neutralising.
_TYPED = (bool, int, float, decimal.Decimal, dt.date, dt.datetime)


def connect_analyst(path: Path, settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """Open the analyst database read-only with no file system access beyond it (no ATTACH of
    other files, no COPY TO, no reading files), configuration locked."""
    config = {"enable_external_access": False}
    if settings is not None:
        config.update(threads=settings.duckdb_threads, memory_limit=settings.duckdb_memory_limit)
    con = duckdb.connect(str(path), read_only=True, config=config)
    con.execute("set enable_progress_bar = false")  # it would print into --csv output
    con.execute("set lock_configuration = true")
    return con


def cell_text(v) -> str:
    """A value as the query output and the data dictionary's examples show it."""
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".") if v == v else "NaN"
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return ", ".join(cell_text(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


def csv_cell(v) -> str:
    """A value as a ``--csv`` cell: text neutralised for spreadsheets (:func:`safe_text`); the text
    of a number, date or boolean as it is (it comes from a typed column: a negative amount stays a
    number)."""
    text = cell_text(v)
    return text if isinstance(v, _TYPED) else safe_text(text)


def run_query(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple]]:
    """Column names and rows of the last statement of ``sql``.

    Rows come through Arrow: DuckDB's own Python conversion of ``timestamptz`` needs pytz,
    which is not a dependency; time stamps are shown in China time (+08:00).
    """
    cur = con.execute(sql)
    if cur.description is None:
        return [], []
    table = cur.arrow().read_all()
    columns = []
    for i, f in enumerate(table.schema):
        col = table.column(i)
        if pa.types.is_timestamp(f.type) and f.type.tz:
            naive = col.cast(pa.timestamp(f.type.unit)).to_pylist()
            columns.append([None if v is None else v.replace(tzinfo=dt.timezone.utc).astimezone(TZ) for v in naive])
        else:
            columns.append(col.to_pylist())
    return list(table.schema.names), list(zip(*columns)) if columns else []


def query_cli(settings: Settings, sql: str, csv: bool = False, database: Path | None = None,
              out=None, err=None, max_rows: int = 1000) -> int:
    """``lowincome query``: run SQL on the analyst database (read-only) and print the result.

    Prints a table (rich) or, with ``csv``, CSV. Returns 0, or 1 on an SQL error (message on
    stderr), 2 when the database does not exist.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    path = Path(database or settings.analyst_db)
    if not path.exists():
        print(f"lowincome query: analyst database {path} not found — it is built at the end of each night "
              f"(`lowincome run`), or pass --database", file=err)
        return 2
    try:
        con = connect_analyst(path, settings)
    except duckdb.Error as e:
        print(f"lowincome query: cannot open {path} read-only: {e}", file=err)
        return 2
    try:
        columns, rows = run_query(con, sql)
    except duckdb.Error as e:
        msg = str(e).strip()
        hint = ""
        if "read-only" in msg or "read only" in msg:
            hint = "\n  the analyst database is read-only: it is rebuilt every night from the warehouse"
        elif "file system operations are disabled" in msg:
            hint = "\n  queries may only read the analyst database (no files, no ATTACH, no COPY TO)"
        print(f"lowincome query: error: {msg}{hint}", file=err)
        return 1
    finally:
        con.close()
    if csv:
        w = csv_module.writer(out, lineterminator="\n")
        if columns:
            w.writerow([safe_text(c) for c in columns])
        for r in rows:
            w.writerow([csv_cell(v) for v in r])
        return 0
    if not columns:
        print("OK (no result set)", file=out)
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False, header_style="bold")
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows[:max_rows]:
        table.add_row(*(cell_text(v) for v in r))
    width = None if getattr(out, "isatty", lambda: False)() else max(120, min(240, 16 * len(columns)))
    console = Console(file=out, width=width, soft_wrap=False, highlight=False)
    console.print(table)
    more = f" (first {max_rows} shown; use --csv for all)" if len(rows) > max_rows else ""
    console.print(f"{len(rows)} row(s){more}")
    return 0
