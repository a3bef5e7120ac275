"""Building the analyst database: the pseudonymous tables from the warehouse, then the atomic swap.

After each night :func:`build_analyst_db` writes ``analyst.duckdb`` beside the warehouse. The new
file is built under a temporary name in the same folder and renamed over the old one: a reader
that has the old file open keeps reading it (POSIX keeps the old inode alive), the next reader gets
the new one, and analysts' readers never block the nightly writer (DuckDB allows one read-write
process per file).

A build, in order:

1. The warehouse is read through the night's writer connection, or attached READ_ONLY to a private
   connection (``USE``d, so the models' ``core.person_month`` resolves there). It must have been
   migrated by this code (:data:`SOURCES`); otherwise the build stops ("run a night first").
2. Plan: ``person_month`` and ``household_month`` are partitioned by data month; a month whose core
   inputs are unchanged since the previous build (keyed token in ``build_partitions``) is copied
   from the previous file, the other months are built (:data:`PARTITIONED`).
3. The analyst file (a copy of the previous one when incremental) is opened as itself: views and
   the tables not kept are dropped, rebuilt months deleted, then the table schema files applied
   (:mod:`pipelines.analyst.schema`).
4. Key mappings (raw id -> pseudonym, through the restricted pseudonym cache) and scrubbed texts
   (new texts only; the others come from the previous ``build_text_cache``) are made as temporary
   tables on the build connection; each model's rows are inserted into the attached file.
5. The views are created on the file opened as itself, every column is scanned for ids and names
   (:func:`pipelines.analyst.scan.find_identifiers`), and the file is renamed into place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.analyst import schema
from pipelines.analyst.keys import (
    ENCRYPTION_ENV,
    HmacKey,
    attach_pseudonym_cache,
    hmac_pads,
    key_table,
    pseudonym_cache_path,
    pseudonyms,
    remove_database,
    resolve_hmac_key,
)
from pipelines.analyst.scan import distinct_values, find_identifiers
from pipelines.analyst.schema import AnalystDbError, model_sql
from pipelines.analyst.scrub import NameMatcher, Scrubber, mentions
from pipelines.atomic import fsync_path, sweep_stale_temps, temp_prefix
from pipelines.config import Settings, read_secret
from pipelines.dates import local_date, night_time, today
from pipelines.rules import default_rules
from pipelines.warehouse import attach, relation_exists, sql

# The tables built by a model (warehouse/analyst/build/<table>.sql), in build order.
MODELS = ("person_month", "household_month", "assistance_month", "warnings", "cases", "case_events", "deliveries",
          "regions", "feed_status", "roster_statistics", "assistance_statistics", "warning_statistics", "case_disposal",
          "delivery_quality", "eligibility_watchlist")
# The big tables are partitioned by data month. An incremental build (the nightly default) copies a
# month's rows from the previous analyst database when the core partition they are built from has
# not changed since (same deliveries, same SQL, same key), and builds only the other months; free
# text is scrubbed once and cached by a keyed digest (``build_text_cache``). A night's cost
# must follow the new month, not the history behind it.
PARTITIONED: dict[str, str] = {"person_month": "core.person_month", "household_month": "core.household_month",
                               "assistance_month": "core.assistance_month"}
# Bump when the Python side of the scrubbing (Scrubber, NameMatcher, pseudonyms) changes what it
# writes: rows and texts of earlier builds are then not reused (the SQL files are fingerprinted).
SCRUB_VERSION = 3  # 2: text cache digests are HMAC-SHA256 hex computed in SQL; 3: formatted ids and phone numbers
BUILD_TABLES = ("build_partitions", "build_text_cache")
# Warehouse relations the build reads (all created by pipelines.warehouse.migrate), and the table
# macro feed_status is copied from. The ones counted in build_info.sources come first.
COUNTED = ("core.person_month", "core.household_month", "mart.warnings", "mart.cases", "mart.case_events",
           "ops.deliveries", "staging.ref_regions")
SOURCES = COUNTED + ("staging.mca_roster", "core.build_runs", "ops.feeds", "core.assistance_month",
                     "mart.roster_statistics", "mart.assistance_statistics", "mart.warning_statistics",
                     "core.eligibility_month")
SOURCE_MACROS = ("ops.feed_status", "mart.case_disposal", "mart.delivery_quality")
# Tables with public reference text only (no roster data): the id-shape scan runs on them, the
# roster-name scan does not (a feed or region name may contain a two-character name).
REFERENCE_TABLES = ("regions", "indicators", "departments", "feeds", "feed_status", "assistance_kinds")
# The columns filled from the scrubbed texts (temp.analyst_clean_text / _json), per table: the only
# ones where a text an earlier build checked can be.
CLEANED_TEXT_COLUMNS = {"warnings": ("explanation", "evidence"), "case_events": ("detail", "source")}
# The temporary lookups the models read (made per build on the build connection, dropped after).
LOOKUPS = ("analyst_household_keys", "analyst_person_keys", "analyst_case_keys", "analyst_warning_keys",
           "analyst_clean", "analyst_clean_text", "analyst_clean_json", "analyst_watchlist")


@dataclass
class _Build:
    con: duckdb.DuckDBPyConnection  # the build connection: its current database is the warehouse
    dst: str  # catalog of the analyst file being built, attached to con
    # The file is a copy of the previous build: the kept months are in it, and its text cache is
    # renamed build_text_cache_previous until the new texts are looked up in it.
    incremental: bool = False
    cache: str = ""  # catalog of the restricted pseudonym cache (raw id -> pseudonym)
    built: dict[str, list[str]] = field(default_factory=dict)  # partitioned table -> months built
    copied: dict[str, list[str]] = field(default_factory=dict)  # partitioned table -> months kept
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> month -> partition token
    known_clean: pa.Table | None = None  # column v: cleaned texts an earlier build already checked
    stats: dict = field(default_factory=dict)
    _lap_at: float = 0.0

    @contextlib.contextmanager
    def timed(self, step: str):
        """Seconds of each step of the build, in build_info.build_stats.seconds (what a slow night spent its
        analyst minutes on)."""
        t = time.perf_counter()
        try:
            yield
        finally:
            seconds = self.stats.setdefault("seconds", {})
            seconds[step] = round(seconds.get(step, 0.0) + time.perf_counter() - t, 2)

    def lap(self, step: str | None) -> None:
        """Like :meth:`timed`, for the step that ends now and began at the previous lap (``None``: start
        counting)."""
        now = time.perf_counter()
        if step is not None:
            seconds = self.stats.setdefault("seconds", {})
            seconds[step] = round(seconds.get(step, 0.0) + now - self._lap_at, 2)
        self._lap_at = now


def build_format() -> str:
    """Fingerprint of everything that shapes the analyst tables: their schema files, their models
    and the scrubbing version. A previous build with another format is never reused."""
    h = hashlib.sha256(f"scrub={SCRUB_VERSION}".encode())
    for path in schema.table_files() + schema.model_files():
        h.update(path.relative_to(schema.ANALYST_SQL_DIR).as_posix().encode() + b"\x00" + path.read_bytes())
    return "f_" + h.hexdigest()[:16]


def _duckdb_config(settings: Settings) -> dict:
    settings.temp_directory.mkdir(parents=True, exist_ok=True)
    return {
        "threads": settings.duckdb_threads,
        "memory_limit": settings.duckdb_memory_limit,
        "temp_directory": str(settings.temp_directory),
    }


def _register(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, list]) -> None:
    con.register(name, pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()}))


def _check_sources(con: duckdb.DuckDBPyConnection) -> None:
    """The build reads a warehouse migrated by this code; anything else stops it with a clear message."""
    missing = [q for q in SOURCES if not relation_exists(con, q)]
    for qualified in SOURCE_MACROS:
        schema_name, name = qualified.split(".")
        if not con.execute("select count(*) from duckdb_functions() where database_name = current_database() "
                           "and schema_name = ? and function_name = ?", [schema_name, name]).fetchone()[0]:
            missing.append(qualified)
    if missing:
        raise AnalystDbError(f"warehouse not initialised: run a night first (it has no {', '.join(missing)})")


# --- the plan: which months are built, which are kept ------------------------------------------


def _partition_tokens(con: duckdb.DuckDBPyConnection, key: HmacKey) -> dict[str, dict[str, str]]:
    """table -> data month -> keyed token of what that month of the table is built from: the core
    build's inputs (delivery ids and load times) of the feeds upstream of the core table, the SQL of
    those core models and of the analyst tables, and the key. Months core never recorded get none
    (they are always rebuilt)."""
    from pipelines import core

    rows = con.execute("select period, cast(inputs as varchar) from core.build_runs").fetchall()
    fmt = build_format()
    out: dict[str, dict[str, str]] = {}
    for table, qualified in PARTITIONED.items():
        models, feeds = core.model_upstream(qualified.split(".")[1])
        sql_hash = core.sql_fingerprint(models)
        periods, payloads = [], []
        for period, inputs in rows:
            try:
                used = [i for i in json.loads(inputs) if isinstance(i, list) and i and i[0] in feeds]
            except (TypeError, ValueError):
                continue
            periods.append(period)
            payloads.append(json.dumps([fmt, table, sql_hash, period, sorted(used, key=str)], default=str))
        out[table] = dict(zip(periods, pseudonyms(payloads, key.secret, "partition", "t_")))
    return out


def _plan(b: _Build, key: HmacKey, previous: dict[tuple[str, str], str] | None) -> None:
    """Decide, per partitioned table, which months are kept from the previous build (``previous``:
    its build_partitions, None for a full build) and which are built (b.copied, b.built)."""
    b.tokens = _partition_tokens(b.con, key)
    for table, qualified in PARTITIONED.items():
        periods = distinct_values(b.con, f"select distinct period from {qualified}")
        tokens = b.tokens.get(table, {})
        copy = sorted(p for p in periods if previous is not None and tokens.get(p) is not None
                      and previous.get((table, p)) == tokens[p])
        b.copied[table] = copy
        b.built[table] = sorted(set(periods) - set(copy))


def _prepare_file(path: Path, config: dict, b: _Build) -> None:
    """Open the new analyst file as itself and give it its tables. Incremental (a copy of the
    previous file): drop every view and every table but the partitioned ones, delete the months of
    those that are rebuilt (or gone from the warehouse), and keep the text cache aside as
    build_text_cache_previous. Then apply the table schema files."""
    con = duckdb.connect(str(path), config=config)
    try:
        if b.incremental:
            for (view,) in con.execute("select view_name from duckdb_views() where database_name = current_database() "
                                       "and schema_name = 'main' and not internal").fetchall():
                con.execute(f'drop view main."{view}"')
            for (table,) in con.execute("select table_name from duckdb_tables() "
                                        "where database_name = current_database() and schema_name = 'main'").fetchall():
                if table in PARTITIONED:
                    con.execute(f'delete from main."{table}" where not (period in (select unnest($keep)))',
                                {"keep": b.copied[table]})
                elif table == "build_text_cache":
                    con.execute("alter table main.build_text_cache rename to build_text_cache_previous")
                else:
                    con.execute(f'drop table main."{table}"')
        schema.create_tables(con)
    finally:
        con.close()


# --- key mappings and scrubbed text --------------------------------------------------------------


def mentioned_ids(con: duckdb.DuckDBPyConnection, mentioned: set[str]) -> tuple[list[str], list[str]]:
    """The household and person ids (of any month) among ``mentioned``, as the Scrubber looks them
    up: a household id as written or with the hukou prefix H, a person id upper-cased. ``con``'s
    current database is the warehouse."""
    if not mentioned:
        return [], []
    m = sorted(mentioned)
    _register(con, "analyst_mentions", {"t": m, "h": ["H" + t for t in m], "u": [t.upper() for t in m]})
    try:
        # One semi-join per id column (a plain column against the wanted set is far cheaper than an
        # expression per row). Ids are upper-cased by staging (pipelines.feeds), so a person id is
        # compared as stored; a hukou household H<hukou_no> by its hukou_no.
        con.execute("create or replace temp table analyst_wanted as select t as id from analyst_mentions "
                    "union select h from analyst_mentions")
        con.execute("create or replace temp table analyst_wanted_hukou as "
                    "select substr(id, 2) as id from analyst_wanted where starts_with(id, 'H')")
        con.execute("create or replace temp table analyst_wanted_u as select distinct u from analyst_mentions")
        households = distinct_values(con, """
            select household_id from core.person_month where household_id in (select id from analyst_wanted)
            union select family_id from core.person_month where family_id in (select id from analyst_wanted)
            union select 'H' || hukou_no from core.person_month where hukou_no in (select id from analyst_wanted_hukou)
            union select household_id from core.household_month where household_id in (select id from analyst_wanted)
            union select id from (select coalesce(nullif(family_id, ''), 'H' || nullif(hukou_no, '')) as id
                                  from mart.warnings) where id in (select id from analyst_wanted)
            union select household_id from mart.cases where household_id in (select id from analyst_wanted)""")
        persons = distinct_values(con, """
            select person_id from core.person_month where person_id in (select u from analyst_wanted_u)
            union select head_person_id from core.household_month where head_person_id in (select u from analyst_wanted_u)
            union select person_id from mart.warnings where person_id in (select u from analyst_wanted_u)""")
    finally:
        con.unregister("analyst_mentions")
        for table in ("analyst_wanted", "analyst_wanted_hukou", "analyst_wanted_u"):
            con.execute(f"drop table if exists {table}")
    return households, persons


def _prepare_mappings(b: _Build, key: HmacKey) -> NameMatcher:
    """Create the lookups the models read (temp.analyst_*_keys, temp.analyst_clean_text / _json).

    Keys are computed for the ids of the months being built and of all warnings and cases. Free
    text is scrubbed once: a text cleaned by an earlier build is taken from its ``build_text_cache``
    (by keyed digest); only new texts are scrubbed. The Scrubber knows exactly the ids those texts
    mention, looked up across every month (not millions of ids it will never meet), so an
    incremental build writes what a full build would, and neither holds every id in a dict.
    Returns the roster names (for the identifier scan).
    """
    con = b.con
    months = {"pm": b.built["person_month"], "hm": b.built["household_month"], "am": b.built["assistance_month"]}
    b.lap(None)
    _watchlist(con)
    b.lap("watchlist")
    # The ids the tables join on (household_id of persons and households, a warning's household,
    # a case's household): keyed in SQL from the pseudonym cache, new ids only through Python.
    keyed_households = key_table(con, b.cache, key, "household", "h_", "analyst_household_keys",
                                 ("household_id", "household_key"), """
        select household_id from core.person_month where period in (select unnest($pm))
        union select household_id from core.household_month where period in (select unnest($hm))
        union select household_id from core.assistance_month where period in (select unnest($am))
        union select coalesce(nullif(household_id, ''), nullif(family_id, ''), 'H' || nullif(hukou_no, '')) from mart.warnings
        union select household_id from mart.cases
        union select household_id from temp.analyst_watchlist""", months)
    keyed_persons = key_table(con, b.cache, key, "person", "p_", "analyst_person_keys", ("person_id", "person_key"), """
        select person_id from core.person_month where period in (select unnest($pm))
        union select head_person_id from core.household_month where period in (select unnest($hm))
        union select person_id from mart.warnings""", {"pm": months["pm"], "hm": months["hm"]})
    key_table(con, b.cache, key, "case", "c_", "analyst_case_keys", ("id", "key"),
              "select case_id from mart.cases union select case_id from mart.warnings")
    key_table(con, b.cache, key, "warning", "w_", "analyst_warning_keys", ("id", "key"),
              "select warning_id from mart.warnings union select last_warning_id from mart.cases")
    other_keys = dict(con.execute("select id, key from analyst_case_keys union all "
                                  "select id, key from analyst_warning_keys").fetchall())
    b.lap("keys")

    # Every distinct text and JSON with its keyed digest, computed where the texts are (HMAC-SHA256
    # in SQL); the previous build's cache gives the clean form of those it scrubbed, and only the
    # rest (tonight's new texts) comes into Python to be scrubbed.
    ipad, opad = hmac_pads(key.secret)
    digests = """
        select r.raw, r.kind, -- hex of the HMAC, digits mapped to letters: never shaped like an id
               translate(left(sha256($opad::blob || unhex(sha256($ipad::blob || encode(r.kind || '|' || r.raw)))), 32),
                         '0123456789', 'ghijklmnop') as digest
        from (select explanation as raw, 'text' as kind from mart.warnings
              union select source, 'text' from mart.case_events
              union select cast(evidence as varchar), 'json' from mart.warnings
              union select cast(detail as varchar), 'json' from mart.case_events) r
        where r.raw is not null"""
    if b.incremental:
        # joined to the previous build's cache as the table is made (an UPDATE of every row of a
        # history's texts cost ~20 s a night at 1M)
        previous = f'"{b.dst}".main.build_text_cache_previous'
        con.execute(f"""create or replace temp table analyst_clean as
                        select d.raw, d.kind, d.digest, c.clean, c.digest is not null as from_cache
                        from ({digests}) d left join {previous} c on c.digest = d.digest and c.kind = d.kind""",
                    {"opad": opad, "ipad": ipad})
        con.execute(f"drop table {previous}")
    else:
        con.execute(f"""create or replace temp table analyst_clean as
                        select raw, kind, digest, cast(null as varchar) as clean, false as from_cache
                        from ({digests})""", {"opad": opad, "ipad": ipad})
    b.lap("text digests")
    fresh = con.execute("select raw, kind from analyst_clean where not from_cache order by kind, raw").fetchall()
    fresh_texts = [r for r, kind in fresh if kind == "text"]
    fresh_jsons = [r for r, kind in fresh if kind == "json"]
    mentioned_households, mentioned_persons = mentioned_ids(con, mentions(fresh_texts, fresh_jsons))

    # distinct per relation first: a union over every month's rows is a far larger hash table
    names = NameMatcher(distinct_values(con, "select distinct name from core.person_month "
                                             "union select name from staging.mca_roster"))
    scrubber = Scrubber(
        names,
        dict(zip(mentioned_households, pseudonyms(mentioned_households, key.secret, "household", "h_"))),
        {p.upper(): k for p, k in zip(mentioned_persons, pseudonyms(mentioned_persons, key.secret, "person", "p_"))},
        other_keys)
    _register(con, "analyst_fresh_texts", {
        "raw": fresh_texts + fresh_jsons, "kind": ["text"] * len(fresh_texts) + ["json"] * len(fresh_jsons),
        "clean": [scrubber.text(t) for t in fresh_texts] + [scrubber.json_text(t) for t in fresh_jsons]})
    try:
        con.execute("update analyst_clean set clean = f.clean from analyst_fresh_texts f "
                    "where f.raw = analyst_clean.raw and f.kind = analyst_clean.kind")
    finally:
        con.unregister("analyst_fresh_texts")
    b.lap("text scrubbing")
    for kind in ("text", "json"):
        con.execute(f"create or replace temp table analyst_clean_{kind} as "
                    f"select raw, clean from analyst_clean where kind = '{kind}'")
    counts = dict(con.execute("select from_cache, count(*) from analyst_clean group by all").fetchall())
    b.known_clean = con.execute("select distinct clean as v from analyst_clean where from_cache").arrow().read_all()
    b.stats.update(keyed_households=keyed_households[0], keyed_persons=keyed_persons[0],
                   new_ids_keyed=keyed_households[1] + keyed_persons[1],
                   ids_mentioned_in_new_text=len(mentioned_households) + len(mentioned_persons),
                   texts_scrubbed=counts.get(False, 0), texts_from_cache=counts.get(True, 0))
    b.lap("text lookups")
    return names


def _watchlist(con: duckdb.DuckDBPyConnection) -> None:
    """temp.analyst_watchlist: the eligibility watchlist with raw ids (warehouse/learning/
    eligibility_watchlist.sql, sized by models/eligibility/model.toml [watchlist]); the model
    eligibility_watchlist.sql keys it."""
    from pipelines.learning.spec import load_spec

    watch = load_spec("eligibility").watchlist
    con.execute("create or replace temp table analyst_watchlist as " + sql("learning/eligibility_watchlist.sql"),
                {"months": int(watch.get("months", 3)), "min_rise": float(watch.get("min_rise", 0.1)),
                 "size": int(watch.get("size", 500))})


def _drop_lookups(con: duckdb.DuckDBPyConnection) -> None:
    for name in LOOKUPS:
        with contextlib.suppress(Exception):
            con.execute(f"drop table if exists temp.main.{name}")


# --- the tables ----------------------------------------------------------------------------------


def _insert_model(b: _Build, table: str, as_of: dt.date) -> None:
    """Insert the rows of ``warehouse/analyst/build/<table>.sql`` into the analyst file, binding the
    model's parameters: ``$periods`` (the months built) for a partitioned table, ``$as_of`` (the
    night) for feed_status."""
    if table in PARTITIONED:
        if not b.built[table]:
            return  # every month kept from the previous build
        params: dict = {"periods": b.built[table]}
    elif table == "feed_status":
        params = {"as_of": as_of}
    elif table == "case_disposal":
        params = {"reference_at": night_time(as_of)}
    elif table == "delivery_quality":
        params = {"due_day": default_rules().delivery_due_day}
    else:
        params = {}
    try:
        b.con.execute(f'insert into "{b.dst}".main.{table} by name\n{model_sql(table)}', params)
    except duckdb.Error as e:
        raise AnalystDbError(f"building analyst table {table} (warehouse/analyst/build/{table}.sql): {e}") from e


def _default_as_of(con: duckdb.DuckDBPyConnection) -> dt.date:
    """The night a build reflects when none is given: the latest case event or warning (data
    written at the night's logical time), as a China date, else today in China time."""
    # epoch seconds: DuckDB's Python conversion of timestamptz would need pytz
    latest = con.execute(
        """select epoch(max(t)) from (select max("at") as t from mart.case_events
                                      union all select max(raised_at) from mart.warnings)""").fetchone()[0]
    if latest is None:
        return today()
    return local_date(dt.datetime.fromtimestamp(latest, dt.timezone.utc))


def _feeds_rows() -> dict[str, list]:
    """The feed registry as rows of the feeds table: department, Chinese name, cadence, staleness lag."""
    from pipelines.feeds import FEEDS

    ids = sorted(FEEDS)
    return {
        "feed_id": ids,
        "department": [FEEDS[f].department for f in ids],
        "name_zh": [FEEDS[f].title for f in ids],
        "cadence": [FEEDS[f].cadence for f in ids],
        "stale_after_months": [FEEDS[f].stale_after_months for f in ids],
    }


def _write_reference_tables(b: _Build, key: HmacKey, as_of: dt.date, counts: dict[str, int],
                            full_built_at: float | None) -> None:
    """indicators and departments from pipelines.rules, feeds from the feed registry, build_info."""
    con, dst = b.con, f'"{b.dst}".main'
    rules = default_rules()
    rows = {
        "indicators": {"indicator_code": list(rules.codes),
                       "name_zh": [rules.indicator(c).name_zh for c in rules.codes],
                       "name_en": [rules.indicator(c).name_en for c in rules.codes],
                       "rule": [rules.rule_text(c) for c in rules.codes]},
        "departments": {"department": list(rules.departments),
                        "name_zh": [d.name_zh for d in rules.departments.values()],
                        "name_en": [d.name_en for d in rules.departments.values()]},
        "assistance_kinds": {"kind": list(rules.assistance_kinds),
                             "name_zh": [k.name_zh for k in rules.assistance_kinds.values()],
                             "name_en": [k.name_en for k in rules.assistance_kinds.values()],
                             "department": [k.department for k in rules.assistance_kinds.values()],
                             "counts": [k.counts for k in rules.assistance_kinds.values()],
                             "sort_order": list(range(len(rules.assistance_kinds)))},
        "feeds": _feeds_rows(),
    }
    for name, cols in rows.items():
        con.register("analyst_reference", pa.table(cols))
        try:
            con.execute(f"insert into {dst}.{name} by name select * from analyst_reference")
        finally:
            con.unregister("analyst_reference")
    con.execute(
        f"""insert into {dst}.build_info by name select
               now() as built_at, $as_of::date as as_of, $reference_at::timestamptz as reference_at,
               $fingerprint::varchar as key_fingerprint, $ephemeral::boolean as ephemeral_key, $sources::json as sources,
               $format::varchar as format, $mode::varchar as build_mode,
               coalesce(to_timestamp($full_built_at::double), now()) as full_built_at, $stats::json as build_stats""",
        {"as_of": as_of, "reference_at": night_time(as_of), "fingerprint": key.fingerprint(),
         "ephemeral": key.ephemeral, "sources": json.dumps(counts, sort_keys=True), "format": build_format(),
         "mode": b.stats.get("build_mode", "full"), "full_built_at": full_built_at,
         "stats": json.dumps(b.stats, sort_keys=True)})


def _write_build_tables(b: _Build) -> None:
    """build_partitions (the token of every month in the file) and build_text_cache (every text's
    clean form, for the next build)."""
    con, dst = b.con, f'"{b.dst}".main'
    rows: dict[str, list] = {"table_name": [], "period": [], "token": []}
    for table in PARTITIONED:
        for period in sorted(set(b.built[table]) | set(b.copied[table])):
            token = b.tokens.get(table, {}).get(period)
            if token is not None:
                rows["table_name"].append(table)
                rows["period"].append(period)
                rows["token"].append(token)
    _register(con, "analyst_partitions", rows)
    try:
        con.execute(f"insert into {dst}.build_partitions by name select * from analyst_partitions")
    finally:
        con.unregister("analyst_partitions")
    con.execute(f"insert into {dst}.build_text_cache by name "
                "select digest, kind, clean from analyst_clean order by kind, digest")
    b.stats["months_built"] = {t: b.built[t] if b.incremental else "all" for t in PARTITIONED}
    b.stats["months_copied"] = {t: len(b.copied[t]) for t in PARTITIONED}


def write_tables(b: _Build, key: HmacKey, as_of: dt.date | None, full_built_at: float | None) -> NameMatcher:
    """Fill every table of the analyst file attached to the build connection: the key mappings and
    scrubbed texts first, then each model's rows, the build bookkeeping and the reference tables.
    Returns the roster names for the identifier scan."""
    names = _prepare_mappings(b, key)
    counts = {q: b.con.execute(f"select count(*) from {q}").fetchone()[0] for q in COUNTED}
    as_of = as_of or _default_as_of(b.con)
    for table in MODELS:
        with b.timed(f"table {table}"):
            _insert_model(b, table, as_of)
    with b.timed("build tables"):
        _write_build_tables(b)
    _write_reference_tables(b, key, as_of, counts, full_built_at)
    return names


# --- the build -----------------------------------------------------------------------------------


def _usable_previous(target: Path, key: HmacKey, full_every_days: int
                     ) -> tuple[bool, float | None, str, dict[tuple[str, str], str]]:
    """Whether an incremental build may start from the previous analyst database: it opens, it was
    built with this key and this format, and its last full build is recent enough.

    Returns (usable, the previous full build's time in epoch seconds, 'reused' or why not, its
    build_partitions as (table, month) -> token)."""
    if not target.exists():
        return False, None, "no previous build", {}
    try:
        con = duckdb.connect(str(target), read_only=True, config={"threads": 1})
    except duckdb.Error as e:
        return False, None, f"previous build unreadable ({type(e).__name__})", {}
    try:
        have = {r[0] for r in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() and schema_name = 'main'"
        ).fetchall()}
        if not {"build_info", *BUILD_TABLES, *PARTITIONED} <= have:
            return False, None, "previous build has no partitions", {}
        # epoch seconds: DuckDB's Python conversion of timestamptz would need pytz
        fingerprint, fmt, full_at = con.execute(
            "select key_fingerprint, format, epoch(full_built_at) from build_info").fetchone()
        partitions = {(t, p): tok for t, p, tok in con.execute(
            "select table_name, period, token from build_partitions").fetchall()}
    except duckdb.Error as e:
        return False, None, f"previous build unreadable ({type(e).__name__})", {}
    finally:
        con.close()
    if fingerprint != key.fingerprint():
        return False, None, "the key changed", {}
    if fmt != build_format():
        return False, None, "the table SQL or scrubbing changed", {}
    if full_at is None or dt.datetime.now(dt.timezone.utc).timestamp() - full_at > full_every_days * 86400:
        return False, None, f"last full build older than {full_every_days} days", {}
    return True, full_at, "reused", partitions


def build_analyst_db(settings: Settings, con: duckdb.DuckDBPyConnection | None = None, *,
                     allow_ephemeral_key: bool | None = None, as_of: dt.date | None = None,
                     target: Path | None = None, full: bool = False, key: HmacKey | None = None) -> Path:
    """Build the pseudonymous analyst database and swap it in atomically; return its path.

    Incremental by default: months whose core partition is unchanged are copied from the previous
    file and cached clean texts are reused (see PARTITIONED); ``full`` (or a changed key, table SQL
    or scrubbing, or ``settings.analyst_full_rebuild_days`` since the last full build) builds every
    month from the warehouse. Both write the same tables.

    ``con`` is the nightly writer's open (migrated) warehouse connection: the build reads through it
    and attaches the new file to it, so nothing else needs to open the locked warehouse. Without it
    the warehouse is attached READ_ONLY to a private in-memory connection; a warehouse this code has
    not migrated stops the build (:class:`AnalystDbError`, "run a night first").
    ``as_of`` is the night (for freshness and overdue feedback); by default the latest logical time
    found in the case events / warnings. ``key`` defaults to :func:`resolve_hmac_key`.
    """
    key = key or resolve_hmac_key(settings, allow_ephemeral_key)
    target = Path(target or settings.analyst_db)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temps(target)  # a build killed before its rename leaves its .tmp (and .tmp.wal)
    tmp = target.parent / f"{temp_prefix(target)}{secrets.token_hex(4)}.tmp"
    dst = "analyst_build_" + secrets.token_hex(4)
    own = con is None
    config = _duckdb_config(settings)
    work = None
    try:
        if own:
            if not Path(settings.warehouse).exists():
                raise AnalystDbError(f"warehouse {settings.warehouse} does not exist; run a night first")
            work = duckdb.connect(":memory:", config=config)
            work.execute("set enable_progress_bar = false")
            attach(work, settings.warehouse, "wh", read_secret(ENCRYPTION_ENV, settings.encryption_key_file),
                   read_only=True)
            work.execute("use wh")
        else:
            work = con
        _check_sources(work)
        usable, full_built_at, reuse, previous = (False, None, "full build asked for", {}) if full else \
            _usable_previous(target, key, settings.analyst_full_rebuild_days)
        started = time.perf_counter()
        if usable:
            # Work on a copy of the previous file: unchanged months stay where they are (copying the
            # file is far cheaper than re-inserting its rows), the rest is replaced.
            try:
                shutil.copyfile(target, tmp)
            except OSError as e:
                usable, full_built_at, reuse = False, None, f"could not copy the previous build ({e.strerror})"
                remove_database(tmp)
        build = _Build(work, dst, incremental=usable)
        build.stats.update(previous_build=reuse, build_mode="incremental" if usable else "full")
        build.stats["seconds"] = {"copy previous": round(time.perf_counter() - started, 2)}
        with build.timed("plan"):
            _plan(build, key, previous if usable else None)
        with build.timed("prepare file"):
            _prepare_file(tmp, config, build)
        build.cache = attach_pseudonym_cache(work, pseudonym_cache_path(settings), key, settings, reset=not usable)
        attach(work, tmp, dst)
        try:
            names = write_tables(build, key, as_of, full_built_at)
        finally:
            _drop_lookups(work)
            for catalog in (dst, build.cache):
                with contextlib.suppress(Exception):
                    work.execute(f'DETACH "{catalog}"')

        if own:
            work.close()
            work = None
        # Views and the identifier scan run on the new file opened as itself, so the views'
        # stored SQL resolves tables by plain names whatever the file is later called.
        new = duckdb.connect(str(tmp), config=config)
        new.execute("set enable_progress_bar = false")
        try:
            with build.timed("views"):
                schema.create_views(new)
            # Months copied from the previous file and texts from its cache passed that build's scan.
            only = {t: build.built[t] for t in PARTITIONED} if build.incremental else {}
            new.register("analyst_checked", build.known_clean if build.known_clean is not None
                         else pa.table({"v": pa.array([], pa.string())}))
            with build.timed("identifier scan"):
                # build_text_cache.clean holds exactly the texts the warnings and case_events columns
                # were filled from, which are scanned there
                leaks = find_identifiers(new, names, skip_name_check=REFERENCE_TABLES, periods=only,
                                         checked="analyst_checked", checked_in=CLEANED_TEXT_COLUMNS,
                                         skip=("build_text_cache",))
            new.unregister("analyst_checked")
            if leaks:
                raise AnalystDbError("analyst database failed its identifier scan (not published): "
                                     + "; ".join(leaks[:10]))
            # the steps' seconds, now that all but the last write are done (numbers only: nothing to scan)
            new.execute("update build_info set build_stats = ?::json", [json.dumps(build.stats, sort_keys=True)])
            new.execute("checkpoint")
        finally:
            new.close()
        fsync_path(tmp)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(str(target) + ".wal")  # a stale WAL must never be replayed onto the new file
        os.replace(tmp, target)
        fsync_path(target.parent)
        return target
    except BaseException:
        if own and work is not None:
            with contextlib.suppress(Exception):
                work.close()
        remove_database(tmp)
        raise

