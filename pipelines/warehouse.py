"""The DuckDB warehouse: connections with bounded resources, SQL models from ``warehouse/``,
and the single-writer lock.

DuckDB lets one process open a file read-write. Every writer (CLI run, Airflow loader task)
goes through :func:`writer_lock` so a second run fails fast with a clear message instead of
``Could not set lock on file`` deep inside a task.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Iterator

import duckdb

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
    import duckdb_extension_httpfs  # noqa: F401  (pip-installed extension binary; no download)

    con = duckdb.connect(":memory:", config=config)
    ext = _httpfs_extension_path()
    con.execute(f"LOAD '{ext}'")
    mode = ", READ_ONLY" if read_only else ""
    # ATTACH takes no prepared parameters; both values come from configuration (never from feed
    # content) and are quoted as SQL string literals.
    con.execute(f"ATTACH {_sql_literal(str(path))} AS wh (ENCRYPTION_KEY {_sql_literal(key.decode())}{mode})")
    con.execute("USE wh")
    return con


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


def run_sql_file(con: duckdb.DuckDBPyConnection, path: Path | str, params: dict | None = None) -> None:
    """Execute one SQL model file (may hold several statements)."""
    path = Path(path)
    if not path.is_absolute():
        path = WAREHOUSE_SQL_DIR / path
    sql = path.read_text(encoding="utf-8")
    if params:
        con.execute(sql, params)
    else:
        con.execute(sql)


def sql_text(relpath: str) -> str:
    return (WAREHOUSE_SQL_DIR / relpath).read_text(encoding="utf-8")


def ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")


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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Lock files this process holds, with nesting depth (see writer_lock).
_HELD: dict[str, int] = {}


@contextlib.contextmanager
def writer_lock(settings: Settings, owner: str = "lowincome run") -> Iterator[Path]:
    """Hold ``<warehouse>.lock`` for the duration of a writing run.

    The lock file is created with O_EXCL. A lock whose process is gone (a killed run) on this
    host is stale and is taken over; a lock held by a live process raises :class:`WarehouseLocked`.
    """
    lock = Path(str(settings.warehouse) + ".lock")
    key = str(lock.resolve())
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
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = json.loads(lock.read_text() or "{}")
            except (OSError, json.JSONDecodeError):
                holder = {}
            pid = int(holder.get("pid", 0) or 0)
            same_host = holder.get("host") == me["host"]
            if pid and same_host and _pid_alive(pid) and pid != os.getpid():
                raise WarehouseLocked(
                    f"warehouse {settings.warehouse} is being written by {holder.get('owner', '?')} "
                    f"(pid {pid}, since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(holder.get('since', 0)))}); "
                    f"wait for it to finish, or remove {lock} if that process is gone"
                ) from None
            # Stale: the process that wrote it is gone. Remove and retry once.
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        break
    else:
        raise WarehouseLocked(f"could not take {lock}")
    _HELD[key] = 1
    try:
        yield lock
    finally:
        _HELD.pop(key, None)
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
