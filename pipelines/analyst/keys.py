"""The pseudonymisation key and the pseudonyms it makes.

A pseudonym is ``prefix`` + base32 of the first 80 bits of HMAC-SHA256(key, domain | raw id): the
same key gives the same pseudonym every night, and without the key it cannot be turned back into
an id. The key comes from ``$LOWINCOME_HMAC_KEY`` or ``settings.hmac_key_file`` (or, for demos
only, an ephemeral key made into the work dir). The restricted pseudonym cache
(``<work>/secrets/pseudonyms.duckdb``) remembers raw id -> pseudonym so a night keys only ids it
has not seen; it is protected like the key (see docs/architecture.md, "Security").
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import duckdb
import numpy as np
import pyarrow as pa

from pipelines.analyst.scan import distinct_values
from pipelines.config import REPO_ROOT, ConfigError, Settings, configured_secrets, read_secret
from pipelines.warehouse import attach

HMAC_ENV = "LOWINCOME_HMAC_KEY"
EPHEMERAL_ENV = "LOWINCOME_ALLOW_EPHEMERAL_HMAC_KEY"
ENCRYPTION_ENV = "LOWINCOME_ENCRYPTION_KEY"
MIN_KEY_BYTES = 16
CACHE_DOMAINS = ("household", "person", "case", "warning")


class AnalystKeyMissing(ConfigError):
    """No pseudonymisation key configured: the analyst database is not built without one."""


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


def pseudonym_cache_path(settings: Settings) -> Path:
    """The restricted cache of raw id -> pseudonym (``<work>/secrets/pseudonyms.duckdb``, 0600): it
    lets a night key only the ids it has not seen before. Whoever can read it can re-identify the
    analyst database, like whoever can read the key: it lives beside the ephemeral key, in the
    0700 ``secrets`` folder of the work dir, never next to the analyst file."""
    return settings.work / "secrets" / "pseudonyms.duckdb"


def remove_database(path: Path) -> None:
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


def known_secrets(settings: Settings) -> tuple[bytes, ...]:
    """Every secret of this run — the configured keys (:func:`pipelines.config.configured_secrets`)
    and a demo's ephemeral key if one was made — for checks that must never echo them."""
    found = list(configured_secrets(settings))
    path = ephemeral_key_path(settings)
    with contextlib.suppress(OSError):
        if path.is_file() and not path.is_symlink():
            found.append(path.read_bytes().strip())
    return tuple(s for s in found if s)


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


def hmac_pads(secret: bytes) -> tuple[bytes, bytes]:
    """The inner and outer HMAC-SHA256 pads of ``secret`` (RFC 2104), so SQL can compute
    ``sha256(opad || unhex(sha256(ipad || message)))`` = HMAC-SHA256(secret, message) in hex."""
    block = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
    block = block.ljust(64, b"\x00")
    return bytes(x ^ 0x36 for x in block), bytes(x ^ 0x5C for x in block)


# --- the restricted pseudonym cache ------------------------------------------------------------


def attach_pseudonym_cache(con: duckdb.DuckDBPyConnection, path: Path, key: HmacKey, settings: Settings,
                           reset: bool = False) -> str:
    """Attach the pseudonym cache read-write (in the 0700 secrets folder, mode 0600, encrypted
    with the warehouse's key when the warehouse is); a cache of another key, or ``reset`` (a full
    build re-keys everything), starts empty, an unreadable one is replaced. Returns its catalog;
    when no file can be attached, an in-memory cache that lasts this build (every id is keyed)."""
    _private_dir(path.parent)
    alias = "pseudonym_cache_" + secrets.token_hex(4)
    # the cache holds raw ids: at rest it is protected like the warehouse
    secret = read_secret(ENCRYPTION_ENV, settings.encryption_key_file)
    if reset:
        remove_database(path)
    try:
        attach(con, path, alias, secret)
    except duckdb.Error:
        remove_database(path)  # a cache: a damaged one is rebuilt
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
        for domain in CACHE_DOMAINS:
            con.execute(f"drop table if exists {c}.keys_{domain}")
        con.execute(f"delete from {c}.meta")
        con.execute(f"insert into {c}.meta values (?)", [key.fingerprint()])
    for domain in CACHE_DOMAINS:
        con.execute(f"create table if not exists {c}.keys_{domain} (raw varchar, pkey varchar)")
    return alias


def key_table(con: duckdb.DuckDBPyConnection, cache: str, key: HmacKey, domain: str, prefix: str, name: str,
              columns: tuple[str, str], ids_sql: str, params: dict | None = None) -> tuple[int, int]:
    """Create temp table ``name`` (raw id, pseudonym) for the distinct non-null ids of ``ids_sql``.

    Pseudonyms already in the pseudonym cache (catalog ``cache``, see :func:`attach_pseudonym_cache`)
    are joined in SQL; only ids the cache has not seen go through :func:`pseudonyms` and are added
    to it. Returns (ids, ids keyed now)."""
    con.execute(f"create or replace temp table analyst_need as select distinct id from ({ids_sql}) t(id) "
                "where id is not null", params or {})
    raw, pkey = columns
    try:
        table = f'"{cache}".main.keys_{domain}'
        fresh = distinct_values(con, f"select id from analyst_need n anti join {table} k on k.raw = n.id")
        if fresh:
            con.register("analyst_fresh_keys", pa.table({
                "raw": pa.array(fresh, pa.string()),
                "pkey": pa.array(pseudonyms(fresh, key.secret, domain, prefix), pa.string())}))
            try:
                con.execute(f"insert into {table} select raw, pkey from analyst_fresh_keys")
            finally:
                con.unregister("analyst_fresh_keys")
        con.execute(f'create or replace temp table {name} as '
                    f'select k.raw as "{raw}", k.pkey as "{pkey}" from {table} k semi join analyst_need n on n.id = k.raw')
        return con.execute("select count(*) from analyst_need").fetchone()[0], len(fresh)
    finally:
        con.execute("drop table if exists analyst_need")
