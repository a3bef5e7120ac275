"""The DuckDB warehouse: connections with bounded resources, SQL models from ``warehouse/``,
and the single-writer lock.

DuckDB lets one process open a file read-write. Every writer (CLI run, Airflow loader task)
goes through :func:`writer_lock` so a second run fails fast with a clear message instead of
``Could not set lock on file`` deep inside a task.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import socket
import time
from pathlib import Path
from typing import Iterator

import duckdb

from pipelines.atomic import pid_alive
from pipelines.config import WAREHOUSE_SQL_DIR, Settings, read_secret

SCHEMAS = ("raw", "staging", "core", "mart", "ops")


class WarehouseLocked(RuntimeError):
    """Another live process holds the warehouse writer lock."""


def connect(settings: Settings, read_only: bool = False, path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (or ``path``) with threads, memory and spill directory from settings."""
    path = Path(path or settings.warehouse)
    settings.temp_directory.mkdir(parents=True, exist_ok=True)
    config = {
        "threads": settings.duckdb_threads,
        "memory_limit": settings.duckdb_memory_limit,
        "temp_directory": str(settings.temp_directory),
        "preserve_insertion_order": False,
    }
    key = read_secret("LOWINCOME_ENCRYPTION_KEY", settings.encryption_key_file)
    if key is None:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(path), read_only=read_only, config=config)
    return _connect_encrypted(path, key, read_only, config)


def _connect_encrypted(path: Path, key: bytes, read_only: bool, config: dict) -> duckdb.DuckDBPyConnection:
    """Attach an encrypted database file as the default catalog (needs the httpfs wheel)."""
    con = duckdb.connect(":memory:", config=config)
    attach(con, path, "wh", key, read_only)
    con.execute("USE wh")
    return con


def attach(con: duckdb.DuckDBPyConnection, path: Path | str, alias: str, encryption_key: bytes | None = None,
           read_only: bool = False) -> None:
    """``ATTACH path AS alias`` on ``con``, encrypted with ``encryption_key`` when one is given
    (loading the pip-installed httpfs extension, whose crypto DuckDB needs to write encrypted files).
    Every encrypted file of the project (warehouse, and the analyst build's pseudonym cache) is
    opened through here."""
    options = ["READ_ONLY"] if read_only else []
    if encryption_key is not None:
        import duckdb_extension_httpfs  # noqa: F401  (pip-installed extension binary; no download)

        con.execute(f"LOAD '{_httpfs_extension_path()}'")
        options.insert(0, f"ENCRYPTION_KEY {_sql_literal(encryption_key.decode())}")
    # ATTACH takes no prepared parameters; the values come from configuration (never from feed
    # content) and are quoted as SQL string literals.
    suffix = f" ({', '.join(options)})" if options else ""
    con.execute(f'ATTACH {_sql_literal(str(path))} AS "{alias}"{suffix}')


def _sql_literal(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL in a configuration value")
    return "'" + value.replace("'", "''") + "'"


def _httpfs_extension_path() -> str:
    import duckdb_extension_httpfs

    root = Path(duckdb_extension_httpfs.__file__).parent
    found = sorted(root.rglob("*.duckdb_extension"))
    if not found:
        raise RuntimeError(f"no httpfs extension binary under {root}")
    return str(found[0])


def sql(relpath: str) -> str:
    """The text of a SQL file under ``warehouse/`` (e.g. ``"core/build/person_month.sql"``)."""
    return (WAREHOUSE_SQL_DIR / relpath).read_text(encoding="utf-8")


# --- the schema: one owner ------------------------------------------------------------------------
#
# Every table, view and comment of the warehouse is a DDL file directly in warehouse/<layer>/ (one
# relation per file, idempotent statements); migrate() applies them in layer order, tables before
# views within a layer. Files in a layer's build/ folder and in warehouse/indicators/ are models (one
# SELECT with $parameters) that the pipeline runs; they create nothing. warehouse/README.md.

LAYERS = ("ops", "raw", "staging", "core", "mart")
_VIEW = re.compile(r"^\s*create\s+(or\s+replace\s+)?(view|macro)\b", re.IGNORECASE | re.MULTILINE)
_TABLE = re.compile(r"^\s*create\s+(or\s+replace\s+)?table\b", re.IGNORECASE | re.MULTILINE)
# Reference rows the warehouse carries, from the code that owns them: table -> "module:function"
# returning (column names, rows). They are part of the schema fingerprint.
REFERENCE_ROWS = {
    "ops.feeds": "pipelines.feeds:catalog_rows",
    "mart.case_statuses": "pipelines.cases:status_rows",
    "mart.assistance_kinds": "pipelines.rules:assistance_kind_rows",
}


def creates_view(path: Path) -> bool:
    """Whether the DDL file ``path`` creates a view or macro and no table (applied after the tables of
    its folder, so a view may read any table of its layer). A table's file that also creates an alias
    view of it (mart.warnings) is applied with the tables."""
    text = path.read_text(encoding="utf-8")
    return bool(_VIEW.search(text)) and not _TABLE.search(text)


def ddl_files(layers: tuple[str, ...] = LAYERS) -> list[Path]:
    """The DDL files of ``layers`` (folders of ``warehouse/``), in the order migrate() applies them:
    per layer, tables first, then views and macros."""
    out = []
    for layer in layers:
        files = sorted((WAREHOUSE_SQL_DIR / layer).glob("*.sql"))
        views = [f for f in files if creates_view(f)]
        out.extend([f for f in files if f not in views] + views)
    return out


def _reference_rows() -> dict[str, tuple[list[str], list[tuple]]]:
    import importlib

    out = {}
    for table, target in REFERENCE_ROWS.items():
        module, func = target.split(":")
        out[table] = getattr(importlib.import_module(module), func)()
    return out


@functools.lru_cache(maxsize=1)
def _schema() -> tuple[str, tuple[Path, ...], tuple]:
    """(fingerprint, DDL files, reference rows) of this checkout: computed once per process."""
    files = tuple(ddl_files())
    rows = _reference_rows()
    h = hashlib.sha256()
    for path in files:
        h.update(path.relative_to(WAREHOUSE_SQL_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    h.update(repr(sorted(rows.items())).encode())
    return h.hexdigest(), files, tuple(rows.items())


def migrate(con: duckdb.DuckDBPyConnection) -> bool:
    """Bring the warehouse's schema to this checkout's: apply every DDL file (layer order) and
    refresh the reference rows, unless ``ops.schema_version`` already holds this fingerprint.
    Idempotent and cheap when up to date (one query); returns whether anything was applied."""
    fingerprint, files, rows = _schema()
    if relation_exists(con, "ops.schema_version"):
        if con.execute("select fingerprint from ops.schema_version").fetchall() == [(fingerprint,)]:
            return False
    with transaction(con):
        for schema in SCHEMAS:
            con.execute(f"create schema if not exists {schema}")
        for path in files:
            try:
                con.execute(path.read_text(encoding="utf-8"))
            except duckdb.Error as e:
                raise RuntimeError(f"applying {path.relative_to(WAREHOUSE_SQL_DIR)}: {e}") from e
        for table, (columns, values) in rows:
            con.execute(f"delete from {table}")
            if values:
                marks = ", ".join("?" for _ in columns)
                con.executemany(f"insert into {table} ({', '.join(columns)}) values ({marks})", values)
        con.execute("delete from ops.schema_version")
        con.execute("insert into ops.schema_version values (?, now())", [fingerprint])
    return True


def relation_exists(con: duckdb.DuckDBPyConnection, qualified: str, catalog: str | None = None) -> bool:
    """Whether ``schema.name`` is a table or view (of ``catalog``; default: the current database)."""
    schema, name = qualified.split(".")
    return con.execute(
        """select count(*) from (
               select 1 from duckdb_tables() where database_name = coalesce(?, current_database())
                 and schema_name = ? and table_name = ?
               union all
               select 1 from duckdb_views() where database_name = coalesce(?, current_database())
                 and schema_name = ? and view_name = ?)""",
        [catalog, schema, name, catalog, schema, name]).fetchone()[0] > 0


MAX_UNREAD = 1_000  # entries of one area recorded one by one per night; the rest are counted


def record_unread_entries(con: duckdb.DuckDBPyConnection, area: str, entries: list[dict], as_of) -> list[str]:
    """Record what a night found in ``area`` (``landing`` / ``feedback``) and did not read
    (``ops.unread_entries``; entries are ``{path, kind, reason}``): new paths are inserted, known
    ones get ``last_seen_as_of``. Returns the paths seen for the first time."""
    import pyarrow as pa

    if not entries:
        return []
    if len(entries) > MAX_UNREAD:  # a folder of a million stray files: listed in part, counted
        rest = len(entries) - MAX_UNREAD
        entries = entries[:MAX_UNREAD] + [{"path": f"… ({rest:,} more)", "kind": "more",
                                           "reason": f"{rest:,} further entries not listed one by one"}]
    table = pa.table({"path": [e["path"] for e in entries], "kind": [e["kind"] for e in entries],
                      "reason": [e["reason"] for e in entries]})
    with registered(con, "_unread_found", table):
        new = [r[0] for r in con.execute(
            "select path from _unread_found n where not exists (select 1 from ops.unread_entries u "
            "where u.area = ? and u.path = n.path)", [area]).fetchall()]
        con.execute("update ops.unread_entries u set kind = n.kind, reason = n.reason, "
                    "last_seen_as_of = greatest(u.last_seen_as_of, ?) from _unread_found n "
                    "where u.area = ? and u.path = n.path", [as_of, area])
        con.execute("insert into ops.unread_entries select ?, n.path, n.kind, n.reason, ?, ?, now() "
                    "from _unread_found n where n.path in (select unnest(?::varchar[]))", [area, as_of, as_of, new])
    return new


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    else:
        con.execute("commit")


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table) -> Iterator[str]:
    """An Arrow table visible to ``con``'s SQL as ``name`` for the block (unregistered after it, also on
    error). Rows of 10^5 records go in and out of DuckDB this way: a row-by-row ``executemany`` of the
    open cases of a 1M province ran out of memory."""
    con.register(name, table)
    try:
        yield name
    finally:
        con.unregister(name)


def insert_arrow(con: duckdb.DuckDBPyConnection, target: str, table, name: str = "_arrow_rows") -> int:
    """Insert the rows of an Arrow table into the table ``target`` by column name, in one statement;
    returns how many."""
    with registered(con, name, table):
        con.execute(f"insert into {target} by name select * from {name}")
    return table.num_rows


# Lock files this process holds, with nesting depth (see writer_lock).
_HELD: dict[str, int] = {}


@contextlib.contextmanager
def writer_lock(settings: Settings, owner: str = "lowincome run") -> Iterator[Path]:
    """Hold ``<warehouse>.lock`` for the duration of a writing run.

    The lock is an exclusive ``flock`` on that file, held through an open descriptor: the kernel
    releases it when the holder exits in any way, SIGKILL included. So a lock file left behind by
    a killed run is stale by construction and is simply taken over — no "is that pid still alive"
    guess (pids are reused), and no check-then-unlink race in which two runs recovering the same
    stale lock could both end up holding it. The file's JSON (pid, host, owner, since) only
    serves the message of :class:`WarehouseLocked`, raised while another process holds it.
    """
    import fcntl

    # Keyed on the real file: a second writer reaching the same warehouse through a symlink (or another
    # relative path) must find the same lock.
    lock = Path(os.path.realpath(settings.warehouse) + ".lock")
    key = str(lock)
    if _HELD.get(key):
        # Re-entrant within one process (run_night holds the lock and calls ingest, whose publish
        # takes it too): the outer holder keeps the file; the inner one must not unlink it.
        _HELD[key] += 1
        try:
            yield lock
        finally:
            _HELD[key] -= 1
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "owner": owner, "since": time.time()}
    for _ in range(20):
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = _read_holder(lock)
            since = holder.get("since")
            raise WarehouseLocked(
                f"warehouse {settings.warehouse} is being written by {holder.get('owner', '?')} "
                f"(pid {holder.get('pid', '?')} on {holder.get('host', '?')}, since "
                f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since)) if since else '?'}); "
                f"wait for it to finish (lock file {lock})"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            # the holder released (and unlinked) the file between our open and our flock: retry
            os.close(fd)
            continue
        break
    else:
        raise WarehouseLocked(f"could not take {lock}")
    previous = os.read(fd, 4096)
    if previous.strip():
        _log_takeover(lock, previous)
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(me).encode(), 0)
    os.fsync(fd)
    _HELD[key] = 1
    try:
        yield lock
    finally:
        _HELD.pop(key, None)
        # unlink while still holding the flock, then release: a waiter that opened the old file
        # sees it is no longer the path's file and retries on a fresh one
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
        os.close(fd)


def _read_holder(lock: Path) -> dict:
    """The holder's JSON. Right after taking the lock the holder may not have replaced a dead
    predecessor's JSON yet: wait briefly for content naming a live process."""
    holder: dict = {}
    for _ in range(40):
        try:
            holder = json.loads(lock.read_text() or "{}")
        except (OSError, ValueError):
            holder = {}
        pid = holder.get("pid")
        if isinstance(pid, int) and pid_alive(pid):
            break
        time.sleep(0.05)
    return holder


def _log_takeover(lock: Path, previous: bytes) -> None:
    """A lock file with content but no flock: its writer died without releasing (a killed run)."""
    import logging

    try:
        holder = json.loads(previous.decode("utf-8", "replace"))
    except ValueError:
        holder = {}
    logging.getLogger(__name__).warning(
        "taking over stale writer lock %s left by %s (pid %s), which is no longer running",
        lock, holder.get("owner", "?"), holder.get("pid", "?"))
