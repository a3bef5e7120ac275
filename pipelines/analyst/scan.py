"""The identifier scan: before a new analyst database is published, every column of every table is
searched for anything shaped like a 身份证号 or a mobile number — as written, or formatted with
spaces, dashes, dots, full-width digits or a +86 country code — and for every roster name; a hit
stops the build (fail closed). Also what the data dictionary lists: :func:`relations`.
"""

from __future__ import annotations

from typing import Iterable

import duckdb

from pipelines.analyst.scrub import DIGIT, SEPARATOR, NameMatcher, personal_number

# Values that may hold a 身份证号 or a mobile number, as written or formatted (spaces, dashes, dots,
# full-width digits, +86): 11 digits with at most two separators between them. The candidates are
# then judged by the Scrubber's own expressions (pipelines.analyst.scrub.personal_number), so the
# scan finds exactly what scrubbing would have masked.
NUMBER_SQL = f"{DIGIT}(?:{SEPARATOR}{{0,2}}{DIGIT}){{10}}"
# A number column is an amount or a count: a province's yearly benefit total has 11 digits and starts
# with a 1 like a mobile number. Only the 18-digit 身份证号 (17 digits and a check digit) can hide in
# one, so number columns are searched for 17 digits in a row and then judged the same way.
NUMBER_IN_NUMBER_SQL = "[0-9]{17}"
_NUMBER_TYPES = ("BIGINT", "HUGEINT", "UBIGINT", "UHUGEINT", "DOUBLE", "FLOAT", "DECIMAL")
CJK_SQL = "[\u4e00-\u9fff]"
MAX_CANDIDATES = 100_000  # distinct candidate values judged per column; beyond that: a finding (fail closed)
# Types whose text form can never hold 17 digits in a row (int32 has at most 10).
_CANNOT_HOLD_ID = {"BOOLEAN", "DATE", "TIME", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS",
                   "TIMESTAMP_NS", "INTERVAL", "TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER"}


def distinct_values(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> list[str]:
    """The non-null values of the first column of ``sql`` (through Arrow: no per-row Python objects
    from DuckDB's own conversion)."""
    return [v for v in con.execute(sql, params or []).to_arrow_table().column(0).to_pylist() if v is not None]


def relations(con: duckdb.DuckDBPyConnection, include_views: bool = True) -> list[tuple[str, str]]:
    """(name, 'table'|'view') of the main schema of the open database."""
    rows = con.execute(
        """select table_name, 'table' from duckdb_tables()
           where database_name = current_database() and schema_name = 'main'
           union all
           select view_name, 'view' from duckdb_views()
           where database_name = current_database() and schema_name = 'main' and not internal
           order by 2, 1"""
    ).fetchall()
    return [(n, k) for n, k in rows if include_views or k == "table"]


def find_identifiers(con: duckdb.DuckDBPyConnection, names: NameMatcher | Iterable[str] | None = None, *,
                     include_views: bool = False, skip_name_check: tuple[str, ...] = (),
                     periods: dict[str, list[str]] | None = None, checked: str | None = None,
                     checked_in: tuple[str, ...] | None = None, skip: tuple[str, ...] = ()) -> list[str]:
    """Every column (cast to text) scanned for an 18-character id shape and for roster names.

    ``periods`` limits the scan of a relation to the rows of some data months (an incremental build
    scans only the months it built); relations in ``skip`` are not scanned (a copy of values scanned
    where they are used); values found in the one-column relation ``checked`` skip the
    name check (texts an earlier build already checked) -- in the relations ``checked_in`` (default: all;
    matching against a large ``checked`` costs a hash table of it per relation, so a build names the
    relations its cached texts go to). One pass per relation for the id shape and
    one for the names; a relation with a name hit is then searched column by column to say where.
    Returns findings as ``table.column: what`` strings; empty means clean.
    """
    periods = periods or {}
    if names is not None and not isinstance(names, NameMatcher):
        names = NameMatcher(names)
    findings = []
    for rel, _kind in relations(con, include_views=include_views):
        if rel in skip:
            continue
        cols = [(c, t) for c, t in con.execute(
            "select column_name, data_type from duckdb_columns() where database_name = current_database() "
            "and schema_name = 'main' and table_name = ? order by column_index", [rel]).fetchall()
            if t not in _CANNOT_HOLD_ID]
        if not cols:
            continue
        rows, params = "", {}
        if rel in periods:
            rows, params = "where period in (select unnest($periods))", {"periods": sorted(periods[rel])}
        qs = {c: f'cast("{c}" as varchar)' for c, _ in cols}
        shape = {c: "$in_number" if t.startswith(_NUMBER_TYPES) else "$number" for c, t in cols}
        shapes = {k: v for k, v in (("number", NUMBER_SQL), ("in_number", NUMBER_IN_NUMBER_SQL))
                  if f"${k}" in shape.values()}
        counts = con.execute(
            "select " + ", ".join(f"count(*) filter (where regexp_matches({qs[c]}, {shape[c]}))" for c, _ in cols)
            + f' from "{rel}" {rows}', {**shapes, **params}).fetchone()
        for (c, _), n in zip(cols, counts):
            if not n:
                continue
            candidates = distinct_values(con, f'select distinct {qs[c]} from "{rel}" {rows} '
                                              f"{'and' if rows else 'where'} regexp_matches({qs[c]}, {shape[c]}) "
                                              f"limit {MAX_CANDIDATES + 1}", {shape[c][1:]: shapes[shape[c][1:]], **params})
            hits = sum(1 for v in candidates if personal_number(v))
            if hits or len(candidates) > MAX_CANDIDATES:
                findings.append(f"{rel}.{c}: {hits or len(candidates)} value(s) shaped like a 身份证号 or a mobile number")
        text_cols = [c for c, t in cols if t in ("VARCHAR", "JSON", "VARCHAR[]") or t.startswith(("STRUCT", "MAP"))]
        if not (names and text_cols) or rel in skip_name_check:
            continue
        seen = f" and v not in (select v from {checked})" if checked and (checked_in is None or rel in checked_in) \
            else ""

        def name_hits(columns: list[str]) -> set[str]:
            values = "[" + ", ".join(qs[c] for c in columns) + "]"
            texts = distinct_values(con, f'select distinct v from (select unnest({values}) as v from "{rel}" {rows}) '
                                         f"where regexp_matches(v, $cjk){seen}", {"cjk": CJK_SQL, **params})
            return {h for t in texts for h in names.found(t)}

        if name_hits(text_cols):
            for c in text_cols:
                hits = name_hits([c])
                if hits:
                    findings.append(f"{rel}.{c}: {len(hits)} roster name(s)")
    return findings
