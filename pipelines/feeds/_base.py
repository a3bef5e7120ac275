"""The feed contract: :class:`FeedSpec`, typed staging fields and the SQL snippets that type raw
strings. Standard library only, so the registry (``pipelines.feeds``) imports cheaply -- the DAG
files read it at parse time. The file readers are in :mod:`pipelines.feeds._readers`.

A reader returns the file *as delivered*: every column a string, English column names, plus
``_file`` (file name inside the delivery folder) and ``_row`` (1-based data row, header excluded).
Typing happens afterwards in DuckDB (``FeedSpec.staging_sql`` over the relation ``raw_batch``),
so a value that does not parse is a reportable error with file, row and field, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import pyarrow as pa

# Columns every raw and staging table carries besides the feed's own.
LINEAGE_COLUMNS = ("delivery_id", "period", "_file", "_row")
# Per cadence: how many months the last loaded period may lag before the feed is stale.
STALE_AFTER_MONTHS = {"monthly": 1, "quarterly": 4, "term": 7, "daily": None, "reference": None}


class FeedFormatError(ValueError):
    """A file cannot be read as the feed's documented format (wrong columns, bad encoding, ...).

    Carries the file, and when known the column (field) and row, so the rejection report can
    tell the department exactly what to fix.
    """

    def __init__(self, file: str, message: str, field: str | None = None, row: int | None = None,
                 check: str = "format"):
        super().__init__(f"{file}: {message}")
        self.file = file
        self.field = field
        self.row = row
        self.check = check
        self.detail = message

    def record(self) -> dict:
        return {"file": self.file, "row": self.row, "field": self.field, "check": self.check,
                "message": self.detail}


@dataclass(frozen=True)
class Field:
    """One typed staging column.

    ``expr`` is a DuckDB expression over the raw columns of ``raw_batch``. ``source`` names the raw
    column whose non-empty value must yield a non-null typed value; otherwise that row is a parse
    error for this field. ``None`` = no parse check (derived or free text).
    """

    name: str
    type: str
    expr: str
    source: str | None = None


@dataclass(frozen=True)
class RefCheck:
    """A value that must point at a key in this batch or in an already loaded staging table.

    Computed before GX into the boolean column ``name`` (null values of ``column`` pass).
    """

    name: str            # boolean column the suite expects to be true, e.g. "_reversal_found"
    column: str          # column holding the reference, e.g. "reversal_of"
    batch_column: str    # key column in the same batch, e.g. "settle_id"
    table: str           # loaded table, e.g. "staging.nhsa_claims"
    table_column: str    # key column there


@dataclass(frozen=True)
class FeedSpec:
    """A department feed: how to read it, how to type it, how it partitions (see architecture.md)."""

    feed_id: str
    department: str
    cadence: str              # monthly | quarterly | term | daily | reference
    kind: str                 # snapshot | events
    partition: str            # period | delivery
    read_raw: Callable[[Path], pa.Table]
    staging_sql: str = ""     # filled from ``fields`` when empty
    # --- additions to the architecture contract ---------------------------------------------
    title: str = ""                          # Chinese name (staff-facing reports), e.g. 就业参保
    file_format: str = "csv"                 # csv | parquet | xlsx | jsonl
    raw_columns: tuple[str, ...] = ()        # English raw column names, as delivered order
    fields: tuple[Field, ...] = ()           # typed staging columns (in order)
    months_covered: int = 1                  # months one delivery counts for in ops.completeness
    id_columns: tuple[str, ...] = ("person_id",)   # 身份证号 columns checked with GB 11643
    region_column: str | None = None         # checked against the ref_regions version in force
    ref_checks: tuple[RefCheck, ...] = ()
    # Boolean check columns computed in DuckDB over ``staged`` before GX sees the batch:
    # (column name, SQL expression). The suite expects them to be true.
    check_sql: tuple[tuple[str, str], ...] = ()
    # Raw column -> the header the department writes, where they differ (Chinese headers).
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.staging_sql and self.fields:
            object.__setattr__(self, "staging_sql", staging_select(self.fields))

    @property
    def staging_columns(self) -> list[str]:
        return [f.name for f in self.fields] + list(LINEAGE_COLUMNS)

    def header_of(self, raw_column: str) -> str:
        return dict(self.headers).get(raw_column, raw_column)

    @property
    def is_reference(self) -> bool:
        return self.cadence == "reference"

    @property
    def stale_after_months(self) -> int | None:
        """Months the last loaded period may lag the month before the night before the feed counts
        as stale (None: never by months -- daily feeds go stale by days, reference data never)."""
        return STALE_AFTER_MONTHS[self.cadence]


# --- SQL snippets (DuckDB) ------------------------------------------------------------------------

def q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def text(col: str) -> str:
    """Trimmed text; empty means missing."""
    return f"nullif(trim({q(col)}), '')"


def ident(col: str) -> str:
    """An id: trimmed and upper-cased (some systems send the check character as lowercase ``x``)."""
    return f"nullif(upper(trim({q(col)})), '')"


def iso_date(col: str) -> str:
    return f"try_cast({text(col)} as date)"


def ymd_date(col: str) -> str:
    """``YYYYMMDD`` string -> date."""
    return f"cast(try_strptime({text(col)}, '%Y%m%d') as date)"


def yyyymm_month(col: str) -> str:
    """``YYYYMM`` -> ``YYYY-MM``."""
    return f"strftime(try_strptime({text(col)}, '%Y%m'), '%Y-%m')"


def money(col: str, precision: str = "decimal(14,2)") -> str:
    return f"try_cast({text(col)} as {precision})"


def fen_to_yuan(col: str) -> str:
    """Integer fen -> exact yuan (decimal arithmetic, no float rounding)."""
    return f"try_cast(try_cast({text(col)} as decimal(18,0)) * 0.01 as decimal(14,2))"


def integer(col: str) -> str:
    return f"try_cast({text(col)} as integer)"


def boolean(col: str) -> str:
    """``true``/``false``, ``True``/``False``, ``1``/``0`` (whatever the export wrote)."""
    return (f"case lower({text(col)}) when 'true' then true when '1' then true "
            f"when 'false' then false when '0' then false end")


def mapped(col: str, mapping: dict[str, str]) -> str:
    """Translate department codes; an unknown value passes through unchanged so the suite's
    enumeration check reports it (with row and value) instead of it silently becoming null."""
    whens = " ".join(f"when '{k}' then '{v}'" for k, v in mapping.items())
    return f"case {text(col)} {whens} else {text(col)} end"


def staging_select(fields: tuple[Field, ...]) -> str:
    cols = ",\n    ".join(f"cast({f.expr} as {f.type}) as {q(f.name)}" for f in fields)
    lineage = ", ".join(q(c) for c in LINEAGE_COLUMNS)
    return f"select\n    {cols},\n    {lineage}\nfrom raw_batch"
