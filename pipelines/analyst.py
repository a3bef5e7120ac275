"""The analysts' database: a pseudonymous, read-only copy of the warehouse, and ``query``.

After each night :func:`build_analyst_db` writes ``analyst.duckdb`` beside the warehouse
(``Settings.analyst_db``). It holds no 身份证号, names, birth dates, family ids or hukou
numbers: persons, households, cases and warnings get stable pseudonymous keys (keyed
HMAC-SHA256), ages replace birth dates, village codes are cut to town codes, and free text
(explanations, notes, evidence) is scrubbed of names and ids.

Why a separate file: DuckDB allows one read-write process per file, and analysts' readers
must never block the nightly writer (nor see a half-built table). The new file is built
under a temporary name in the same folder and renamed over the old one; a reader that has
the old file open keeps reading it (POSIX keeps the old inode alive), the next reader gets
the new one.

SQL: ``warehouse/analyst/tables/*.sql`` build the pseudonymous tables (rendered with
``{{ source('schema', 'table') }}`` and ``{{ target }}``), ``warehouse/analyst/*.sql`` are the
analysts' views, one per file. Every table, view and column carries a ``COMMENT ON``; the
data dictionary in ``docs/analyst.md`` is generated from them (:func:`schema_markdown`).
"""

from __future__ import annotations

import contextlib
import csv as csv_module
import datetime as dt
import decimal
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import duckdb
import numpy as np
import pyarrow as pa

from pipelines.config import REPO_ROOT, WAREHOUSE_SQL_DIR, ConfigError, Settings, read_secret
from pipelines.dates import TZ, night_time, today
from pipelines.rules import default_rules
from pipelines.warehouse import attach

ANALYST_SQL_DIR = WAREHOUSE_SQL_DIR / "analyst"
HMAC_ENV = "LOWINCOME_HMAC_KEY"
EPHEMERAL_ENV = "LOWINCOME_ALLOW_EPHEMERAL_HMAC_KEY"
MIN_KEY_BYTES = 16

# Base tables in build order (each a file under warehouse/analyst/tables/).
TABLE_FILES = ("person_month", "household_month", "warnings", "cases", "case_events", "deliveries", "regions")

# The big tables are partitioned by data month. An incremental build (the nightly default) copies a
# month's rows from the previous analyst database when the core partition they are built from has
# not changed since (same deliveries, same SQL, same key), and builds only the other months; free
# text is scrubbed once and cached by a keyed digest (``build_text_cache``). A night's cost
# must follow the new month, not the history behind it.
PARTITIONED: dict[str, str] = {"person_month": "core.person_month", "household_month": "core.household_month"}
# Bump when the Python side of the scrubbing (Scrubber, NameMatcher, pseudonyms) changes what it
# writes: rows and texts of earlier builds are then not reused (the SQL files are fingerprinted).
SCRUB_VERSION = 2  # 2: text cache digests are HMAC-SHA256 hex computed in SQL
BUILD_TABLES = ("build_partitions", "build_text_cache")
_PERIOD = re.compile(r"[0-9]{4}-[0-9]{2}")

# Restricted-warehouse relations the analyst tables read, with the contract columns used
# when a relation does not exist yet (an empty stand-in keeps the build and the views whole).
SOURCES: dict[str, str] = {
    "core.person_month": "period varchar, person_id varchar, household_id varchar, family_id varchar, "
    "hukou_no varchar, on_roster boolean, category varchar, region_code varchar, county_code varchar, "
    "city_code varchar, urban_rural varchar, relation varchar, birth_date date, name varchar",
    "core.household_month": "period varchar, household_id varchar, family_id varchar, hukou_no varchar, "
    "on_roster boolean, category varchar, county_code varchar, city_code varchar, urban_rural varchar, "
    "size integer, head_person_id varchar, income_yuan decimal(14,2), income_known boolean, "
    "oop_yuan decimal(14,2), edu_cost_yuan decimal(14,2), dibao_std_yuan decimal(14,2), tekun_std_yuan decimal(14,2)",
    "mart.warnings": "warning_id varchar, indicator_code varchar, severity varchar, period varchar, "
    "family_id varchar, hukou_no varchar, person_id varchar, county_code varchar, departments varchar[], "
    "evidence json, explanation varchar, case_id varchar, raised_at timestamptz",
    "mart.cases": "case_id varchar, household_id varchar, family_id varchar, hukou_no varchar, "
    "indicator_code varchar, severity varchar, county_code varchar, departments varchar[], status varchar, "
    "opened_period varchar, opened_at timestamptz, dispatched_at timestamptz, due_at timestamptz, "
    "last_warning_id varchar, closed_at timestamptz, escalated boolean",
    "mart.case_events": "case_id varchar, seq integer, \"at\" timestamptz, actor varchar, from_status varchar, "
    "to_status varchar, action varchar, detail json, source varchar",
    "ops.deliveries": "delivery_id varchar, feed_id varchar, period varchar, folder varchar, delivery_date date, "
    "produced_at timestamptz, files json, rows bigint, status varchar, errors json, warnings json, "
    "first_seen_at timestamptz, status_at timestamptz, superseded_by varchar",
    "staging.ref_regions": "region_code varchar, name varchar, level varchar, parent_code varchar, period varchar",
    "staging.mca_roster": "name varchar",
}

class AnalystKeyMissing(ConfigError):
    """No pseudonymisation key configured: the analyst database is not built without one."""


class AnalystDbError(RuntimeError):
    """The analyst database failed its own identifier scan or could not be built."""


# --- the pseudonymisation key --------------------------------------------------------------


@dataclass(frozen=True)
class HmacKey:
    secret: bytes
    ephemeral: bool
    source: str  # "env", "file <path>", "ephemeral <path>"

    def fingerprint(self) -> str:
        """A short keyed tag to tell keys apart (changes when the key changes); reveals nothing."""
        return "kf_" + hmac.new(self.secret, b"lowincome-analyst-key-fingerprint", "sha256").hexdigest()[:8]


_EPHEMERAL_WARNED: set[str] = set()


def ephemeral_key_path(settings: Settings) -> Path:
    return settings.work / "secrets" / "analyst_hmac.key"


def _remove_database(path: Path) -> None:
    """Delete a DuckDB file and its WAL, if there."""
    for p in (path, Path(str(path) + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _private_dir(path: Path) -> None:
    """The work dir's ``secrets`` folder (ephemeral key, pseudonym cache): owner-only."""
    path.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def resolve_hmac_key(settings: Settings, allow_ephemeral_key: bool | None = None) -> HmacKey:
    """The pseudonymisation key from ``$LOWINCOME_HMAC_KEY`` or ``settings.hmac_key_file``.

    Without either the build refuses (:class:`AnalystKeyMissing`) — unless ephemeral keys are
    allowed (argument, ``settings.extra["allow_ephemeral_hmac_key"]`` or
    ``$LOWINCOME_ALLOW_EPHEMERAL_HMAC_KEY=1``; for demos and tests): then a random key is
    generated once into ``<work>/secrets/analyst_hmac.key`` (mode 0600) and reused by later
    builds of the same work dir, so keys stay stable across the demo's nights.
    """
    secret = read_secret(HMAC_ENV, settings.hmac_key_file)
    if secret is not None:
        if len(secret) < MIN_KEY_BYTES:
            raise AnalystKeyMissing(
                f"the pseudonymisation key is {len(secret)} bytes; use at least {MIN_KEY_BYTES} random bytes "
                f"(e.g. `python -c 'import secrets; print(secrets.token_hex(32))' > keyfile`)"
            )
        source = "env" if os.environ.get(HMAC_ENV) else f"file {settings.hmac_key_file}"
        return HmacKey(secret, ephemeral=False, source=source)
    if allow_ephemeral_key is None:
        allow_ephemeral_key = bool(settings.extra.get("allow_ephemeral_hmac_key")) or _env_flag(EPHEMERAL_ENV)
    if not allow_ephemeral_key:
        raise AnalystKeyMissing(
            "the analyst database needs a pseudonymisation key and none is configured: set "
            f"${HMAC_ENV}, or hmac_key_file in the settings (LOWINCOME_HMAC_KEY_FILE) to a file outside "
            "the repository holding at least 32 random bytes. For a demo only, allow an ephemeral key "
            f"(build_analyst_db(..., allow_ephemeral_key=True) or {EPHEMERAL_ENV}=1)."
        )
    path = ephemeral_key_path(settings)
    if path.exists():
        secret = path.read_bytes().strip()
    else:
        _private_dir(path.parent)
        secret = secrets.token_hex(32).encode()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            secret = path.read_bytes().strip()
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(secret + b"\n")
    inside_repo = path.resolve().is_relative_to(REPO_ROOT)
    if str(path) in _EPHEMERAL_WARNED:  # once per process: the demo builds the database every night
        return HmacKey(secret, ephemeral=True, source=f"ephemeral {path}")
    _EPHEMERAL_WARNED.add(str(path))
    print(
        f"lowincome analyst: no {HMAC_ENV} / hmac_key_file configured; using an EPHEMERAL demo key "
        f"stored at {path} (0600). Pseudonyms are stable only while that file is kept; do not use this "
        f"in production.{' The path is inside the repository checkout: keep it in a git-ignored folder (demo_out/ is) and never commit it.' if inside_repo else ''}",
        file=sys.stderr,
    )
    return HmacKey(secret, ephemeral=True, source=f"ephemeral {path}")


_B32 = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)


def pseudonyms(values: Iterable[str | None], key: bytes, domain: str, prefix: str) -> list[str | None]:
    """Keyed pseudonyms: ``prefix`` + base32 of the first 80 bits of HMAC-SHA256(key, domain|value).

    Base32 (letters and 2-7) keeps a pseudonym from ever looking like an 18-digit id, and the
    domain keeps a person and a household with the same raw id apart. The HMACs are one C call
    per id; the base32 encoding is vectorised over all of them.
    """
    values = list(values)
    tag = domain.encode() + b"\x00"
    digest = hmac.digest
    blob = b"".join(digest(key, tag + v.encode(), "sha256")[:10] for v in values if v is not None)
    n = len(blob) // 10
    if n:
        bits = np.unpackbits(np.frombuffer(blob, dtype=np.uint8).reshape(n, 10), axis=1).reshape(n, 16, 5)
        idx = bits @ np.array([16, 8, 4, 2, 1], dtype=np.uint8)
        chars = _B32[idx].tobytes().decode("ascii")
    else:
        chars = ""
    out: list[str | None] = []
    j = 0
    for v in values:
        if v is None:
            out.append(None)
        else:
            out.append(prefix + chars[j * 16:(j + 1) * 16])
            j += 1
    return out


# --- scrubbing free text -------------------------------------------------------------------

ID_RUN = re.compile(r"(?<![0-9])[0-9]{15,}[Xx]?(?![0-9])|[0-9]{17}[0-9Xx]")
PHONE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{3,}")
NAME_MASK = "[姓名]"
ID_MASK = "[证件号]"
PHONE_MASK = "[电话]"

# Evidence / detail keys that hold raw record ids or people's names: dropped, except person and
# household ids, which become pseudonymous keys.
_PERSON_KEYS = {"person_id", "person", "deceased_person_id", "head_person_id", "member_id"}
_HOUSEHOLD_KEYS = {"family_id", "hukou_no", "household_id"}
_DROP_KEY = re.compile(r"(^|_)(id|ids|no|nos|name|names|handler|handlers|actor|visitor|contact|phone|mobile|address|birth_date|credit_code)$")
_PERSON_LIST_KEYS = {"person_ids", "member_ids", "student_person_ids", "members"}
_HOUSEHOLD_LIST_KEYS = {"family_ids", "household_ids", "hukou_nos"}


class NameMatcher:
    """Finds full names of a roster in text: longest match first, O(len(text) × name lengths)."""

    def __init__(self, names: Iterable[str | None]):
        self.names = {n.strip() for n in names if n and len(n.strip()) >= 2}
        self.first = {n[0] for n in self.names}
        self.lengths = sorted({len(n) for n in self.names}, reverse=True)

    def __bool__(self) -> bool:
        return bool(self.names)

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        i, n = 0, len(text)
        while i < n:
            if text[i] in self.first:
                for length in self.lengths:
                    if text[i:i + length] in self.names:
                        yield i, i + length
                        i += length
                        break
                else:
                    i += 1
            else:
                i += 1

    def scrub(self, text: str) -> str:
        parts, last = [], 0
        for a, b in self.spans(text):
            parts.append(text[last:a])
            parts.append(NAME_MASK)
            last = b
        if not parts:
            return text
        parts.append(text[last:])
        return "".join(parts)

    def found(self, text: str) -> list[str]:
        return [text[a:b] for a, b in self.spans(text)]


class Scrubber:
    """Removes names and ids from free text and JSON; known household ids become their keys."""

    def __init__(self, names: NameMatcher, household_keys: dict[str, str], person_keys: dict[str, str],
                 other_keys: dict[str, str] | None = None):
        self.names = names
        self.household_keys = household_keys
        self.person_keys = person_keys  # upper-cased 身份证号 -> key
        self.other_keys = other_keys or {}  # case and warning ids -> keys
        self._clean: dict[str, str] = {}  # short text -> scrubbed: JSON values repeat (labels, months, amounts)

    def _household_key(self, raw: str) -> str | None:
        return self.household_keys.get(raw) or self.household_keys.get("H" + raw)

    def _token(self, m: re.Match) -> str:
        t = m.group(0)
        hk = self._household_key(t)
        if hk:
            return hk
        return self.person_keys.get(t.upper()) or self.other_keys.get(t) or t

    def text(self, s: str | None) -> str | None:
        if s is None:
            return None
        clean = self._clean.get(s)
        if clean is None:
            clean = TOKEN.sub(self._token, s)
            clean = ID_RUN.sub(ID_MASK, clean)
            clean = PHONE.sub(PHONE_MASK, clean)
            clean = self.names.scrub(clean) if self.names else clean
            if len(s) <= 64:  # the values that repeat; long texts (explanations) are unique
                self._clean[s] = clean
        return clean

    def value(self, v, key: str | None = None):
        if isinstance(v, dict):
            out = {}
            lowered = {str(k).lower(): vv for k, vv in v.items()}
            # One household key per object: household_id, else family_id, else hukou_no (a roster
            # family's hukou household is another household, so they must not overwrite each other).
            for hk in ("household_id", "family_id", "hukou_no"):
                if isinstance(lowered.get(hk), str) and lowered[hk].strip():
                    out["household_key"] = self._household_key(lowered[hk].strip()) or ID_MASK
                    break
            for kk, vv in v.items():
                kl = str(kk).lower()
                if kl in _HOUSEHOLD_KEYS:
                    continue
                if kl in _PERSON_KEYS and isinstance(vv, str):
                    out[_rename(kl, "person_key")] = self.person_keys.get(vv.strip().upper()) or ID_MASK
                elif kl in ("warning_id", "last_warning_id") and isinstance(vv, str):
                    out[kl.replace("_id", "_key")] = self.other_keys.get(vv) or ID_MASK
                elif kl == "case_id" and isinstance(vv, str):
                    out["case_key"] = self.other_keys.get(vv) or ID_MASK
                elif kl in _PERSON_LIST_KEYS and isinstance(vv, list):
                    out[_rename(kl, "person_keys")] = [
                        (self.person_keys.get(x.strip().upper()) or ID_MASK) if isinstance(x, str) else self.value(x)
                        for x in vv]
                elif kl in _HOUSEHOLD_LIST_KEYS and isinstance(vv, list):
                    out["household_keys"] = [
                        (self._household_key(x.strip()) or ID_MASK) if isinstance(x, str) else self.value(x) for x in vv]
                elif _DROP_KEY.search(kl):
                    continue  # raw evidence ids (settle_id, event_id, ...), names, handlers
                else:
                    out[kk] = self.value(vv, kl)
            return out
        if isinstance(v, list):
            return [self.value(x, key) for x in v]
        if isinstance(v, str):
            return self.text(v)
        return v

    def json_text(self, raw: str | None) -> str | None:
        if raw is None:
            return None
        try:
            parsed = json.loads(raw)
        except (TypeError, ValueError):
            return json.dumps(self.text(raw), ensure_ascii=False)
        return json.dumps(self.value(parsed), ensure_ascii=False, sort_keys=True)


def _rename(key: str, kind: str) -> str:
    """person_id -> person_key, deceased_person_id -> deceased_person_key, student_person_ids -> student_person_keys."""
    if key in {"person_id", "family_id", "hukou_no", "household_id", "person_ids", "member_ids"}:
        return kind
    if key == "members":
        return "member_keys"
    return re.sub(r"_(id|no)s?$", "", key) + ("_keys" if kind.endswith("s") else "_key")


# --- building -----------------------------------------------------------------------------


@dataclass
class _Build:
    con: duckdb.DuckDBPyConnection  # where the SQL runs
    src: str  # catalog of the restricted warehouse on that connection
    dst: str  # catalog of the analyst database being built
    present: dict[str, bool]
    # Incremental build: the catalog holding the previous build's tables. The build works on a copy of
    # the previous file, so this is ``dst`` itself until its tables are replaced.
    prev: str | None = None
    # source relation -> the data months to read from it (incremental build); absent = all months
    filters: dict[str, list[str]] = field(default_factory=dict)
    copied: dict[str, list[str]] = field(default_factory=dict)  # table -> months copied from prev
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> month -> partition token
    known_clean: pa.Table | None = None  # column v: cleaned texts an earlier build already checked
    cache: str = ""  # catalog of the restricted pseudonym cache (raw id -> pseudonym)
    stats: dict = field(default_factory=dict)

    def source_full(self, qualified: str) -> str:
        """The whole relation (every month)."""
        if self.present.get(qualified):
            schema, table = qualified.split(".")
            return f'"{self.src}"."{schema}"."{table}"'
        return "_an_empty_" + qualified.replace(".", "_")

    def source(self, qualified: str) -> str:
        """The relation as this build reads it: only the months to rebuild when incremental."""
        periods = self.filters.get(qualified)
        if periods is None or not self.present.get(qualified):
            return self.source_full(qualified)
        return f"(select * from {self.source_full(qualified)} where {period_in(periods)})"


def period_in(periods: Iterable[str]) -> str:
    """``period in ('YYYY-MM', ...)`` (``false`` when empty); the months are checked, then inlined."""
    periods = sorted(set(periods))
    bad = [p for p in periods if not _PERIOD.fullmatch(p)]
    if bad:
        raise AnalystDbError(f"not a data month: {bad[0]!r}")
    return "period in (" + ", ".join(f"'{p}'" for p in periods) + ")" if periods else "false"


def build_format() -> str:
    """Fingerprint of everything that shapes the analyst tables: their SQL and the scrubbing version.
    A previous build with another format is never reused."""
    h = hashlib.sha256(f"scrub={SCRUB_VERSION}".encode())
    for path in sorted((ANALYST_SQL_DIR / "tables").glob("*.sql")):
        h.update(path.name.encode() + b"\x00" + path.read_bytes())
    return "f_" + h.hexdigest()[:16]


_CREATE_AS = re.compile(r"create table \{\{\s*target\s*\}\}\.(\w+) as", re.IGNORECASE)
_SOURCE_CALL = re.compile(r"\{\{\s*source\(\s*'(\w+)'\s*,\s*'(\w+)'\s*\)\s*\}\}")
_TARGET = re.compile(r"\{\{\s*target\s*\}\}")


def render_sql(text: str, build: _Build) -> str:
    text = _SOURCE_CALL.sub(lambda m: build.source(f"{m.group(1)}.{m.group(2)}"), text)
    return _TARGET.sub(f'"{build.dst}"', text)


def _present(con: duckdb.DuckDBPyConnection, catalog: str, qualified: Iterable[str]) -> dict[str, bool]:
    """Which of the ``schema.table`` relations exist in ``catalog`` (one catalog query)."""
    have = {f"{s}.{t}" for s, t in con.execute(
        """select schema_name, table_name from duckdb_tables() where database_name = ?
           union all select schema_name, view_name from duckdb_views() where database_name = ?""",
        [catalog, catalog]).fetchall()}
    return {q: q in have for q in qualified}


def _duckdb_config(settings: Settings) -> dict:
    settings.temp_directory.mkdir(parents=True, exist_ok=True)
    return {
        "threads": settings.duckdb_threads,
        "memory_limit": settings.duckdb_memory_limit,
        "temp_directory": str(settings.temp_directory),
    }


def _distinct(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> list[str]:
    return [v for v in con.execute(sql, params or []).to_arrow_table().column(0).to_pylist() if v is not None]


def _register(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, list]) -> None:
    con.register(name, pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()}))


def _prepare_mappings(b: _Build, key: HmacKey) -> tuple[Scrubber, NameMatcher]:
    """Register the key mappings (_an_*_keys) and the scrubbed text/JSON lookups on b.con.

    Keys are computed for the ids of the months being built and of all warnings and cases. Free
    text is scrubbed once: a text cleaned by an earlier build is taken from its ``build_text_cache``
    (by keyed digest); only new texts are scrubbed. The Scrubber knows exactly the ids those texts
    mention, looked up across every month (not millions of ids it will never meet), so an
    incremental build writes what a full build would, and neither holds every id in a dict.
    """
    con, s, full = b.con, b.source, b.source_full
    # The ids the tables join on (household_id of persons and households, a warning's household,
    # a case's household): keyed in SQL from the pseudonym cache, new ids only through Python.
    keyed_households = _key_table(b, key, "household", "h_", "_an_household_keys", ("household_id", "household_key"), f"""
        select household_id from {s('core.person_month')}
        union select household_id from {s('core.household_month')}
        union select coalesce(nullif(family_id, ''), 'H' || nullif(hukou_no, '')) from {s('mart.warnings')}
        union select household_id from {s('mart.cases')}""")
    keyed_persons = _key_table(b, key, "person", "p_", "_an_person_keys", ("person_id", "person_key"), f"""
        select person_id from {s('core.person_month')}
        union select head_person_id from {s('core.household_month')}
        union select person_id from {s('mart.warnings')}""")
    _key_table(b, key, "case", "c_", "_an_case_keys", ("id", "key"),
               f"select case_id from {s('mart.cases')} union select case_id from {s('mart.warnings')}")
    _key_table(b, key, "warning", "w_", "_an_warning_keys", ("id", "key"),
               f"select warning_id from {s('mart.warnings')} union select last_warning_id from {s('mart.cases')}")
    other_keys = dict(con.execute("select id, key from _an_case_keys union all select id, key from _an_warning_keys").fetchall())

    # Every distinct text and JSON with its keyed digest, computed where the texts are (HMAC-SHA256
    # in SQL); the previous build's cache gives the clean form of those it scrubbed, and only the
    # rest (tonight's new texts) comes into Python to be scrubbed.
    ipad, opad = _hmac_pads(key.secret)
    con.execute(f"""
        create or replace temp table _an_clean as
        select r.raw, r.kind, -- hex of the HMAC, digits mapped to letters: never shaped like an id
               translate(left(sha256(?::blob || unhex(sha256(?::blob || encode(r.kind || '|' || r.raw)))), 32),
                         '0123456789', 'ghijklmnop') as digest,
               cast(null as varchar) as clean, false as from_cache
        from (select explanation as raw, 'text' as kind from {s('mart.warnings')}
              union select source, 'text' from {s('mart.case_events')}
              union select cast(evidence as varchar), 'json' from {s('mart.warnings')}
              union select cast(detail as varchar), 'json' from {s('mart.case_events')}) r
        where r.raw is not null""", [opad, ipad])
    if b.prev is not None:
        con.execute(f'update _an_clean set clean = c.clean, from_cache = true from "{b.prev}".main.build_text_cache c '
                    "where c.digest = _an_clean.digest and c.kind = _an_clean.kind")
    fresh = con.execute("select raw, kind from _an_clean where not from_cache order by kind, raw").fetchall()
    fresh_texts = [r for r, kind in fresh if kind == "text"]
    fresh_jsons = [r for r, kind in fresh if kind == "json"]
    mentioned_households, mentioned_persons = _mentioned_ids(b, _mentions(fresh_texts, fresh_jsons))

    # distinct per relation first: a union over every month's rows is a far larger hash table
    names = NameMatcher(_distinct(con, f"select distinct name from {full('core.person_month')} "
                                       f"union select name from {full('staging.mca_roster')}"))
    scrubber = Scrubber(
        names,
        dict(zip(mentioned_households, pseudonyms(mentioned_households, key.secret, "household", "h_"))),
        {p.upper(): k for p, k in zip(mentioned_persons, pseudonyms(mentioned_persons, key.secret, "person", "p_"))},
        other_keys)
    _register(con, "_an_fresh", {"raw": fresh_texts + fresh_jsons, "kind": ["text"] * len(fresh_texts) + ["json"] * len(fresh_jsons),
                                 "clean": [scrubber.text(t) for t in fresh_texts] + [scrubber.json_text(t) for t in fresh_jsons]})
    try:
        con.execute("update _an_clean set clean = f.clean from _an_fresh f where f.raw = _an_clean.raw and f.kind = _an_clean.kind")
    finally:
        con.unregister("_an_fresh")
    for kind in ("text", "json"):
        con.execute(f"create or replace temp table _an_{kind} as select raw, clean from _an_clean where kind = '{kind}'")
    counts = dict(con.execute("select from_cache, count(*) from _an_clean group by all").fetchall())
    b.known_clean = con.execute("select distinct clean as v from _an_clean where from_cache").arrow().read_all()
    b.stats.update(keyed_households=keyed_households[0], keyed_persons=keyed_persons[0],
                   new_ids_keyed=keyed_households[1] + keyed_persons[1],
                   ids_mentioned_in_new_text=len(mentioned_households) + len(mentioned_persons),
                   texts_scrubbed=counts.get(False, 0), texts_from_cache=counts.get(True, 0))
    return scrubber, names


def _key_table(b: _Build, key: HmacKey, domain: str, prefix: str, name: str, columns: tuple[str, str],
               ids_sql: str) -> tuple[int, int]:
    """Create temp table ``name`` (raw id, pseudonym) for the distinct non-null ids of ``ids_sql``.

    Pseudonyms already in the pseudonym cache (``b.cache``) are joined in SQL; only ids the cache
    has not seen go through :func:`pseudonyms` and are added to it. Returns (ids, ids keyed now)."""
    con = b.con
    con.execute(f"create or replace temp table _an_need as select distinct id from ({ids_sql}) t(id) where id is not null")
    raw, pkey = columns
    try:
        table = f'"{b.cache}".main.keys_{domain}'
        fresh = _distinct(con, f"select id from _an_need n anti join {table} k on k.raw = n.id")
        if fresh:
            _register(con, "_an_fresh", {"raw": fresh, "pkey": pseudonyms(fresh, key.secret, domain, prefix)})
            con.execute(f"insert into {table} select raw, pkey from _an_fresh")
            con.unregister("_an_fresh")
        con.execute(f'create or replace temp table {name} as '
                    f'select k.raw as "{raw}", k.pkey as "{pkey}" from {table} k semi join _an_need n on n.id = k.raw')
        return con.execute("select count(*) from _an_need").fetchone()[0], len(fresh)
    finally:
        con.execute("drop table if exists _an_need")


def pseudonym_cache_path(settings: Settings) -> Path:
    """The restricted cache of raw id -> pseudonym (``<work>/secrets/pseudonyms.duckdb``, 0600): it
    lets a night key only the ids it has not seen before. Whoever can read it can re-identify the
    analyst database, like whoever can read the key: it lives beside the ephemeral key, in the
    0700 ``secrets`` folder of the work dir, never next to the analyst file."""
    return settings.work / "secrets" / "pseudonyms.duckdb"


_CACHE_DOMAINS = ("household", "person", "case", "warning")


def _attach_pseudonym_cache(con: duckdb.DuckDBPyConnection, path: Path, key: HmacKey, settings: Settings,
                            reset: bool = False) -> str:
    """Attach the pseudonym cache read-write (in the 0700 secrets folder, mode 0600, encrypted
    with the warehouse's key when the warehouse is); a cache of another key, or ``reset`` (a full
    build re-keys everything), starts empty, an unreadable one is replaced. Returns its catalog;
    when no file can be attached, an in-memory cache that lasts this build (every id is keyed)."""
    _private_dir(path.parent)
    alias = "pseudonym_cache_" + secrets.token_hex(4)
    # the cache holds raw ids: at rest it is protected like the warehouse
    secret = read_secret("LOWINCOME_ENCRYPTION_KEY", settings.encryption_key_file)
    if reset:
        _remove_database(path)
    try:
        attach(con, path, alias, secret)
    except duckdb.Error:
        _remove_database(path)  # a cache: a damaged one is rebuilt
        try:
            attach(con, path, alias, secret)
        except duckdb.Error:
            attach(con, ":memory:", alias)  # no usable file: a cache for this build only
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)
    c = f'"{alias}".main'
    con.execute(f"create table if not exists {c}.meta (key_fingerprint varchar)")
    fingerprint = con.execute(f"select max(key_fingerprint) from {c}.meta").fetchone()[0]
    if fingerprint != key.fingerprint():
        for domain in _CACHE_DOMAINS:
            con.execute(f"drop table if exists {c}.keys_{domain}")
        con.execute(f"delete from {c}.meta")
        con.execute(f"insert into {c}.meta values (?)", [key.fingerprint()])
    for domain in _CACHE_DOMAINS:
        con.execute(f"create table if not exists {c}.keys_{domain} (raw varchar, pkey varchar)")
    return alias


def _hmac_pads(secret: bytes) -> tuple[bytes, bytes]:
    """The inner and outer HMAC-SHA256 pads of ``secret`` (RFC 2104), so SQL can compute
    ``sha256(opad || unhex(sha256(ipad || message)))`` = HMAC-SHA256(secret, message) in hex."""
    block = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
    block = block.ljust(64, b"\x00")
    return bytes(x ^ 0x36 for x in block), bytes(x ^ 0x5C for x in block)


def _json_strings(v) -> Iterator[str]:
    if isinstance(v, dict):
        for x in v.values():
            yield from _json_strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from _json_strings(x)
    elif isinstance(v, str):
        yield v


def _mentions(texts: list[str], jsons: list[str]) -> set[str]:
    """Every string the Scrubber could look up as an id in these texts: their tokens, and each JSON
    string value as a whole."""
    out: set[str] = set()
    for t in texts:
        out.update(TOKEN.findall(t))
    for raw in jsons:
        try:
            parsed = json.loads(raw)
        except (TypeError, ValueError):
            out.update(TOKEN.findall(raw))
            continue
        for v in _json_strings(parsed):
            out.add(v.strip())
            out.update(TOKEN.findall(v))
    return out


def _mentioned_ids(b: _Build, mentions: set[str]) -> tuple[list[str], list[str]]:
    """The household and person ids (of any month) among ``mentions``, as the Scrubber looks them up:
    a household id as written or with the hukou prefix H, a person id upper-cased."""
    if not mentions:
        return [], []
    full = b.source_full
    m = sorted(mentions)
    _register(b.con, "_an_mentions", {"t": m, "h": ["H" + t for t in m], "u": [t.upper() for t in m]})
    try:
        # One semi-join per id column (a plain column against the wanted set is far cheaper than an
        # expression per row). Ids are upper-cased by staging (pipelines.feeds), so a person id is
        # compared as stored; a hukou household H<hukou_no> by its hukou_no.
        b.con.execute("create or replace temp table _an_wanted as select t as id from _an_mentions "
                      "union select h from _an_mentions")
        b.con.execute("create or replace temp table _an_wanted_hukou as "
                      "select substr(id, 2) as id from _an_wanted where starts_with(id, 'H')")
        b.con.execute("create or replace temp table _an_wanted_u as select distinct u from _an_mentions")
        households = _distinct(b.con, f"""
            select household_id from {full('core.person_month')} where household_id in (select id from _an_wanted)
            union select family_id from {full('core.person_month')} where family_id in (select id from _an_wanted)
            union select 'H' || hukou_no from {full('core.person_month')} where hukou_no in (select id from _an_wanted_hukou)
            union select household_id from {full('core.household_month')} where household_id in (select id from _an_wanted)
            union select id from (select coalesce(nullif(family_id, ''), 'H' || nullif(hukou_no, '')) as id
                                  from {full('mart.warnings')}) where id in (select id from _an_wanted)
            union select household_id from {full('mart.cases')} where household_id in (select id from _an_wanted)""")
        persons = _distinct(b.con, f"""
            select person_id from {full('core.person_month')} where person_id in (select u from _an_wanted_u)
            union select head_person_id from {full('core.household_month')} where head_person_id in (select u from _an_wanted_u)
            union select person_id from {full('mart.warnings')} where person_id in (select u from _an_wanted_u)""")
    finally:
        b.con.unregister("_an_mentions")
        for table in ("_an_wanted", "_an_wanted_hukou", "_an_wanted_u"):
            b.con.execute(f"drop table if exists {table}")
    return households, persons


def _feeds_table() -> dict[str, list]:
    """The feed registry as a table: department, Chinese name, cadence, staleness lag."""
    from pipelines.feeds import FEEDS

    ids = sorted(FEEDS)
    return {
        "feed_id": ids,
        "department": [FEEDS[f].department for f in ids],
        "name_zh": [FEEDS[f].title for f in ids],
        "cadence": [FEEDS[f].cadence for f in ids],
        "stale_after_months": [FEEDS[f].stale_after_months for f in ids],
    }


REFERENCE_COMMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "build_info": (
        "构建信息 One row about this build of the analyst database: when, for which night, and which key generation.",
        {
            "built_at": "构建时间 Wall-clock time the file was built",
            "as_of": "数据截止 The night (as_of date) the build reflects; freshness is measured against it",
            "reference_at": "参考时刻 The night's logical time (02:00 +08:00 of as_of): feedback is overdue when due_at is before it",
            "key_fingerprint": "密钥指纹 Keyed tag of the pseudonymisation key: pseudonyms are comparable across builds with the same fingerprint",
            "ephemeral_key": "临时密钥 True if a demo key generated on the fly was used (pseudonyms not stable beyond that work dir)",
            "sources": "来源 Row counts of the warehouse relations read (JSON); a missing relation is built empty",
            "format": "格式指纹 Fingerprint of the table SQL and scrubbing version this file was built with",
            "build_mode": "构建方式 full (every month built from the warehouse) or incremental (unchanged months copied from the previous build)",
            "full_built_at": "上次全量构建 Wall-clock time of the last full build this file descends from",
            "build_stats": "构建统计 Months built and copied per table, texts scrubbed and taken from the cache, ids keyed (JSON)",
        },
    ),
    "build_partitions": (
        "构建分区 Bookkeeping of the incremental build: one row per partitioned table and data month, with a keyed token of "
        "what the month was built from (deliveries, SQL, key). A month whose token is unchanged is copied, not rebuilt.",
        {
            "table_name": "表名 person_month or household_month",
            "period": "数据月份 Data month YYYY-MM",
            "token": "构建令牌 Keyed digest of the month's inputs (reveals nothing about them)",
        },
    ),
    "build_text_cache": (
        "文本脱敏缓存 Free text (explanations, evidence, event details) as scrubbed by a build, by a keyed digest of the raw "
        "text, so a later build scrubs only new texts. The raw text is not stored.",
        {
            "digest": "摘要 Keyed digest (HMAC) of the raw text; not reversible without the key",
            "kind": "类型 text (plain text) or json (evidence / detail)",
            "clean": "脱敏文本 The scrubbed text, as in warnings / case_events",
        },
    ),
    "indicators": (
        "监测指标 The monitoring indicators: code, Chinese and English name.",
        {"indicator_code": "指标代码 Indicator code", "name_zh": "中文名称 Chinese name", "name_en": "English name"},
    ),
    "departments": (
        "部门 Department codes and names.",
        {"department": "部门代码 Department code", "name_zh": "中文名称 Chinese name", "name_en": "English name"},
    ),
    "feeds": (
        "数据源 Departmental feeds: department, name, cadence and the lag after which the feed counts as stale.",
        {
            "feed_id": "数据源 Feed id",
            "department": "部门 Delivering department",
            "name_zh": "中文名称 Chinese name",
            "cadence": "频率 monthly / quarterly / term / daily / reference",
            "stale_after_months": "容许滞后月数 Months the last loaded period may lag the month before as_of; null = never stale by months",
        },
    ),
}


def _create_reference_tables(b: _Build, key: HmacKey, as_of: dt.date, counts: dict[str, int | None],
                             full_built_at: float | None) -> None:
    con, dst = b.con, f'"{b.dst}"'
    rules = default_rules()
    tables = {
        "indicators": {"indicator_code": list(rules.codes),
                       "name_zh": [r.name_zh for r in rules.indicators.values()],
                       "name_en": [r.name_en for r in rules.indicators.values()]},
        "departments": {"department": list(rules.departments),
                        "name_zh": [d.name_zh for d in rules.departments.values()],
                        "name_en": [d.name_en for d in rules.departments.values()]},
        "feeds": _feeds_table(),
    }
    for name, cols in tables.items():
        con.register("_an_ref", pa.table(cols))
        con.execute(f"create table {dst}.{name} as select * from _an_ref")
        con.unregister("_an_ref")
    reference_at = night_time(as_of)
    con.execute(
        f"""create table {dst}.build_info as select
               now() as built_at, ?::date as as_of, ?::timestamptz as reference_at,
               ?::varchar as key_fingerprint, ?::boolean as ephemeral_key, ?::json as sources,
               ?::varchar as format, ?::varchar as build_mode, coalesce(to_timestamp(?::double), now()) as full_built_at,
               ?::json as build_stats""",
        [as_of, reference_at, key.fingerprint(), key.ephemeral, json.dumps(counts, sort_keys=True),
         build_format(), b.stats.get("build_mode", "full"), full_built_at, json.dumps(b.stats, sort_keys=True)],
    )
    for name, (comment, cols) in REFERENCE_COMMENTS.items():
        con.execute(f"comment on table {dst}.{name} is {_sql_str(comment)}")
        for col, c in cols.items():
            con.execute(f"comment on column {dst}.{name}.{col} is {_sql_str(c)}")


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _default_as_of(b: _Build) -> dt.date:
    """The night a build reflects when none is given: the latest case event or warning (data
    written at the night's logical time), as a China date, else today in China time."""
    row = b.con.execute(
        f"""select cast(timezone('Asia/Shanghai', max(t)) as date) from (
               select max("at") as t from {b.source('mart.case_events')}
               union all select max(raised_at) from {b.source('mart.warnings')})"""
    ).fetchone()
    if row and row[0] is not None:
        return row[0]
    return today()


def _partition_tokens(b: _Build, key: HmacKey) -> dict[str, dict[str, str]]:
    """table -> data month -> keyed token of what that month of the table is built from: the core
    build's inputs (delivery ids and load times) of the feeds upstream of the core table, the SQL of
    those core models and of the analyst tables, and the key. Months core never recorded get none
    (they are always rebuilt)."""
    if not _present(b.con, b.src, ["core.build_runs"])["core.build_runs"]:
        return {}
    from pipelines import core

    rows = b.con.execute(f'select period, cast(inputs as varchar) from "{b.src}".core.build_runs').fetchall()
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


def _plan_partitions(b: _Build, key: HmacKey) -> None:
    """Decide, per partitioned table, which months are copied from the previous build and which are
    built (b.copied, b.filters)."""
    b.tokens = _partition_tokens(b, key)
    if b.prev is None:
        return
    before = dict(((t, p), tok) for t, p, tok in b.con.execute(
        f'select table_name, period, token from "{b.prev}".main.build_partitions').fetchall())
    for table, qualified in PARTITIONED.items():
        if not b.present[qualified]:
            continue
        periods = [r[0] for r in b.con.execute(f"select distinct period from {b.source_full(qualified)}").fetchall()
                   if r[0] is not None]
        tokens = b.tokens.get(table, {})
        copy = sorted(p for p in periods if tokens.get(p) is not None and before.get((table, p)) == tokens[p])
        b.copied[table] = copy
        b.filters[qualified] = sorted(set(periods) - set(copy))


def _clear_previous(b: _Build) -> None:
    """In the copy of the previous file: drop every view and every table but the partitioned ones,
    and delete the months of those that are rebuilt (or gone from the warehouse)."""
    con, dst = b.con, b.dst
    for (view,) in con.execute("select view_name from duckdb_views() where database_name = ? and schema_name = 'main' "
                               "and not internal", [dst]).fetchall():
        con.execute(f'drop view "{dst}".main."{view}"')
    for (table,) in con.execute("select table_name from duckdb_tables() where database_name = ? and schema_name = 'main'",
                                [dst]).fetchall():
        if table in PARTITIONED:
            keep = b.copied.get(table, [])
            con.execute(f'delete from "{dst}".main.{table} where not ({period_in(keep)})')
        else:
            con.execute(f'drop table "{dst}".main."{table}"')
    b.prev = None  # its tables are gone


def _build_table(b: _Build, table: str, incremental: bool) -> None:
    sql = (ANALYST_SQL_DIR / "tables" / f"{table}.sql").read_text(encoding="utf-8")
    if incremental and table in PARTITIONED:
        # The table (and its comments) is kept from the previous build: the months to rebuild are
        # appended to the months kept, by the same query.
        create = _CREATE_AS.search(sql)
        if create is None or create.group(1) != table:
            raise AnalystDbError(f"warehouse/analyst/tables/{table}.sql must create its table with "
                                 f"`create table {{{{ target }}}}.{table} as`")
        sql = sql[:create.start()] + f"insert into {{{{ target }}}}.{table} by name" + sql[create.end():]
    try:
        b.con.execute(render_sql(sql, b))
    except duckdb.Error as e:
        raise AnalystDbError(f"building analyst table {table} (warehouse/analyst/tables/{table}.sql): {e}") from e


def _create_build_tables(b: _Build) -> None:
    con, dst = b.con, f'"{b.dst}"'
    rows: dict[str, list] = {"table_name": [], "period": [], "token": []}
    for table, qualified in PARTITIONED.items():
        built = b.filters.get(qualified)
        if built is None and b.present.get(qualified):
            built = [r[0] for r in con.execute(f"select distinct period from {b.source_full(qualified)}").fetchall()]
        for period in sorted(set(built or []) | set(b.copied.get(table, []))):
            token = b.tokens.get(table, {}).get(period)
            if token is not None:
                rows["table_name"].append(table)
                rows["period"].append(period)
                rows["token"].append(token)
    _register(con, "_an_build", rows)
    try:
        con.execute(f"create table {dst}.build_partitions as select * from _an_build")
    finally:
        con.unregister("_an_build")
    con.execute(f"create table {dst}.build_text_cache as select digest, kind, clean from _an_clean order by kind, digest")
    b.stats["months_built"] = {t: b.filters.get(q, "all") for t, q in PARTITIONED.items()}
    b.stats["months_copied"] = {t: len(b.copied.get(t, [])) for t in PARTITIONED}


def _populate(b: _Build, key: HmacKey, as_of: dt.date | None, full_built_at: float | None) -> NameMatcher:
    con = b.con
    for qualified, columns in SOURCES.items():
        if not b.present[qualified]:
            con.execute(f"create or replace temp table _an_empty_{qualified.replace('.', '_')} ({columns})")
    _plan_partitions(b, key)
    _, names = _prepare_mappings(b, key)
    counts = {q: (con.execute(f"select count(*) from {b.source_full(q)}").fetchone()[0] if b.present[q] else None)
              for q in SOURCES if q != "staging.mca_roster"}
    incremental = b.prev is not None
    if incremental:
        _clear_previous(b)
    for table in TABLE_FILES:
        _build_table(b, table, incremental)
    _create_build_tables(b)
    _create_reference_tables(b, key, as_of or _default_as_of(b), counts, full_built_at)
    return names


def _cleanup_mappings(con: duckdb.DuckDBPyConnection) -> None:
    for name in ("_an_household_keys", "_an_person_keys", "_an_case_keys", "_an_warning_keys", "_an_text", "_an_json",
                 "_an_clean"):
        with contextlib.suppress(Exception):
            con.execute(f"drop table if exists temp.main.{name}")
    for qualified in SOURCES:
        with contextlib.suppress(Exception):
            con.execute(f"drop table if exists temp.main._an_empty_{qualified.replace('.', '_')}")


def view_files() -> list[Path]:
    return sorted(ANALYST_SQL_DIR.glob("*.sql"))


def create_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Run every ``warehouse/analyst/*.sql`` (one view per file) on an open analyst database."""
    names = []
    for path in view_files():
        try:
            con.execute(path.read_text(encoding="utf-8"))
        except duckdb.Error as e:
            raise AnalystDbError(f"creating analyst view {path.relative_to(REPO_ROOT)}: {e}") from e
        names.append(path.stem)
    return names


def _fsync(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _usable_previous(target: Path, key: HmacKey, full_every_days: int) -> tuple[bool, float | None, str]:
    """Whether an incremental build may start from the previous analyst database: it opens, it was
    built with this key and this format, and its last full build is recent enough.

    Returns (usable, the previous full build's time in epoch seconds, 'reused' or why not)."""
    if not target.exists():
        return False, None, "no previous build"
    try:
        con = duckdb.connect(str(target), read_only=True, config={"threads": 1})
    except duckdb.Error as e:
        return False, None, f"previous build unreadable ({type(e).__name__})"
    try:
        have = {r[0] for r in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() and schema_name = 'main'"
        ).fetchall()}
        if not {"build_info", *BUILD_TABLES, *PARTITIONED} <= have:
            return False, None, "previous build has no partitions"
        # epoch seconds: DuckDB's Python conversion of timestamptz would need pytz
        fingerprint, fmt, full_at = con.execute(
            "select key_fingerprint, format, epoch(full_built_at) from build_info").fetchone()
    except duckdb.Error as e:
        return False, None, f"previous build unreadable ({type(e).__name__})"
    finally:
        con.close()
    if fingerprint != key.fingerprint():
        return False, None, "the key changed"
    if fmt != build_format():
        return False, None, "the table SQL or scrubbing changed"
    if full_at is None or dt.datetime.now(dt.timezone.utc).timestamp() - full_at > full_every_days * 86400:
        return False, None, f"last full build older than {full_every_days} days"
    return True, full_at, "reused"


def build_analyst_db(settings: Settings, con: duckdb.DuckDBPyConnection | None = None, *,
                     allow_ephemeral_key: bool | None = None, as_of: dt.date | None = None,
                     target: Path | None = None, full: bool = False) -> Path:
    """Build the pseudonymous analyst database and swap it in atomically; return its path.

    Incremental by default: months whose core partition is unchanged are copied from the previous
    file and cached clean texts are reused (see PARTITIONED); ``full`` (or a changed key, table SQL
    or scrubbing, or ``settings.analyst_full_rebuild_days`` since the last full build) builds every
    month from the warehouse. Both write the same tables.

    ``con`` is the nightly writer's open warehouse connection (the build then reads through it
    and attaches the new file to it, so nothing else needs to open the locked warehouse);
    without it the warehouse is attached READ_ONLY to a private in-memory connection.
    ``as_of`` is the night (for freshness and overdue feedback); by default the latest
    logical time found in the case events / warnings.
    """
    key = resolve_hmac_key(settings, allow_ephemeral_key)
    target = Path(target or settings.analyst_db)
    target.parent.mkdir(parents=True, exist_ok=True)
    from pipelines.atomic import sweep_stale_temps

    sweep_stale_temps(target)  # a build killed before its rename leaves its .tmp (and .tmp.wal)
    tmp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    dst = "analyst_build_" + secrets.token_hex(4)
    own = con is None
    config = _duckdb_config(settings)
    work = None
    try:
        if own:
            work = duckdb.connect(":memory:", config=config)
            work.execute("set enable_progress_bar = false")
            if not Path(settings.warehouse).exists():
                raise AnalystDbError(f"warehouse {settings.warehouse} does not exist; run the night first")
            attach(work, settings.warehouse, "wh", read_secret("LOWINCOME_ENCRYPTION_KEY", settings.encryption_key_file),
                   read_only=True)
            src = "wh"
        else:
            work = con
            src = con.execute("select current_database()").fetchone()[0]
        build = _Build(work, src, dst, _present(work, src, SOURCES))
        usable, full_built_at, reuse = (False, None, "full build asked for") if full else _usable_previous(
            target, key, settings.analyst_full_rebuild_days)
        if usable:
            # Work on a copy of the previous file: unchanged months stay where they are (copying the
            # file is far cheaper than re-inserting its rows), the rest is replaced.
            try:
                shutil.copyfile(target, tmp)
            except OSError as e:
                usable, full_built_at, reuse = False, None, f"could not copy the previous build ({e.strerror})"
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        build.prev = dst if usable else None
        build.stats.update(previous_build=reuse, build_mode="incremental" if usable else "full")
        build.cache = _attach_pseudonym_cache(work, pseudonym_cache_path(settings), key, settings, reset=not usable)
        work.execute(f'ATTACH {_sql_str(str(tmp))} AS "{dst}"')
        try:
            names = _populate(build, key, as_of, full_built_at)
        finally:
            _cleanup_mappings(work)
            for catalog in (dst, build.cache):
                if catalog:
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
            create_views(new)
            # Months copied from the previous file and texts from its cache passed that build's scan.
            only = {t: period_in(build.filters[q]) for t, q in PARTITIONED.items() if q in build.filters}
            new.register("_an_checked", build.known_clean if build.known_clean is not None
                         else pa.table({"v": pa.array([], pa.string())}))
            leaks = find_identifiers(new, names, skip_name_check=("regions", "indicators", "departments", "feeds"),
                                     where=only, checked="_an_checked")
            new.unregister("_an_checked")
            if leaks:
                raise AnalystDbError("analyst database failed its identifier scan (not published): "
                                     + "; ".join(leaks[:10]))
            new.execute("checkpoint")
        finally:
            new.close()
        _fsync(tmp)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(str(target) + ".wal")  # a stale WAL must never be replayed onto the new file
        os.replace(tmp, target)
        _fsync(target.parent)
        return target
    except BaseException:
        if own and work is not None:
            with contextlib.suppress(Exception):
                work.close()
        _remove_database(tmp)
        raise


# --- checks -------------------------------------------------------------------------------

ID18_SQL = "[0-9]{17}[0-9Xx]"
# Types whose text form can never hold 17 digits in a row (int32 has at most 10).
_CANNOT_HOLD_ID = {"BOOLEAN", "DATE", "TIME", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS",
                   "TIMESTAMP_NS", "INTERVAL", "TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER"}
CJK_SQL = "[\u4e00-\u9fff]"


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
                     where: dict[str, str] | None = None, checked: str | None = None) -> list[str]:
    """Every column (cast to text) scanned for an 18-character id shape and for roster names.

    ``where`` limits the scan of a relation to some rows (an incremental build scans only the months
    it built); values found in the one-column relation ``checked`` skip the name check (texts an
    earlier build already checked). One pass per relation for the id shape and one for the names;
    a relation with a name hit is then searched column by column to say where. Returns findings
    as ``table.column: what`` strings; empty means clean.
    """
    where = where or {}
    if names is not None and not isinstance(names, NameMatcher):
        names = NameMatcher(names)
    findings = []
    for rel, _kind in relations(con, include_views=include_views):
        cols = [(c, t) for c, t in con.execute(
            "select column_name, data_type from duckdb_columns() where database_name = current_database() "
            "and schema_name = 'main' and table_name = ? order by column_index", [rel]).fetchall()
            if t not in _CANNOT_HOLD_ID]
        if not cols:
            continue
        rows = f"where ({where[rel]})" if rel in where else ""
        qs = {c: f'cast("{c}" as varchar)' for c, _ in cols}
        counts = con.execute(
            "select " + ", ".join(f"count(*) filter (where regexp_matches({qs[c]}, $id))" for c, _ in cols)
            + f' from "{rel}" {rows}', {"id": ID18_SQL}).fetchone()
        findings += [f"{rel}.{c}: {n} value(s) shaped like a 身份证号" for (c, _), n in zip(cols, counts) if n]
        text_cols = [c for c, t in cols if t in ("VARCHAR", "JSON", "VARCHAR[]") or t.startswith(("STRUCT", "MAP"))]
        if not (names and text_cols) or rel in skip_name_check:
            continue
        seen = f" and v not in (select v from {checked})" if checked else ""

        def name_hits(columns: list[str]) -> set[str]:
            values = "[" + ", ".join(qs[c] for c in columns) + "]"
            texts = _distinct(con, f'select distinct v from (select unnest({values}) as v from "{rel}" {rows}) '
                                   f"where regexp_matches(v, $cjk){seen}", {"cjk": CJK_SQL})
            return {h for t in texts for h in names.found(t)}

        if name_hits(text_cols):
            for c in text_cols:
                hits = name_hits([c])
                if hits:
                    findings.append(f"{rel}.{c}: {len(hits)} roster name(s)")
    return findings


# --- query --------------------------------------------------------------------------------


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


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".") if v == v else "NaN"
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return ", ".join(_cell(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


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
            w.writerow(columns)
        for r in rows:
            w.writerow([_cell(v) for v in r])
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
        table.add_row(*(_cell(v) for v in r))
    width = None if getattr(out, "isatty", lambda: False)() else max(120, min(240, 16 * len(columns)))
    console = Console(file=out, width=width, soft_wrap=False, highlight=False)
    console.print(table)
    more = f" (first {max_rows} shown; use --csv for all)" if len(rows) > max_rows else ""
    console.print(f"{len(rows)} row(s){more}")
    return 0


# --- documentation ------------------------------------------------------------------------


def _md(s: str | None) -> str:
    return (s or "").replace("|", "\\|").replace("\n", " ")


def schema_markdown(con: duckdb.DuckDBPyConnection) -> str:
    """The data dictionary of an analyst database, generated from its COMMENT ONs."""
    comments = dict(con.execute(
        """select table_name, comment from duckdb_tables() where database_name = current_database()
           union all select view_name, comment from duckdb_views() where database_name = current_database()
           and not internal""").fetchall())
    lines: list[str] = []
    for kind_title, kind in (("Tables", "table"), ("Views", "view")):
        lines.append(f"### {kind_title}\n")
        for rel, k in relations(con):
            if k != kind:
                continue
            lines.append(f"#### `{rel}` ({kind})\n")
            lines.append(f"{_md(comments.get(rel))}\n")
            lines.append("| column | type | description |")
            lines.append("| --- | --- | --- |")
            for col, typ, com in con.execute(
                "select column_name, data_type, comment from duckdb_columns() where database_name = current_database() "
                "and schema_name = 'main' and table_name = ? order by column_index", [rel]).fetchall():
                lines.append(f"| `{col}` | {_md(typ)} | {_md(com)} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# The worked examples in docs/analyst.md: (question, SQL). Keep them runnable: the tests run
# every one against a fixture analyst database.
EXAMPLES: list[tuple[str, str]] = [
    (
        "最近一个数据月，各县各指标的预警有多少？ How many warnings did each indicator raise per county in the latest data month?",
        """select indicator_code, indicator_name, county_code, warnings, households, urgent + high as urgent_or_high
from warnings_by_indicator_county_month
where period = (select max(period) from warnings)
order by warnings desc, indicator_code, county_code""",
    ),
    (
        "各指标每月预警趋势 Monthly trend of warnings per indicator (all counties)",
        """select period, indicator_code, sum(warnings) as warnings
from warnings_by_indicator_county_month
group by all
order by period, indicator_code""",
    ),
    (
        "预警负荷：每千户预警数 Alert load: warnings per 1,000 monitored households by county and month",
        """select period, county_code, monitored_households, warnings, warnings_per_1000
from alert_load
order by period, county_code""",
    ),
    (
        "各部门在办个案和逾期反馈 Open cases and overdue feedback per department",
        """select department, department_name, sum(open_cases) as open_cases,
       sum(overdue_feedback) as overdue_feedback, sum(escalated) as escalated
from open_cases_by_department
group by all
order by overdue_feedback desc, open_cases desc""",
    ),
    (
        "各指标核实属实率 Confirmation rate per indicator (all counties)",
        """select indicator_code, indicator_name, sum(cases) as cases, sum(confirmed) as confirmed,
       sum(not_confirmed) as not_confirmed, sum(pending) as pending,
       round(sum(confirmed) / nullif(sum(confirmed) + sum(not_confirmed), 0), 3) as confirmation_rate
from confirmation_rate
group by all
order by indicator_code""",
    ),
    (
        "各部门从派发到首次反馈用了多少天？ How many days from dispatch to first feedback, per department?",
        """with routed as (
    select case_key, unnest(departments) as department from cases
),
dispatched as (
    select case_key, min(event_at) as dispatched_at from case_events where action = 'dispatched' group by case_key
),
answered as (
    select case_key, min(event_at) as answered_at from case_events where source = 'feedback' group by case_key
)
select r.department, count(*) as answered_cases,
       round(median(date_diff('hour', d.dispatched_at, a.answered_at) / 24.0), 1) as median_days,
       round(max(date_diff('hour', d.dispatched_at, a.answered_at) / 24.0), 1) as max_days
from routed r join dispatched d using (case_key) join answered a using (case_key)
group by all
order by department""",
    ),
    (
        "在册规模和进出（按类别、月份） Roster size and flows in/out by category and month",
        """select period, category, households, persons, households_in, households_out
from roster_flows
order by period, category""",
    ),
    (
        "哪些数据源滞后或被拒？ Which feeds are stale, rejected or missing?",
        """select feed_id, department, feed_name, last_loaded_period, last_delivery_date,
       latest_status, rejected, months_behind, freshness_status
from feed_status
order by freshness_status = 'ok', department, feed_id""",
    ),
    (
        "一户的救助链：预警最多的家庭 The history of one household (the one with the most warnings)",
        """select event_at, kind, period, indicator_code, severity, to_status, action
from household_history
where household_key = (select household_key from warnings group by 1 order by count(*) desc, 1 limit 1)
order by event_at, kind desc, seq""",
    ),
    (
        "收入骤减家庭的成员年龄结构 Age groups of the members of households warned for INC_DROP",
        """with warned as (
    select distinct household_key, period from warnings where indicator_code = 'INC_DROP'
)
select case when age < 18 then '0-17' when age < 60 then '18-59' else '60+' end as age_group,
       count(*) as persons, count(distinct household_key) as households
from person_month join warned using (household_key, period)
group by all
order by age_group""",
    ),
]

SCHEMA_START, SCHEMA_END = "<!-- schema:start -->", "<!-- schema:end -->"
EXAMPLES_START, EXAMPLES_END = "<!-- examples:start -->", "<!-- examples:end -->"


def _markdown_table(columns: list[str], rows: list[tuple], limit: int = 15) -> str:
    if not columns:
        return "_(no result set)_"
    lines = ["| " + " | ".join(_md(c) for c in columns) + " |", "|" + " --- |" * len(columns)]
    for r in rows[:limit]:
        lines.append("| " + " | ".join(_md(_cell(v)) for v in r) + " |")
    if len(rows) > limit:
        lines.append(f"\n_… {len(rows) - limit} more row(s)_")
    if not rows:
        lines.append("| " + " | ".join("" for _ in columns) + " |")
    return "\n".join(lines)


def examples_markdown(con: duckdb.DuckDBPyConnection, note: str = "") -> str:
    parts = [note.strip() + "\n"] if note else []
    for i, (question, sql) in enumerate(EXAMPLES, 1):
        columns, rows = run_query(con, sql)
        parts.append(f"### {i}. {question}\n\n```sql\n{sql}\n```\n\n{_markdown_table(columns, rows)}\n")
    return "\n".join(parts).rstrip() + "\n"


def _replace_section(text: str, start: str, end: str, body: str) -> str:
    a, b = text.find(start), text.find(end)
    if a < 0 or b < a:
        raise ValueError(f"markers {start} … {end} not found")
    return text[:a + len(start)] + "\n" + body + text[b:]


def update_doc(doc: Path, con: duckdb.DuckDBPyConnection, examples_note: str | None = None) -> None:
    """Regenerate the schema (and, when ``examples_note`` is given, the examples) section of docs/analyst.md."""
    from pipelines.atomic import atomic_write_text

    text = doc.read_text(encoding="utf-8")
    text = _replace_section(text, SCHEMA_START, SCHEMA_END, schema_markdown(con))
    if examples_note is not None:
        text = _replace_section(text, EXAMPLES_START, EXAMPLES_END, examples_markdown(con, examples_note))
    atomic_write_text(doc, text)


def main(argv: list[str] | None = None) -> int:
    """``python -m pipelines.analyst docs --database analyst.duckdb [--examples]``"""
    import argparse

    p = argparse.ArgumentParser(prog="python -m pipelines.analyst")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("docs", help="regenerate docs/analyst.md from an analyst database")
    d.add_argument("--database", type=Path, required=True)
    d.add_argument("--doc", type=Path, default=REPO_ROOT / "docs" / "analyst.md")
    d.add_argument("--examples", action="store_true", help="also re-run the ten examples and record their output")
    d.add_argument("--note", default="Outputs below come from the analyst database given to the generator.")
    args = p.parse_args(argv)
    con = connect_analyst(args.database)
    try:
        update_doc(args.doc, con, args.note if args.examples else None)
    finally:
        con.close()
    print(args.doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
