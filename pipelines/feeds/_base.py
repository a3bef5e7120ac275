"""The feed contract: :class:`FeedSpec`, its parts and layouts, typed staging fields and the SQL
snippets that type raw strings. Standard library only, so the registry (``pipelines.feeds``)
imports cheaply -- the DAG files read it at parse time. The file readers are in
:mod:`pipelines.feeds._readers`.

A feed has one or more **parts**: a kind of file in the delivery folder (chosen by its file name),
read by its own reader into its own raw and staging table. Most feeds have one part, described by
the :class:`FeedSpec` itself, whose table is named after the feed; a feed whose delivery holds
several kinds of file lists the others in ``FeedSpec.other_parts`` (:class:`Part`). The parts of a
delivery are loaded, replaced and rejected together.

A part has one or more **layouts** (:class:`Layout`): the columns its files carry, chosen by the
delivery's period (a department may add columns from a stated period). A reader is called as
``read_raw(path, layout)`` and returns the file *as delivered*: every column a string, English
column names, plus ``_file`` (file name inside the delivery folder) and ``_row`` (1-based data row,
header excluded). :meth:`Part.read` picks the layout and pads the columns of the part's other
layouts with nulls, so a part's raw table has one shape whatever the layout. Typing happens
afterwards in DuckDB (``staging_sql`` over the relation ``raw_batch``), so a value that does not
parse is a reportable error with file, row and field, never a crash.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import pyarrow as pa

# Columns every raw and staging table carries besides the feed's own.
LINEAGE_COLUMNS = ("delivery_id", "period", "_file", "_row")
# Per cadence: how many months the last loaded period may lag before the feed is stale.
STALE_AFTER_MONTHS = {"monthly": 1, "quarterly": 4, "term": 7, "daily": None, "reference": None}
# The pseudo-feed of ops.completeness that says whether a term's loaded delivery is the mid-term one.
MIDTERM_SUFFIX = "_midterm"


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
class Layout:
    """The columns a file of one part carries, from a period on (an announced export change).

    ``columns`` must all be there; ``optional`` may be (absent = null). A column of another layout
    of the same part in a file rejects the delivery (``check = "layout"``: the department used the
    wrong layout for the period); a column no layout announces loads with a warning and is ignored.
    ``added`` and ``elsewhere`` are filled in by the part, for the messages.
    """

    name: str = "v1"
    since: str | None = None                      # first period of this layout (None: the feed's start)
    columns: tuple[str, ...] = ()                 # English raw column names
    optional: tuple[str, ...] = ()
    added: tuple[str, ...] = ()                   # columns this layout adds to the previous one
    elsewhere: tuple[tuple[str, str], ...] = ()   # (column, "layout v2 (from period 2026-07)") of other layouts

    @property
    def label(self) -> str:
        return f"layout {self.name}" + (f" (from period {self.since})" if self.since else "")


@dataclass(frozen=True)
class Part:
    """One kind of file of a feed and the raw/staging table it becomes (see the module docstring).

    ``file_pattern`` is a regular expression the whole file name must match (``None``: every file
    of the delivery). ``check_sql`` expressions may read the other parts of the same delivery as
    the relations ``part_<name>`` (cross-part checks, e.g. every member row's check exists).
    """

    name: str
    table: str
    read_raw: Callable[[Path, Layout], "pa.Table"]
    file_pattern: str | None = None
    file_hint: str = ""                       # how the department names the file, for messages
    title: str = ""
    raw_columns: tuple[str, ...] = ()         # English raw column names of every layout, in order
    fields: tuple[Field, ...] = ()
    staging_sql: str = ""                     # filled from ``fields`` when empty
    layouts: tuple[Layout, ...] = ()          # empty: one layout with every raw column
    headers: tuple[tuple[str, str], ...] = ()  # raw column -> the header the department writes
    id_columns: tuple[str, ...] = ("person_id",)
    region_column: str | None = None
    ref_checks: tuple[RefCheck, ...] = ()
    check_sql: tuple[tuple[str, str], ...] = ()
    feed_id: str = ""

    def __post_init__(self) -> None:
        if not self.staging_sql and self.fields:
            object.__setattr__(self, "staging_sql", staging_select(self.fields))
        object.__setattr__(self, "layouts", _resolve_layouts(self.layouts, self.raw_columns, self.header_of))

    @property
    def suite(self) -> str:
        """Name of the part's GX suite (``expectations/<suite>.json``): its staging table's name."""
        return self.table

    @property
    def staging_columns(self) -> list[str]:
        return [f.name for f in self.fields] + list(LINEAGE_COLUMNS)

    def header_of(self, raw_column: str) -> str:
        return dict(self.headers).get(raw_column, raw_column)

    def matches(self, file_name: str) -> bool:
        return self.file_pattern is None or re.fullmatch(self.file_pattern, file_name) is not None

    def layout_for(self, period: str | None) -> Layout:
        """The newest layout whose ``since`` is on or before ``period`` (the first one without a period)."""
        chosen = self.layouts[0]
        for layout in self.layouts[1:]:
            if period is not None and layout.since is not None and layout.since <= period:
                chosen = layout
        return chosen

    def read(self, path: Path, period: str | None) -> "pa.Table":
        """Read one file in the layout of ``period``: every raw column of the part (those of other
        layouts null), then ``_file``, ``_row``. Unannounced columns the reader ignored are in the
        schema metadata (:func:`pipelines.feeds._readers.ignored_columns`)."""
        from pipelines.feeds._readers import conform

        return conform(self.read_raw(Path(path), self.layout_for(period)), self.raw_columns)


def _resolve_layouts(layouts: tuple[Layout, ...], raw_columns: tuple[str, ...],
                     header_of: Callable[[str], str]) -> tuple[Layout, ...]:
    if not layouts:
        layouts = (Layout("v1", None, tuple(raw_columns)),)
    layouts = tuple(sorted(layouts, key=lambda lo: lo.since or ""))
    out = []
    for i, layout in enumerate(layouts):
        before = set(layouts[i - 1].columns) | set(layouts[i - 1].optional) if i else set()
        mine = set(layout.columns) | set(layout.optional)
        added = tuple(c for c in layout.columns if i and c not in before)
        elsewhere = []
        for other in layouts:
            if other is layout:
                continue
            for c in other.columns + other.optional:
                if c not in mine and c not in dict(elsewhere):
                    elsewhere.append((c, other.label))
        out.append(dataclasses.replace(layout, added=added, elsewhere=tuple(elsewhere)))
    return tuple(out)


@dataclass(frozen=True)
class FeedSpec:
    """A department feed: how to read it, how to type it, how it partitions (see architecture.md).

    The table-level fields (``read_raw`` .. ``headers``) describe the feed's first part, whose raw
    and staging tables are named after the feed; ``other_parts`` are the further kinds of file of a
    multi-file delivery. :attr:`parts` lists them all.
    """

    feed_id: str
    department: str
    cadence: str              # monthly | quarterly | term | daily | reference
    kind: str                 # snapshot | events
    partition: str            # period | delivery
    read_raw: Callable[[Path, Layout], pa.Table]   # the first part's reader: read_raw(path, layout)
    staging_sql: str = ""     # filled from ``fields`` when empty
    # --- additions to the architecture contract ---------------------------------------------
    title: str = ""                          # Chinese name (staff-facing reports), e.g. 就业参保
    file_format: str = "csv"                 # csv | parquet | xlsx | jsonl
    raw_columns: tuple[str, ...] = ()        # English raw column names (every layout), delivered order
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
    # --- catalog v2: parts, layouts, a first period, a change of cadence, two deliveries a term ----
    layouts: tuple[Layout, ...] = ()         # the first part's layouts (empty: one, every raw column)
    part_name: str = "data"                  # the first part's name
    file_pattern: str | None = None          # the first part's file names (None: every file)
    file_hint: str = ""
    other_parts: tuple[Part, ...] = ()
    since: str | None = None                 # first period (None: the province's first month)
    daily_since: str | None = None           # first period delivered daily and additively (see ingest)
    daily_closing_day: int | None = None     # a daily month M is complete once a delivery dated after
    #                                          this day of M+1 has loaded
    midterm_since: str | None = None         # first term (its period) delivered twice: start and mid-term
    midterm_after_days: int | None = None    # a delivery this many days after the term's first day is the mid-term one
    # The first part's staging date column that places a row in a month: a delivery whose rows are
    # dated mostly outside its declared period is rejected (the manifest's period is wrong). None:
    # the period is checked otherwise (a month or term column that must equal it) or not at all.
    period_column: str | None = None

    def __post_init__(self) -> None:
        if not self.staging_sql and self.fields:
            object.__setattr__(self, "staging_sql", staging_select(self.fields))

    # --- parts ------------------------------------------------------------------------------
    @property
    def parts(self) -> tuple[Part, ...]:
        """Every part of the feed, the first (described by this spec, table = feed_id) first."""
        first = Part(name=self.part_name, table=self.feed_id, read_raw=self.read_raw,
                     file_pattern=self.file_pattern, file_hint=self.file_hint, title=self.title,
                     raw_columns=self.raw_columns, fields=self.fields, staging_sql=self.staging_sql,
                     layouts=self.layouts, headers=self.headers, id_columns=self.id_columns,
                     region_column=self.region_column, ref_checks=self.ref_checks, check_sql=self.check_sql,
                     feed_id=self.feed_id)
        return (first,) + tuple(dataclasses.replace(p, feed_id=self.feed_id) for p in self.other_parts)

    @property
    def tables(self) -> tuple[str, ...]:
        """The raw/staging table names of the feed (one per part)."""
        return tuple(p.table for p in self.parts)

    def part(self, name: str) -> Part:
        return next(p for p in self.parts if p.name == name)

    @property
    def suite(self) -> str:
        """The GX suite of the first part (``expectations/<feed_id>.json``)."""
        return self.feed_id

    # --- the first part's table contract (single-part feeds) ----------------------------------
    @property
    def staging_columns(self) -> list[str]:
        return [f.name for f in self.fields] + list(LINEAGE_COLUMNS)

    def header_of(self, raw_column: str) -> str:
        return dict(self.headers).get(raw_column, raw_column)

    def layout_for(self, period: str | None) -> Layout:
        return self.parts[0].layout_for(period)

    def read(self, path: Path, period: str | None) -> "pa.Table":
        """Read one file of the first part in the layout of ``period`` (see :meth:`Part.read`)."""
        return self.parts[0].read(path, period)

    # --- the calendar of the feed --------------------------------------------------------------
    @property
    def is_reference(self) -> bool:
        return self.cadence == "reference"

    @property
    def stale_after_months(self) -> int | None:
        """Months the last loaded period may lag the month before the night before the feed counts
        as stale (None: never by months -- daily feeds go stale by days, reference data never)."""
        return STALE_AFTER_MONTHS[self.cadence]

    def expected(self, period: str) -> bool:
        """Whether the catalog expects a delivery for ``period`` (on or after ``since``)."""
        return self.since is None or period >= self.since

    def is_daily(self, period: str | None) -> bool:
        """Whether ``period`` is delivered daily and additively (``daily_since`` on)."""
        return self.daily_since is not None and period is not None and period >= self.daily_since

    def partition_for(self, period: str | None) -> str:
        """``period``: a delivery replaces its period; ``delivery``: each delivery folder is its own partition."""
        return "delivery" if self.is_daily(period) else self.partition

    def delivery_kind(self, period: str | None, delivery_date: dt.date) -> str | None:
        """What a delivery is within its period, where the catalog distinguishes kinds:
        ``daily`` (an additive daily delivery); for a term feed with mid-term deliveries
        ``start_of_term`` / ``mid_term`` (dated ``midterm_after_days`` or more after the term's
        first day), or ``term`` for a term before ``midterm_since`` (one delivery a term). None
        for every other delivery."""
        if period is None:
            return None
        if self.is_daily(period):
            return "daily"
        if self.midterm_since is None:
            return None
        if period < self.midterm_since:
            return "term"
        start = dt.date(int(period[:4]), int(period[5:7]), 1)
        return "mid_term" if (delivery_date - start).days >= (self.midterm_after_days or 0) else "start_of_term"

    @property
    def layouts_text(self) -> str:
        """The announced layouts in words, for ops.feeds (e.g. ``v1; v2 from 2026-07: +a, +b``)."""
        out = []
        for p in self.parts:
            for layout in p.layouts:
                text = layout.name + (f" from {layout.since}" if layout.since else "")
                if layout.added:
                    text += ": " + ", ".join("+" + p.header_of(c) for c in layout.added)
                if layout.optional:
                    text += " (optional: " + ", ".join(p.header_of(c) for c in layout.optional) + ")"
                out.append((f"{p.name} " if len(self.parts) > 1 else "") + text)
        return "; ".join(out)


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


def yes_no(col: str) -> str:
    """``是`` / ``否`` -> true / false; anything else is null (a parse error when the field names its source)."""
    return f"case {text(col)} when '是' then true when '否' then false end"


def mapped(col: str, mapping: dict[str, str]) -> str:
    """Translate department codes; an unknown value passes through unchanged so the suite's
    enumeration check reports it (with row and value) instead of it silently becoming null."""
    whens = " ".join(f"when '{k}' then '{v}'" for k, v in mapping.items())
    return f"case {text(col)} {whens} else {text(col)} end"


def code_list(col: str, mapping: dict[str, str] | None = None, separators: tuple[str, ...] = (";",)) -> str:
    """A ``;``-separated list of codes -> ``varchar[]``: items trimmed, empty ones dropped; with
    ``mapping``, department codes translated (unknown ones pass through for the suite to report),
    else lower-cased."""
    src = f"coalesce(trim({q(col)}), '')"
    for sep in separators[1:]:
        src = f"replace({src}, '{sep}', '{separators[0]}')"
    items = f"list_filter(list_transform(string_split({src}, '{separators[0]}'), x -> trim(x)), x -> x <> '')"
    if mapping is None:
        return f"list_transform({items}, x -> lower(x))"
    whens = " ".join(f"when '{k}' then '{v}'" for k, v in mapping.items())
    return f"list_transform({items}, x -> case x {whens} else x end)"


def staging_select(fields: tuple[Field, ...]) -> str:
    cols = ",\n    ".join(f"cast({f.expr} as {f.type}) as {q(f.name)}" for f in fields)
    lineage = ", ".join(q(c) for c in LINEAGE_COLUMNS)
    return f"select\n    {cols},\n    {lineage}\nfrom raw_batch"
