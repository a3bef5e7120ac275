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
                     checked_in: dict[str, tuple[str, ...]] | None = None, skip: tuple[str, ...] = ()) -> list[str]:
    """Every column (cast to text) scanned for an 18-character id shape and for roster names.

    ``periods`` limits the scan of a relation to the rows of some data months (an incremental build
    scans only the months it built); relations in ``skip`` are not scanned (a copy of values scanned
    where they are used); values found in the one-column relation ``checked`` (texts an earlier build
    already checked) are not searched again, for names or numbers -- in the columns ``checked_in`` names
    per relation (default: every text column of every relation; matching against a large ``checked``
    costs a hash table of it per column, so a build names the columns its cached texts go to). One
    pass per relation for the id shape (and one per column of ``checked_in``) and
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
        text_cols = [c for c, t in cols if t in ("VARCHAR", "JSON", "VARCHAR[]") or t.startswith(("STRUCT", "MAP"))]
        uses_checked = bool(checked) and (checked_in is None or rel in checked_in)
        cached = [c for c in text_cols if checked_in is None or c in checked_in.get(rel, ())] if uses_checked else []
        # A value an earlier build checked passed both searches then, and the number search depends on
        # the value alone: the text columns of such a relation are searched for numbers only in their
        # values outside ``checked`` (an anti join, materialised first, so the expression runs on those alone).
        # The other columns in one pass.
        plain = [(c, t) for c, t in cols if c not in cached]

        def source(c: str) -> str:
            if c not in cached:
                return f'(select {qs[c]} as v from "{rel}" {rows})'
            return (f'(select t.v from (select {qs[c]} as v from "{rel}" {rows}) t '
                    f"where t.v is not null and not exists (select 1 from {checked} k where k.v = t.v))")

        def bind(columns) -> dict:  # the shapes the columns are searched for, and the months
            return {**{shape[c][1:]: shapes[shape[c][1:]] for c in columns}, **params}

        counts = dict(zip([c for c, _ in plain], con.execute(
            "select " + ", ".join(f"count(*) filter (where regexp_matches({qs[c]}, {shape[c]}))" for c, _ in plain)
            + f' from "{rel}" {rows}', bind(c for c, _ in plain)).fetchone())) if plain else {}
        for c in cached:
            counts[c] = con.execute(f"with s as materialized {source(c)} select count(*) from s "
                                    f"where regexp_matches(v, {shape[c]})", bind([c])).fetchone()[0]
        for c, _ in cols:
            if not counts[c]:
                continue
            candidates = distinct_values(con, f"with s as materialized {source(c)} select distinct v from s "
                                              f"where regexp_matches(v, {shape[c]}) limit {MAX_CANDIDATES + 1}", bind([c]))
            hits = sum(1 for v in candidates if personal_number(v))
            if hits or len(candidates) > MAX_CANDIDATES:
                findings.append(f"{rel}.{c}: {hits or len(candidates)} value(s) shaped like a 身份证号 or a mobile number")
        if not (names and text_cols) or rel in skip_name_check:
            continue
        # not exists, not ``not in``: a null among the checked values would make ``not in`` hide every text
        seen = f" and not exists (select 1 from {checked} k where k.v = u.v)" if uses_checked else ""

        def name_hits(columns: list[str]) -> set[str]:
            values = "[" + ", ".join(qs[c] for c in columns) + "]"
            texts = distinct_values(con, f'select distinct u.v from (select unnest({values}) as v from "{rel}" {rows}) u '
                                         f"where regexp_matches(u.v, $cjk){seen}", {"cjk": CJK_SQL, **params})
            return {h for t in texts for h in names.found(t)}

        if name_hits(text_cols):
            for c in text_cols:
                hits = name_hits([c])
                if hits:
                    findings.append(f"{rel}.{c}: {len(hits)} roster name(s)")
    return findings
