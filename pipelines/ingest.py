"""Deliveries from the landing zone into the warehouse: discover -> prepare -> publish.

- :func:`discover` scans ``landing/<feed_id>/<YYYY-MM-DD>/`` (folders dated on or before ``as_of``)
  and returns the deliveries that are new or changed for the ledger ``ops.deliveries``.
- :func:`prepare_delivery` checks the manifest (file names, sha256, row counts), assigns each file
  to a part of the feed (by file name), reads it with that part's reader in the layout of the
  delivery's period, types every part with its staging SQL, runs the part's GX suite (cross-part
  checks included), and writes staged Parquet + ``result.json`` under
  ``<work>/staged/<delivery_id>/``. It never writes the warehouse, so several may run at once (one
  process per feed).
- :func:`publish` is the single writer: per delivery, in one transaction, it replaces the feed's
  partition (its period; or, for daily feeds and daily periods, the delivery folder) in the
  ``raw.*`` and ``staging.*`` table of every part and updates the ledger (loaded / rejected /
  superseded).
- :func:`ingest` does all three for a night, reference feeds first (the region list must be in
  before the feeds checked against it).

A delivery that fails its checksum, its parse or a critical expectation is quarantined: ledger
status ``rejected`` with errors naming file, row and field, and a report under
``<work>/reports/<as_of>/``. Its files in the landing zone are only ever read. A column no layout of
the feed announces is ignored with a warning naming it (the delivery loads; the department gets the
same report).

Hostile or broken folders (docs/architecture.md, Security): nothing under the landing zone is read
through a symbolic link (a delivery folder, manifest or data file that is one is rejected with
check ``symlink``); a manifest is read only up to ``settings.manifest_max_bytes`` and
:data:`MANIFEST_MAX_DEPTH` levels of nesting; a ``produced_at`` after the night (+ a tolerance) and
rows dated mostly outside the declared period reject the delivery. A delivery that would shrink a
loaded snapshot beyond ``settings.hold_shrink_share``, empty a loaded partition, or repeat an earlier
daily delivery byte for byte is **held** (ledger status ``held``: nothing loaded, the previous data
kept) until a person runs ``lowincome release <delivery_id>`` (:func:`release_delivery`; status
``released``, loaded by the next night). Folders and files that are no delivery (an unknown feed, a
folder that is not a date, a symbolic link) are listed in ``ops.unread_entries`` (the nightly
report's "unknown folders").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.atomic import atomic_dir, atomic_write_text, sha256_file
from pipelines.config import ConfigError, Settings
from pipelines.dates import TZ, day_start, folder_date, month_end, month_start, today
from pipelines.rules import default_rules
from pipelines.feeds import FEEDS, FeedFormatError, FeedSpec, Part
from pipelines.feeds._base import q, text
from pipelines.feeds._readers import MAX_LISTED, ignored_columns
from pipelines.redact import Echo
from pipelines.warehouse import connect, migrate, record_unread_entries, relation_exists, transaction, writer_lock

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
FINAL_STATUSES = ("loaded", "rejected", "superseded")
HELD, RELEASED = "held", "released"   # held for a person's release; released: the next night loads it
SETTLED_STATUSES = FINAL_STATUSES + (HELD,)  # not processed again while the manifest is the same
MANIFEST_MAX_DEPTH = 8       # a manifest nests 3 levels (object, files list, file entry)
MANIFEST_MAX_FILES = 1_000   # files one manifest may list
SYMLINK = "symlink"          # check name of a refused symbolic link
echo = Echo()                # values quoted in error messages: at most ECHO_MAX_CHARS characters
ROWS_PER_CHECK = 5
EXTRA_COLUMN = "extra_column"  # check name of the warning for a column no layout announces (ignored)
STAGED_ROW_GROUP = 122_880  # DuckDB's row group size

LEDGER_COLUMNS = ("delivery_id", "feed_id", "period", "folder", "delivery_date", "produced_at", "files", "rows",
                  "status", "errors", "warnings", "first_seen_at", "status_at", "superseded_by",
                  "manifest_sha256", "as_of", "retry", "delivery_kind", "held_reason", "released_by", "released_at")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


# --- references to deliveries ---------------------------------------------------------------------

@dataclass
class DeliveryRef:
    """A delivery folder seen on night ``as_of``. ``manifest`` is ``None`` while it is still uploading."""

    feed_id: str
    delivery_date: dt.date
    folder: Path
    as_of: dt.date
    manifest: dict | None = None
    manifest_sha256: str | None = None
    manifest_error: str | None = None
    previous_status: str | None = None
    refusal: dict | None = None   # an error record: nothing of the folder is read (e.g. a symbolic link)

    @property
    def delivery_id(self) -> str:
        return f"{self.feed_id}/{self.delivery_date.isoformat()}"

    @property
    def ready(self) -> bool:
        return self.manifest_sha256 is not None

    @property
    def period(self) -> str | None:
        p = (self.manifest or {}).get("period")
        return p if isinstance(p, str) and PERIOD.match(p) else None

    @property
    def produced_at(self) -> str | None:
        v = (self.manifest or {}).get("produced_at")
        if not isinstance(v, str):
            return None
        try:
            dt.datetime.fromisoformat(v)
        except ValueError:
            return None
        return v

    @property
    def produced_moment(self) -> dt.datetime | None:
        """``produced_at`` as an aware moment (a timestamp without offset is China time)."""
        if self.produced_at is None:
            return None
        moment = dt.datetime.fromisoformat(self.produced_at)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=TZ)

    @property
    def safe_name(self) -> str:
        return self.delivery_id.replace("/", "__")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(delivery_date=self.delivery_date.isoformat(), as_of=self.as_of.isoformat(), folder=str(self.folder))
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DeliveryRef":
        d = dict(d)
        d["delivery_date"] = dt.date.fromisoformat(d["delivery_date"])
        d["as_of"] = dt.date.fromisoformat(d["as_of"])
        d["folder"] = Path(d["folder"])
        return cls(**d)


@dataclass
class PreparedDelivery:
    """The outcome of :func:`prepare_delivery`: ``ready`` (staged, to be loaded), ``rejected`` or
    ``waiting``. ``retry`` = rejected for an internal reason (a bug, a busy warehouse), not the data:
    the next night tries again."""

    ref: DeliveryRef
    status: str
    rows: int = 0
    files: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    staged_dir: Path | None = None
    report: Path | None = None
    retry: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    traceback: str | None = None   # internal errors only (for the operator, not the department)

    @property
    def delivery_id(self) -> str:
        return self.ref.delivery_id

    @property
    def feed_id(self) -> str:
        return self.ref.feed_id

    def to_dict(self) -> dict:
        return {"ref": self.ref.to_dict(), "status": self.status, "rows": self.rows, "files": self.files,
                "errors": self.errors, "warnings": self.warnings, "checks": self.checks,
                "staged_dir": str(self.staged_dir) if self.staged_dir else None,
                "report": str(self.report) if self.report else None, "retry": self.retry,
                "timings": self.timings, "traceback": self.traceback}

    @classmethod
    def from_dict(cls, d: dict) -> "PreparedDelivery":
        d = dict(d)
        d["ref"] = DeliveryRef.from_dict(d["ref"])
        d["staged_dir"] = Path(d["staged_dir"]) if d.get("staged_dir") else None
        d["report"] = Path(d["report"]) if d.get("report") else None
        return cls(**d)


def load_prepared(staged_dir: Path) -> PreparedDelivery:
    """A prepared delivery from its ``result.json`` (e.g. handed between Airflow tasks as a path)."""
    return PreparedDelivery.from_dict(json.loads((Path(staged_dir) / "result.json").read_text(encoding="utf-8")))


# --- discover ---------------------------------------------------------------------------------------

def _open_read_only(settings: Settings):
    """A read-only warehouse connection, or ``None`` when there is no warehouse yet."""
    if not Path(settings.warehouse).exists():
        return None
    return connect(settings, read_only=True)


def read_ledger(settings: Settings, con=None) -> dict[str, dict]:
    """``delivery_id -> {status, manifest_sha256, retry}`` as the warehouse knows it."""
    own = con is None
    con = con or _open_read_only(settings)
    if con is None:
        return {}
    try:
        if not relation_exists(con, "ops.deliveries"):
            return {}
        rows = con.execute("select delivery_id, status, manifest_sha256, coalesce(retry, false) "
                           "from ops.deliveries").fetchall()
        return {r[0]: {"status": r[1], "manifest_sha256": r[2], "retry": r[3]} for r in rows}
    finally:
        if own:
            con.close()


def discover(settings: Settings, as_of: dt.date | None = None, feeds: list[str] | None = None,
             include_waiting: bool = False) -> list[DeliveryRef]:
    """Delivery folders dated on or before ``as_of`` that are new or changed for the ledger.

    A folder whose manifest (same sha256) already ended ``loaded``/``rejected``/``superseded`` or
    is ``held`` is skipped: nothing is processed twice. ``include_waiting`` also returns folders
    without a manifest yet (so the ledger can record them as ``waiting``). A delivery folder or
    manifest that is a symbolic link, or a manifest that is no regular file, is returned with its
    ``refusal`` and nothing of it is read; a manifest beyond ``settings.manifest_max_bytes`` or
    :data:`MANIFEST_MAX_DEPTH` is not parsed (its ``manifest_error`` says why).
    """
    as_of = as_of or today()
    unknown = set(feeds or ()) - set(FEEDS)
    if unknown:
        raise KeyError(f"unknown feed(s) {sorted(unknown)}; known: {sorted(FEEDS)}")
    ledger = read_ledger(settings)
    landing = Path(settings.landing).resolve()  # the landing zone itself may be a mount point's link
    refs: list[DeliveryRef] = []
    for feed_id in (feeds or list(FEEDS)):
        feed_dir = landing / feed_id
        if feed_dir.is_symlink() or not feed_dir.is_dir():
            continue  # a link is never followed; listed by unread_landing_entries()
        for child in sorted(feed_dir.iterdir()):
            date = folder_date(child.name)
            if date is None:
                continue  # e.g. an upload tool's temp folder (listed by unread_landing_entries())
            if date > as_of:
                continue  # not visible yet on this night (the demo replays history)
            linked = child.is_symlink()
            if not linked and not child.is_dir():
                continue  # a file named like a date: listed by unread_landing_entries()
            ref = DeliveryRef(feed_id=feed_id, delivery_date=date, folder=child, as_of=as_of)
            prev = ledger.get(ref.delivery_id)
            ref.previous_status = prev["status"] if prev else None
            if linked:
                _refuse(ref, _err(SYMLINK, f"the delivery folder {ref.delivery_id} is a symbolic link "
                                           f"(to {echo(os.readlink(child))!r}): a delivery must be a real folder in "
                                           f"the landing zone; nothing of it was read", ref.delivery_id))
            else:
                manifest = child / MANIFEST
                if not manifest.is_symlink() and not manifest.exists():
                    if include_waiting and prev is None:
                        refs.append(ref)
                    continue
                _read_manifest(ref, manifest, settings.manifest_max_bytes)
            if prev and prev["manifest_sha256"] == ref.manifest_sha256 and prev["status"] in SETTLED_STATUSES \
                    and not prev["retry"]:
                continue
            refs.append(ref)
    return refs


def _refuse(ref: DeliveryRef, error: dict) -> None:
    """Mark ``ref`` refused unread; its identity for the ledger is the refusal itself (the same
    refusal is not recorded again on later nights)."""
    ref.refusal = error
    ref.manifest_sha256 = hashlib.sha256(("refused:" + error["message"]).encode("utf-8")).hexdigest()


_JSON_TOKEN = re.compile(r'[\[\]{}"\\]')


def json_too_deep(text: str, limit: int) -> bool:
    """Whether JSON ``text`` nests arrays/objects deeper than ``limit`` (an iterative scan: a
    100,000-deep document costs one pass, not a recursion)."""
    depth, in_string, skip = 0, False, -1
    for m in _JSON_TOKEN.finditer(text):
        i = m.start()
        if i < skip:
            continue  # the character after a backslash inside a string
        c = m.group()
        if in_string:
            if c == "\\":
                skip = i + 2
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > limit:
                return True
        elif c in "]}":
            depth -= 1
    return False


def _read_manifest(ref: DeliveryRef, path: Path, max_bytes: int) -> None:
    """Read and parse the manifest into ``ref`` — never through a link, never more than
    ``max_bytes``, never deeper than :data:`MANIFEST_MAX_DEPTH`."""
    if path.is_symlink():
        _refuse(ref, _err(SYMLINK, f"{MANIFEST} is a symbolic link (to {echo(os.readlink(path))!r}): the manifest "
                                   f"must be a real file of the delivery folder; it was not read", MANIFEST))
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        _refuse(ref, _err("manifest", f"{MANIFEST} cannot be opened: {e.strerror}", MANIFEST))
        return
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            _refuse(ref, _err("manifest", f"{MANIFEST} is not a regular file; it was not read", MANIFEST))
            return
        raw = f.read(max_bytes + 1) if st.st_size <= max_bytes else b""
    if st.st_size > max_bytes or len(raw) > max_bytes:
        size = max(st.st_size, len(raw))
        ref.manifest_sha256 = hashlib.sha256(f"oversize:{size}:{st.st_mtime_ns}".encode()).hexdigest()
        ref.manifest_error = (f"{MANIFEST} has {size:,} bytes, more than the {max_bytes:,} a manifest may have: "
                              f"not read")
        return
    ref.manifest_sha256 = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
        if json_too_deep(text, MANIFEST_MAX_DEPTH):
            raise ValueError(f"nested deeper than {MANIFEST_MAX_DEPTH} levels (a manifest has 3)")
        m = json.loads(text)
        if not isinstance(m, dict):
            raise ValueError("manifest is not a JSON object")
        ref.manifest = m
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        ref.manifest_error = f"{MANIFEST} is not valid JSON: {e}"


def unread_landing_entries(settings: Settings) -> list[dict]:
    """What the landing zone holds besides delivery folders, none of it read: folders of feeds
    not in the catalog, folders that are not a date, files where folders belong, symbolic links
    (``{path, kind, reason}``, path relative to the landing zone). A delivery folder that is a
    symbolic link is in the ledger instead (rejected, check ``symlink``)."""
    landing = Path(settings.landing).resolve()
    out: list[dict] = []
    if not landing.is_dir():
        return out

    def add(path: Path, kind: str, reason: str) -> None:
        out.append({"path": path.relative_to(landing).as_posix(), "kind": kind, "reason": reason})

    for entry in sorted(landing.iterdir()):
        if entry.is_symlink():
            add(entry, "symlink", "a symbolic link in the landing zone is never followed; deliver into "
                                  "landing/<feed_id>/<YYYY-MM-DD>/")
        elif not entry.is_dir():
            add(entry, "not_a_folder", "a file directly in the landing zone; deliveries are folders "
                                       "landing/<feed_id>/<YYYY-MM-DD>/")
        elif entry.name not in FEEDS:
            add(entry, "unknown_feed", f"{entry.name!r} is no feed of the catalog: nothing in it is read")
        else:
            for child in sorted(entry.iterdir()):
                date = folder_date(child.name)
                if date is not None:
                    if not child.is_symlink() and not child.is_dir():
                        add(child, "not_a_folder", "a file named like a delivery folder; a delivery is a folder "
                                                   "holding its files and manifest.json")
                    continue  # a delivery folder (a linked one is rejected in the ledger)
                if child.is_symlink():
                    add(child, "symlink", "a symbolic link in the landing zone is never followed")
                else:
                    add(child, "not_a_date", f"{child.name!r} is not a delivery date YYYY-MM-DD: nothing in it is read")
    return out


def record_unread_landing(con, settings: Settings, as_of: dt.date) -> list[str]:
    """Record :func:`unread_landing_entries` of the night in ``ops.unread_entries``."""
    return record_unread_entries(con, "landing", unread_landing_entries(settings), as_of)


# --- prepare ------------------------------------------------------------------------------------------

def staged_dir_for(settings: Settings, delivery_id: str) -> Path:
    return settings.work / "staged" / delivery_id


def _err(check: str, message: str, file: str | None = None, row: int | None = None,
         field_: str | None = None, count: int | None = None) -> dict:
    return {"file": file, "row": row, "field": field_, "check": check, "severity": "critical",
            "count": count, "message": message}


def _safe_name(name) -> str | None:
    """Why a manifest file name is unsafe, or None. Files must sit directly in the delivery folder."""
    if not isinstance(name, str) or not name.strip():
        return "empty or non-string file name"
    if "/" in name or "\\" in name:
        return "file name contains a path separator"
    if name in (".", "..") or ".." in name:
        return "file name contains '..'"
    if os.path.isabs(name) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if name == MANIFEST:
        return "the manifest cannot list itself"
    return None


def check_manifest(ref: DeliveryRef, settings: Settings | None = None) -> tuple[list[dict], list[dict]]:
    """Manifest structure and the files it lists: (errors, files with measured bytes/sha256).

    Also refused here: a symbolic link anywhere in the delivery folder (listed or not), and a
    ``produced_at`` later than the end of the night plus ``settings.future_tolerance_minutes``
    (it would outrank every later correction)."""
    settings = settings or Settings()
    errors: list[dict] = []
    files: list[dict] = []
    if ref.refusal:
        return [ref.refusal], files
    if ref.manifest_error:
        return [_err("manifest", ref.manifest_error, MANIFEST)], files
    m = ref.manifest or {}
    if m.get("feed_id") != ref.feed_id:
        errors.append(_err("manifest", f"manifest feed_id {echo(m.get('feed_id'))!r} does not match the folder's "
                                       f"feed {ref.feed_id!r}", MANIFEST, field_="feed_id"))
    if ref.period is None:
        errors.append(_err("manifest", f"period {echo(m.get('period'))!r} is not YYYY-MM", MANIFEST, field_="period"))
    if m.get("produced_at") is not None and ref.produced_at is None:
        errors.append(_err("manifest", f"produced_at {echo(m.get('produced_at'))!r} is not an ISO timestamp", MANIFEST,
                           field_="produced_at"))
    elif ref.produced_moment is not None:
        latest = day_start(ref.as_of + dt.timedelta(days=1)) + dt.timedelta(minutes=settings.future_tolerance_minutes)
        if ref.produced_moment > latest:
            errors.append(_err("produced_at", f"produced_at {ref.produced_at} is after the night {ref.as_of} "
                                              f"(latest accepted {latest.isoformat()}): a delivery cannot be produced "
                                              f"in the future, and would outrank every later correction",
                               MANIFEST, field_="produced_at"))
    links = sorted(e.name for e in os.scandir(ref.folder) if e.is_symlink())
    for name in links[:ROWS_PER_CHECK]:
        errors.append(_err(SYMLINK, f"{echo(name)!r} is a symbolic link (to {echo(os.readlink(ref.folder / name))!r}); "
                                    f"a delivery folder holds real files only, and nothing is read through a link",
                           name, field_="name", count=len(links)))
    entries = m.get("files")
    if not isinstance(entries, list) or not entries:
        errors.append(_err("manifest", "manifest lists no files", MANIFEST, field_="files"))
        return errors, files
    if len(entries) > MANIFEST_MAX_FILES:
        errors.append(_err("manifest", f"manifest lists {len(entries):,} files, more than the {MANIFEST_MAX_FILES:,} "
                                       f"a delivery may have", MANIFEST, field_="files"))
        return errors, files
    seen = set()
    for entry in entries:
        if not isinstance(entry, dict):
            errors.append(_err("manifest", f"file entry {echo(entry)!r} is not an object", MANIFEST, field_="files"))
            continue
        name = entry.get("name")
        why = _safe_name(name)
        if why:
            errors.append(_err("unsafe_file_name", f"rejected file name {echo(name)!r}: {why}", echo(name),
                               field_="name"))
            continue
        if name in seen:
            errors.append(_err("manifest", f"file {echo(name)!r} listed twice", name, field_="name"))
            continue
        seen.add(name)
        rows = entry.get("rows")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            errors.append(_err("manifest", f"rows {echo(rows)!r} is not a non-negative integer", name, field_="rows"))
        sha = entry.get("sha256")
        if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha):
            errors.append(_err("manifest", f"sha256 {echo(sha)!r} is not a hex digest", name, field_="sha256"))
        path = ref.folder / name
        if path.is_symlink():
            continue  # refused above
        if not path.is_file():
            errors.append(_err("missing_file", f"file {echo(name)!r} listed in the manifest is not in the folder "
                                               f"(or is not a regular file)", name, field_="name"))
            continue
        actual = sha256_file(path)
        size = path.stat().st_size
        files.append({"name": name, "rows": rows, "sha256": actual, "bytes": size})
        if isinstance(sha, str) and actual.lower() != sha.lower():
            errors.append(_err("checksum", f"sha256 of {name!r} is {actual}, manifest says {sha}: file is corrupt "
                                           f"or still being written", name, field_="sha256"))
        if isinstance(entry.get("bytes"), int) and entry["bytes"] != size:
            errors.append(_err("checksum", f"{name!r} has {size} bytes, manifest says {echo(entry['bytes'])}", name,
                               field_="bytes"))
    return errors, files


def typed_with_flags_sql(spec: FeedSpec | Part) -> str:
    """The feed's staging select plus one ``__bad_<field>`` flag per parsed field (a non-empty raw
    value whose typed value is null: ``try_cast`` failed), in one pass over ``raw_batch``."""
    parsed = [f for f in spec.fields if f.source]
    if not parsed:
        return spec.staging_sql
    has = ", ".join(f'{text(f.source)} is not null as "__has_{f.name}"' for f in parsed)
    inner = spec.staging_sql.replace("\nfrom raw_batch", f",\n    {has}\nfrom raw_batch")
    bad = ", ".join(f'("__has_{f.name}" and {q(f.name)} is null) as "__bad_{f.name}"' for f in parsed)
    exclude = ", ".join(f'"__has_{f.name}"' for f in parsed)
    return f"with typed as ({inner}) select * exclude ({exclude}), {bad} from typed"


def type_batch(con, spec: FeedSpec | Part) -> tuple[pa.Table, list[dict]]:
    """Type the registered ``raw_batch`` with the part's (or one-part feed's) staging SQL; returns
    (staging table, parse errors). A parse error names file, row, field, the delivered column header
    and the value; the first few rows per field are reported, with the field's total count."""
    import pyarrow.compute as pc

    table = _arrow(con.execute(typed_with_flags_sql(spec)))
    flags = [c for c in table.column_names if c.startswith("__bad_")]
    errors: list[dict] = []
    for flag in flags:
        if not pc.any(table.column(flag)).as_py():
            continue
        name = flag.removeprefix("__bad_")
        field_ = next(f for f in spec.fields if f.name == name)
        mask = table.column(flag)
        n = pc.sum(mask).as_py()
        bad = table.filter(mask).select(["_file", "_row"]).slice(0, ROWS_PER_CHECK)
        con.register("_bad_rows", bad)
        try:
            rows = con.execute(
                f"select r._file, r._row, r.{q(field_.source)} from raw_batch r "
                f"join _bad_rows b on b._file = r._file and b._row = r._row order by r._file, r._row").fetchall()
        finally:
            con.unregister("_bad_rows")
        header = spec.header_of(field_.source)
        for file, row, value in rows:
            errors.append(_err("parse", f"cannot read {echo(value)!r} in column {header!r} as {field_.type} "
                                        f"({n} row(s) in this delivery)", file, row, name, n))
    return (table.drop_columns(flags) if flags else table), errors


def _prep_connection(settings: Settings):
    import duckdb

    tmp = settings.temp_directory / f"prepare_{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(":memory:", config={
        "threads": settings.duckdb_threads, "memory_limit": settings.duckdb_memory_limit,
        "temp_directory": str(tmp), "preserve_insertion_order": True})


def _arrow(result) -> pa.Table:
    out = result.arrow()
    return out.read_all() if hasattr(out, "read_all") else out


def _constant(value: str, n: int) -> pa.Array:
    import numpy as np

    return pa.array([value], pa.string()).take(pa.array(np.zeros(n, dtype=np.int32)))


def report_paths(settings: Settings, ref: DeliveryRef) -> tuple[Path, Path]:
    base = settings.work / "reports" / ref.as_of.isoformat() / ref.safe_name
    return base.with_suffix(".json"), base.with_suffix(".md")


def write_report(settings: Settings, p: PreparedDelivery) -> Path:
    """Report for staff and the department: JSON (machine) + Markdown (people). Written for a
    rejected delivery, and for a delivery that loads with a column the catalog does not announce
    (ignored: the department should announce it or stop sending it)."""
    jpath, mpath = report_paths(settings, p.ref)
    spec = FEEDS.get(p.feed_id)
    title = f"{default_rules().department(spec.department).name_zh} {spec.title}" if spec else ""
    body = {"delivery_id": p.delivery_id, "feed_id": p.feed_id, "title": title,
            "period": p.ref.period, "folder": str(p.ref.folder), "as_of": p.ref.as_of.isoformat(),
            "status": p.status, "files": p.files, "errors": p.errors, "warnings": p.warnings, "checks": p.checks}
    atomic_write_text(jpath, json.dumps(body, ensure_ascii=False, indent=2, default=str))
    rejected = p.status == "rejected"
    heading = "数据交付退回 / delivery rejected" if rejected else "数据交付已入库，有警告 / delivery loaded with warnings"
    advice = ("请更正后重新交付 (please correct and re-deliver)." if rejected else
              "未在目录中公布的列已忽略，请先公布或不再发送 (columns the catalog does not announce were ignored: "
              "announce them first, or stop sending them).")
    lines = [f"# {heading}: `{p.delivery_id}`", "",
             f"- 数据项 feed: {p.feed_id} {body['title']}", f"- 所属期 period: {p.ref.period}",
             f"- 目录 folder: `{p.ref.folder}`", f"- 处理日期 night: {p.ref.as_of.isoformat()}",
             f"- 原始文件未改动 (the delivered files were left untouched); {advice}",
             "", "## 错误 errors", "", "| 文件 file | 行 row | 字段 field | 检查 check | 说明 message |",
             "| --- | --- | --- | --- | --- |"]
    esc = lambda v: "" if v is None else str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    for e in p.errors:
        lines.append(f"| {esc(e.get('file'))} | {esc(e.get('row'))} | {esc(e.get('field'))} | {esc(e.get('check'))} "
                     f"| {esc(e.get('message'))} |")
    if p.warnings:
        lines += ["", "## 警告 warnings", "", "| 文件 file | 行 row | 字段 field | 检查 check | 说明 message |",
                  "| --- | --- | --- | --- | --- |"]
        for e in p.warnings:
            lines.append(f"| {esc(e.get('file'))} | {esc(e.get('row'))} | {esc(e.get('field'))} "
                         f"| {esc(e.get('check'))} | {esc(e.get('message'))} |")
    lines.append("")
    lines.append("行号 row = 数据行序号 (1 = 表头下第一行 / first row under the header).")
    atomic_write_text(mpath, "\n".join(lines) + "\n")
    return jpath


def prepare_delivery(settings: Settings, ref: DeliveryRef) -> PreparedDelivery:
    """Parse + type + validate one delivery into ``<work>/staged/<delivery_id>/``; no warehouse writes.

    Never raises for a bad delivery: the outcome says ``rejected`` with the reasons. The staged
    folder holds ``raw.parquet`` + ``staging.parquet`` (ready only) and ``result.json``, written
    last: a folder without it was interrupted and is not publishable."""
    if not ref.ready:
        return PreparedDelivery(ref=ref, status="waiting")
    t0 = time.perf_counter()
    out = PreparedDelivery(ref=ref, status="rejected")
    target = staged_dir_for(settings, ref.delivery_id)
    shutil.rmtree(target, ignore_errors=True)
    try:
        _prepare(settings, ref, out)
    except Exception as e:  # a bug or an infrastructure problem: reject for now, retry next night
        log.exception("prepare %s failed", ref.delivery_id)
        out.errors.append(_err("internal_error", f"{type(e).__name__}: {e}"))
        out.retry = True
        out.traceback = traceback.format_exc()
    out.status = "rejected" if out.errors else "ready"
    if out.status == "rejected":
        shutil.rmtree(target, ignore_errors=True)
    if out.status == "rejected" or any(w.get("check") == EXTRA_COLUMN for w in out.warnings):
        try:
            out.report = write_report(settings, out)
        except OSError:
            log.exception("could not write the report of %s", ref.delivery_id)
    out.timings["total"] = time.perf_counter() - t0
    target.mkdir(parents=True, exist_ok=True)
    out.staged_dir = target
    atomic_write_text(target / "result.json", json.dumps(out.to_dict(), ensure_ascii=False, default=str))
    return out


def assign_parts(spec: FeedSpec, files: list[dict]) -> tuple[dict[str, Part], list[dict]]:
    """Which part of the feed each manifest file is (by file name; a one-part feed takes every
    file): (file name -> part, errors for a file that is no part and for a part without a file)."""
    parts = spec.parts
    assigned: dict[str, Part] = {}
    errors: list[dict] = []
    for f in files:
        part = next((p for p in parts if p.matches(f["name"])), None)
        if part is None:
            hints = ", ".join(f"{p.name}: {p.file_hint or p.file_pattern}" for p in parts)
            errors.append(_err("part", f"file {f['name']!r} is none of the files of {spec.feed_id} ({hints})",
                               f["name"], field_="name"))
        else:
            assigned[f["name"]] = part
    for part in parts:
        if files and not any(p.name == part.name for p in assigned.values()):
            errors.append(_err("part", f"the delivery has no {part.name} file ({part.file_hint or part.file_pattern}); "
                                       f"a {spec.feed_id} delivery holds {len(parts)} files, delivered together",
                               MANIFEST, field_="files"))
    return assigned, errors


def _ignored_warning(spec: FeedSpec, name: str, column: str, count: int | None = None) -> dict:
    return {"file": name, "row": None, "field": column, "check": EXTRA_COLUMN, "severity": "warning", "count": count,
            "message": f"column {column!r} is not in the catalog for {spec.feed_id} (no layout announces it): "
                       f"ignored, not loaded; the rest of the file loads"}


def staged_files(part: Part) -> tuple[str, str]:
    """The staged Parquet files (raw, staging) of one part: ``raw.parquet`` / ``staging.parquet`` for
    the part named after the feed, ``raw.<table>.parquet`` / ``staging.<table>.parquet`` for others."""
    if part.table == part.feed_id:
        return "raw.parquet", "staging.parquet"
    return f"raw.{part.table}.parquet", f"staging.{part.table}.parquet"


def _prepare(settings: Settings, ref: DeliveryRef, out: PreparedDelivery) -> None:
    spec = FEEDS[ref.feed_id]
    timings = out.timings
    t = time.perf_counter()
    errors, files = check_manifest(ref, settings)
    out.files = files
    timings["checksum"] = time.perf_counter() - t
    if errors:
        out.errors = errors
        return
    assigned, part_errors = assign_parts(spec, files)
    out.errors.extend(part_errors)  # and read what can be read: every problem of the delivery at once
    # read every file as delivered, in the layout of the delivery's period
    t = time.perf_counter()
    tables: dict[str, list[pa.Table]] = {p.name: [] for p in spec.parts}
    for f in files:
        part = assigned.get(f["name"])
        if part is None:
            continue
        try:
            table = part.read(ref.folder / f["name"], ref.period)
        except FeedFormatError as e:
            out.errors.append(e.record() | {"severity": "critical", "count": None})
            continue
        ignored = ignored_columns(table)
        many = len(ignored) if len(ignored) > MAX_LISTED else None  # listed: the first MAX_LISTED
        out.warnings.extend(_ignored_warning(spec, f["name"], c, many) for c in ignored[:MAX_LISTED])
        if table.num_rows != f["rows"]:
            out.errors.append(_err("row_count", f"{f['name']!r} has {table.num_rows} data rows, manifest says "
                                                f"{f['rows']}", f["name"], field_="rows"))
        tables[part.name].append(table.replace_schema_metadata(None))
    timings["read"] = time.perf_counter() - t
    if out.errors:
        return
    raws: dict[str, pa.Table] = {}
    for part in spec.parts:
        found = tables.pop(part.name)
        raw = pa.concat_tables(found) if len(found) > 1 else found[0]
        raw = raw.append_column("delivery_id", _constant(ref.delivery_id, raw.num_rows))
        raws[part.name] = raw.append_column("period", _constant(ref.period, raw.num_rows))
    out.rows = sum(r.num_rows for r in raws.values())
    _typed_and_validated(settings, spec, ref, raws, out)


def _typed_and_validated(settings: Settings, spec: FeedSpec, ref: DeliveryRef, raws: dict[str, pa.Table],
                         out: PreparedDelivery) -> None:
    """Type, check and validate every part of one delivery; stage them all, or none."""
    from pipelines import validate

    timings = out.timings
    parts = spec.parts
    con = _prep_connection(settings)
    try:
        t = time.perf_counter()
        staged: dict[str, pa.Table] = {}
        for part in parts:
            con.register("raw_batch", raws[part.name])
            try:
                staged[part.name], parse_errors = type_batch(con, part)
            finally:
                con.unregister("raw_batch")
            out.errors.extend(parse_errors)
        timings["type"] = time.perf_counter() - t
        if out.errors:
            return
        out.errors.extend(period_errors(settings, spec, ref, staged[parts[0].name]))
        t = time.perf_counter()
        if len(parts) > 1:
            for part in parts:  # cross-part checks read the other parts as part_<name>
                con.register(f"part_{part.name}", staged[part.name])
        checked: dict[str, pa.Table] = {}
        notes: dict[str, list[dict]] = {}
        lookup = validate.ReferenceLookup(_open_read_only(settings))
        try:
            for part in parts:
                checked[part.name], notes[part.name] = validate.add_check_columns(
                    con, part, staged[part.name], ref.period, lookup)
        finally:
            lookup.close()
        timings["checks"] = time.perf_counter() - t
        params = validate.suite_parameters(spec, ref.period, ref.delivery_date)
        timings["gx"] = 0.0
        for part in parts:
            run_name = ref.delivery_id if part.table == spec.feed_id else f"{ref.delivery_id}/{part.name}"
            outcome = validate.validate_typed(part, checked.pop(part.name), params, extra_notes=notes[part.name],
                                              run_name=run_name)
            timings["gx"] += outcome.seconds
            part_files = [f["name"] for f in out.files if part.matches(f["name"])]
            if len(part_files) == 1:
                # a table-level failure (e.g. "no rows") of a part with one file is about that file
                for rec in outcome.errors + outcome.warnings:
                    if rec.get("file") is None:
                        rec["file"] = part_files[0]
            out.errors.extend(outcome.errors)
            out.warnings.extend(outcome.warnings)
            out.checks.extend(c | ({"part": part.name} if len(parts) > 1 else {}) for c in outcome.checks)
            if outcome.gx_result is not None:
                validate.save_gx_result(settings, ref.as_of, run_name, outcome.gx_result)
        if out.errors:
            return
        t = time.perf_counter()
        with atomic_dir(staged_dir_for(settings, ref.delivery_id)) as tmp:
            for part in parts:
                raw_name, staging_name = staged_files(part)
                # DuckDB-sized row groups: publish reads them in parallel (one 1M-row group = one thread)
                pq.write_table(raws[part.name], tmp / raw_name, compression="zstd", row_group_size=STAGED_ROW_GROUP)
                pq.write_table(staged[part.name], tmp / staging_name, compression="zstd",
                               row_group_size=STAGED_ROW_GROUP)
        timings["write"] = time.perf_counter() - t
    finally:
        con.close()


def period_errors(settings: Settings, spec: FeedSpec, ref: DeliveryRef, staged: pa.Table) -> list[dict]:
    """A manifest that lies about its period: more than ``settings.period_outside_share`` of the
    rows dated (by the feed's ``period_column``) outside the months the delivery covers, widened by
    ``settings.period_tolerance_days``. Loaded, such a delivery would replace the wrong month and
    count its own month twice. A few late records (a settlement of the month before) stay a
    warning of the feed's suite. Not checked for a feed without a period column, nor for a daily
    period (each day's records may be late by design: partitioned by delivery, they replace nothing)."""
    import pyarrow.compute as pc

    column = spec.period_column
    if column is None or ref.period is None or spec.partition_for(ref.period) != "period":
        return []
    tolerance = dt.timedelta(days=settings.period_tolerance_days)
    first, last = month_start(ref.period) - tolerance, month_end(ref.period, spec.months_covered) + tolerance
    dates = staged.column(column)
    dated = len(dates) - dates.null_count
    if not dated:
        return []
    outside = pc.fill_null(pc.or_(pc.less(dates, pa.scalar(first, pa.date32())),
                                  pc.greater(dates, pa.scalar(last, pa.date32()))), False)
    n = pc.sum(outside).as_py() or 0
    if n <= settings.period_outside_share * dated:
        return []
    bad = staged.filter(outside).select(["_file", "_row", column])
    months = pc.value_counts(pc.strftime(bad.column(column).cast(pa.timestamp("s")), "%Y-%m")).to_pylist()
    top = max(months, key=lambda m: (m["counts"], m["values"]))["values"]
    covered = ref.period if spec.months_covered == 1 else f"{ref.period} + {spec.months_covered - 1} months"
    message = (f"{n} of {dated} rows ({n / dated:.0%}) are dated outside the declared period {covered} "
               f"({first} to {last}, {settings.period_tolerance_days} days' tolerance), most in {top}: the file "
               f"describes another month than the manifest's period; at most {settings.period_outside_share:.0%} "
               f"of a delivery may be late records")
    return [_err("period_mismatch", f"{message} (value {d.isoformat()})", f, r, column, n)
            for f, r, d in zip(*(bad.column(c).slice(0, ROWS_PER_CHECK).to_pylist() for c in bad.column_names))]


def prepare_feed(settings: Settings, feed_id: str, as_of: dt.date | None = None) -> list[PreparedDelivery]:
    """Prepare every new delivery of one feed (including ``waiting`` folders, to be recorded)."""
    refs = discover(settings, as_of=as_of or today(), feeds=[feed_id], include_waiting=True)
    return [prepare_delivery(settings, r) for r in refs]


# --- publish ------------------------------------------------------------------------------------------

@dataclass
class FeedCounts:
    loaded: int = 0
    rejected: int = 0
    superseded: int = 0
    waiting: int = 0
    held: int = 0                 # held for a person's release (lowincome release)
    rows: int = 0
    warnings: int = 0
    seconds: float = 0.0          # prepare (read, type, validate, stage)
    gx_seconds: float = 0.0       # of which Great Expectations
    publish_seconds: float = 0.0  # loading into the warehouse


@dataclass
class IngestSummary:
    as_of: dt.date
    feeds: dict[str, FeedCounts] = field(default_factory=dict)
    deliveries: list[dict] = field(default_factory=list)
    data_docs: Path | None = None
    seconds: float = 0.0
    unread: list[str] = field(default_factory=list)  # landing entries found for the first time, not read

    def feed(self, feed_id: str) -> FeedCounts:
        return self.feeds.setdefault(feed_id, FeedCounts())

    def total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.feeds.values())

    def as_dict(self) -> dict:
        return {"loaded": self.total("loaded"), "rejected": self.total("rejected"),
                "superseded": self.total("superseded"), "waiting": self.total("waiting"),
                "held": self.total("held"), "rows": self.total("rows"), "deliveries": self.deliveries,
                "unread": self.unread,
                "data_docs": str(self.data_docs) if self.data_docs else None}


def _order_key(produced_epoch_us, delivery_date: str, delivery_id: str) -> tuple:
    return (produced_epoch_us if produced_epoch_us is not None else -(2 ** 62), delivery_date, delivery_id)


def _ledger_row(con, delivery_id: str) -> dict | None:
    row = con.execute("select status, first_seen_at::varchar, manifest_sha256, held_reason, released_by, "
                      "released_at::varchar, rows from ops.deliveries where delivery_id = ?", [delivery_id]).fetchone()
    if row is None:
        return None
    return dict(zip(("status", "first_seen_at", "manifest_sha256", "held_reason", "released_by", "released_at",
                     "rows"), row))


def _upsert_ledger(con, p: PreparedDelivery, status: str, *, superseded_by: str | None = None,
                   rows: int | None = None, held_reason: str | None = None) -> None:
    ref = p.ref
    prev = _ledger_row(con, ref.delivery_id)
    now = _now()
    first_seen = prev["first_seen_at"] if prev else now
    # a release is history of the same content: kept while the manifest is the one released
    same = prev is not None and prev["manifest_sha256"] == ref.manifest_sha256
    released_by = prev["released_by"] if same else None
    released_at = prev["released_at"] if same else None
    if held_reason is None and same and status == "loaded":
        held_reason = prev["held_reason"]
    con.execute("delete from ops.deliveries where delivery_id = ?", [ref.delivery_id])
    spec = FEEDS.get(ref.feed_id)
    kind = spec.delivery_kind(ref.period, ref.delivery_date) if spec else None
    con.execute(
        f"insert into ops.deliveries ({', '.join(LEDGER_COLUMNS)}) values "
        "(?, ?, ?, ?, ?, cast(? as timestamptz), ?, ?, ?, ?, ?, cast(? as timestamptz), cast(? as timestamptz), ?, ?, ?, ?, "
        "?, ?, ?, cast(? as timestamptz))",
        [ref.delivery_id, ref.feed_id, ref.period, str(ref.folder), ref.delivery_date, ref.produced_at,
         json.dumps(p.files, ensure_ascii=False) if p.files or ref.ready else None,
         rows if rows is not None else (p.rows if status == "loaded" else 0),
         status, json.dumps(p.errors, ensure_ascii=False, default=str),
         json.dumps(p.warnings, ensure_ascii=False, default=str), first_seen, now, superseded_by,
         ref.manifest_sha256, ref.as_of, p.retry, kind, held_reason, released_by, released_at])


def backfill_delivery_kinds(con) -> int:
    """Fill ``ops.deliveries.delivery_kind`` for ledger rows recorded before the column existed (the
    kind is a function of feed, period and folder date: :meth:`FeedSpec.delivery_kind`). Cheap: only
    rows of feeds with kinds whose kind is still null are read. Returns the rows updated."""
    feeds = [f for f, s in FEEDS.items() if s.midterm_since or s.daily_since]
    if not feeds:
        return 0
    marks = ", ".join("?" for _ in feeds)
    rows = con.execute(f"select delivery_id, feed_id, period, delivery_date from ops.deliveries "
                       f"where delivery_kind is null and period is not null and feed_id in ({marks})", feeds).fetchall()
    updates = [(FEEDS[f].delivery_kind(p, d), i) for i, f, p, d in rows]
    updates = [u for u in updates if u[0] is not None]
    if updates:
        con.executemany("update ops.deliveries set delivery_kind = ? where delivery_id = ?", updates)
    return len(updates)


def _delete_partition(con, spec: FeedSpec, period: str | None, delivery_id: str) -> None:
    """Remove what a delivery replaces from the raw and staging table of every part: its period
    (a period-partitioned period) and its own earlier rows (a folder re-delivered in place)."""
    by_period = spec.partition_for(period) == "period" and period is not None
    for table in spec.tables:
        for layer in ("raw", "staging"):
            if by_period:
                con.execute(f"delete from {layer}.{table} where period = ? or delivery_id = ?", [period, delivery_id])
            else:
                con.execute(f"delete from {layer}.{table} where delivery_id = ?", [delivery_id])


def hold_reason(con, settings: Settings, p: PreparedDelivery) -> str | None:
    """Why a ready delivery must wait for a person instead of loading, or None:

    - it shrinks a loaded snapshot of its period (a re-delivery) by more than
      ``settings.hold_shrink_share`` of its rows (families dropped from a roster would come back as
      other households, with second cases for the same events);
    - it has no rows and would replace a partition that has some (silently emptying a month);
    - it is a daily delivery whose files are byte for byte those of an earlier loaded one under
      another date (loading it would count every record twice).
    """
    spec, ref = FEEDS[p.feed_id], p.ref
    by_period = spec.partition_for(ref.period) == "period"
    if by_period:
        replaced = con.execute("select delivery_id, rows from ops.deliveries where feed_id = ? and period = ? "
                               "and status = 'loaded' order by delivery_id", [ref.feed_id, ref.period]).fetchall()
    else:  # a daily folder rewritten in place replaces its own earlier rows
        replaced = con.execute("select delivery_id, rows from ops.deliveries where delivery_id = ? and status = 'loaded'",
                               [ref.delivery_id]).fetchall()
    before = sum(r[1] or 0 for r in replaced)
    names = ", ".join(r[0] for r in replaced)
    if before and p.rows == 0:
        return (f"0 rows would replace the {before:,} rows loaded from {names} for {ref.period}: an empty delivery "
                f"does not silently empty a loaded partition")
    if by_period and spec.kind == "snapshot" and before and p.rows < before * (1 - settings.hold_shrink_share):
        return (f"{p.rows:,} rows would replace the {before:,} rows of the {ref.period} snapshot loaded from {names} "
                f"({1 - p.rows / before:.0%} fewer; a re-delivery may drop at most {settings.hold_shrink_share:.0%} "
                f"without a person's release)")
    if not by_period and p.rows > 0:
        mine = sorted(f["sha256"] for f in p.files)
        for other, files in con.execute(
                "select delivery_id, files from ops.deliveries where feed_id = ? and status = 'loaded' and rows > 0 "
                "and delivery_id <> ? order by delivery_id", [ref.feed_id, ref.delivery_id]).fetchall():
            if sorted(f.get("sha256") for f in json.loads(files or "[]")) == mine:
                return (f"its files are byte for byte those of {other}, already loaded: a daily delivery repeated "
                        f"under a new date would count its {p.rows:,} records twice")
    return None


def _publish_one(con, p: PreparedDelivery, settings: Settings | None = None) -> tuple[str, str | None]:
    """Apply one prepared delivery. Returns (status, the delivery it superseded or the reason it is
    held, if any)."""

    settings = settings or Settings()
    spec = FEEDS[p.feed_id]
    ref = p.ref
    if p.status == "waiting":
        if _ledger_row(con, ref.delivery_id) is None:
            with transaction(con):
                _upsert_ledger(con, p, "waiting")
        return "waiting", None
    if p.status == "rejected":
        with transaction(con):
            prev = _ledger_row(con, ref.delivery_id)
            if prev and prev["status"] == "loaded":
                # The folder was rewritten in place and the new content is bad: its old content is
                # gone from the landing zone, so it cannot stay in the warehouse either.
                _delete_partition(con, spec, None, ref.delivery_id)
            _upsert_ledger(con, p, "rejected")
        return "rejected", None
    if p.status != "ready":
        raise ValueError(f"{ref.delivery_id}: unknown prepared status {p.status!r}")
    staged = Path(p.staged_dir)
    replaced = None
    by_period = spec.partition_for(ref.period) == "period"
    with transaction(con):
        mine_epoch = con.execute("select epoch_us(cast(? as timestamptz))", [ref.produced_at]).fetchone()[0] \
            if ref.produced_at else None
        mine = _order_key(mine_epoch, ref.delivery_date.isoformat(), ref.delivery_id)
        if by_period:
            cur = con.execute(
                "select delivery_id, epoch_us(produced_at), delivery_date::varchar from ops.deliveries "
                "where feed_id = ? and period = ? and status = 'loaded' and delivery_id <> ?",
                [ref.feed_id, ref.period, ref.delivery_id]).fetchall()
            newer = [c for c in cur if _order_key(c[1], c[2], c[0]) > mine]
            if newer:
                # An older-produced delivery arriving after a newer one: keep the newer, never load this.
                _upsert_ledger(con, p, "superseded", superseded_by=newer[0][0], rows=0)
                return "superseded_on_arrival", newer[0][0]
            replaced = ", ".join(c[0] for c in cur) or None
        prev = _ledger_row(con, ref.delivery_id)
        released = prev is not None and prev["status"] == RELEASED and prev["manifest_sha256"] == ref.manifest_sha256
        reason = None if released else hold_reason(con, settings, p)
        if reason is not None:
            # Held: nothing loaded, the partition as it was; a person decides (lowincome release).
            _upsert_ledger(con, p, HELD, rows=0, held_reason=reason)
            return HELD, reason
        _delete_partition(con, spec, ref.period, ref.delivery_id)
        for part in spec.parts:  # every part of the delivery in the same transaction
            raw_name, staging_name = staged_files(part)
            con.execute(f"insert into raw.{part.table} by name select * from read_parquet(?)", [str(staged / raw_name)])
            con.execute(f"insert into staging.{part.table} by name select * from read_parquet(?)",
                        [str(staged / staging_name)])
        if by_period:
            con.execute("update ops.deliveries set status = 'superseded', superseded_by = ?, "
                        "status_at = cast(? as timestamptz) "
                        "where feed_id = ? and period = ? and status = 'loaded' and delivery_id <> ?",
                        [ref.delivery_id, _now(), ref.feed_id, ref.period, ref.delivery_id])
            # a delivery held or released for the period and produced before this one is outdated by it
            waiting = con.execute(
                "select delivery_id, epoch_us(produced_at), delivery_date::varchar from ops.deliveries "
                "where feed_id = ? and period = ? and status in (?, ?) and delivery_id <> ?",
                [ref.feed_id, ref.period, HELD, RELEASED, ref.delivery_id]).fetchall()
            older = [c[0] for c in waiting if _order_key(c[1], c[2], c[0]) < mine]
            if older:
                con.execute("update ops.deliveries set status = 'superseded', superseded_by = ?, "
                            "status_at = cast(? as timestamptz) where delivery_id in (select unnest(?::varchar[]))",
                            [ref.delivery_id, _now(), older])
        _upsert_ledger(con, p, "loaded")
    return "loaded", replaced


def _publish_order(p: PreparedDelivery) -> tuple:
    spec = FEEDS[p.feed_id]
    return (0 if spec.is_reference else 1, list(FEEDS).index(p.feed_id), p.ref.period or "",
            p.ref.produced_at or "", p.ref.delivery_date)


def publish(settings: Settings, prepared: Iterable[PreparedDelivery | Path | str | dict],
            summary: IngestSummary | None = None, as_of: dt.date | None = None) -> IngestSummary:
    """The single writer: record and load prepared deliveries, each in its own transaction; and
    record what the landing zone holds besides deliveries (``ops.unread_entries``, on night
    ``as_of``, default the deliveries' night).

    A delivery that cannot be published (e.g. its staged files vanished) is recorded as rejected
    for retry; the others go on."""

    items: list[PreparedDelivery] = []
    for p in prepared:
        if isinstance(p, PreparedDelivery):
            items.append(p)
        elif isinstance(p, dict):
            items.append(PreparedDelivery.from_dict(p))
        else:
            items.append(load_prepared(Path(p)))
    if summary is None:
        summary = IngestSummary(as_of=as_of or (items[0].ref.as_of if items else today()))
    as_of = as_of or summary.as_of
    items.sort(key=_publish_order)
    with writer_lock(settings, owner="lowincome ingest (publish)"):
        con = connect(settings)
        try:
            migrate(con)
            with transaction(con):
                backfill_delivery_kinds(con)
                summary.unread = record_unread_landing(con, settings, as_of) or summary.unread
            for p in items:
                counts = summary.feed(p.feed_id)
                t_pub = time.perf_counter()
                try:
                    status, replaced = _publish_one(con, p, settings)
                except Exception as e:
                    p.errors.append(_err("internal_error", f"publish failed: {type(e).__name__}: {e}"))
                    p.retry = True
                    p.status = "rejected"
                    with transaction(con):
                        _upsert_ledger(con, p, "rejected")
                    status, replaced = "rejected", None
                if status == "loaded":
                    counts.loaded += 1
                    counts.rows += p.rows
                    counts.warnings += len(p.warnings)
                    if replaced:
                        counts.superseded += len(replaced.split(", "))
                elif status == "superseded_on_arrival":
                    counts.superseded += 1
                elif status == "rejected":
                    counts.rejected += 1
                elif status == "waiting":
                    counts.waiting += 1
                elif status == HELD:
                    counts.held += 1
                counts.publish_seconds += time.perf_counter() - t_pub
                counts.seconds += float(p.timings.get("total", 0.0) or 0.0)
                counts.gx_seconds += float(p.timings.get("gx", 0.0) or 0.0)
                summary.deliveries.append({
                    "delivery_id": p.delivery_id, "feed_id": p.feed_id, "period": p.ref.period,
                    "status": "superseded" if status == "superseded_on_arrival" else status,
                    "rows": p.rows if status == "loaded" else 0, "replaced": replaced if status != HELD else None,
                    "errors": len(p.errors), "warnings": len(p.warnings),
                    "first_error": p.errors[0]["message"] if p.errors else (replaced if status == HELD else None),
                    "report": str(p.report) if p.report else None,
                })
                if status in ("loaded", "superseded_on_arrival", HELD) and p.staged_dir:
                    # loaded (or not needed, or held: prepared again once released): the staged
                    # Parquet has done its job
                    for part in FEEDS[p.feed_id].parts:
                        for name in staged_files(part):
                            (Path(p.staged_dir) / name).unlink(missing_ok=True)
            con.execute("checkpoint")
        finally:
            con.close()
    return summary


# --- the whole night ----------------------------------------------------------------------------------

class _FeedProgress:
    """A rich progress bar per feed (deliveries done / found), or nothing when progress is off."""

    def __init__(self, settings: Settings, refs: list[DeliveryRef]):
        self.enabled = bool(settings.show_progress) and bool(refs)
        self.progress = None
        self.tasks: dict[str, int] = {}
        self.rows: dict[str, int] = {}
        if not self.enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("[bold]{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rows]:>12} rows  {task.fields[note]}"),
                                 TimeElapsedColumn())
        for feed_id in FEEDS:
            n = sum(1 for r in refs if r.feed_id == feed_id)
            if n:
                self.tasks[feed_id] = self.progress.add_task(feed_id, total=n, rows="", note="")

    def __enter__(self):
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.progress:
            self.progress.stop()

    def working(self, ref: DeliveryRef) -> None:
        if self.progress:
            self.progress.update(self.tasks[ref.feed_id], note=f"{ref.delivery_date} …")

    def done(self, p: PreparedDelivery) -> None:
        if not self.progress:
            return
        self.rows[p.feed_id] = self.rows.get(p.feed_id, 0) + p.rows
        self.progress.update(self.tasks[p.feed_id], advance=1, rows=f"{self.rows[p.feed_id]:,}",
                             note="" if p.status != "rejected" else "[red]rejected")


def ingest(settings: Settings, as_of: dt.date | None = None, feeds: list[str] | None = None) -> IngestSummary:
    """One night's ingest: discover -> prepare -> publish, reference feeds first; then Data Docs."""
    from pipelines import validate

    as_of = as_of or today()
    t0 = time.perf_counter()
    summary = IngestSummary(as_of=as_of)
    with writer_lock(settings, owner=f"lowincome ingest --as-of {as_of}"):
        refs = discover(settings, as_of=as_of, feeds=feeds, include_waiting=True)
        phases = ([r for r in refs if FEEDS[r.feed_id].is_reference],
                  [r for r in refs if not FEEDS[r.feed_id].is_reference])
        validated = 0
        if not refs:  # nothing new: still record what the landing zone holds besides deliveries
            publish(settings, [], summary=summary, as_of=as_of)
        with _FeedProgress(settings, refs) as progress:
            for phase in phases:
                if not phase:
                    continue
                prepared = []
                for ref in phase:
                    progress.working(ref)
                    p = prepare_delivery(settings, ref)
                    progress.done(p)
                    prepared.append(p)
                    validated += "gx" in p.timings
                publish(settings, prepared, summary=summary, as_of=as_of)
    # Rebuild the night's Data Docs only when something new was validated (a re-run keeps them).
    if validated and settings.extra.get("data_docs", True):
        try:
            summary.data_docs = validate.build_data_docs(settings, as_of)
        except Exception as e:  # docs are a convenience; never fail the night over them
            summary.deliveries.append({"delivery_id": None, "status": "note",
                                       "first_error": f"Data Docs not built: {type(e).__name__}: {e}"})
    elif (validate.data_docs_dir(settings, as_of) / "index.html").exists():
        summary.data_docs = validate.data_docs_dir(settings, as_of) / "index.html"
    summary.seconds = time.perf_counter() - t0
    return summary


class ReleaseError(ConfigError):
    """``lowincome release`` names a delivery that is not held (unknown, loaded, rejected, ...)."""


def release_delivery(settings: Settings, delivery_id: str, actor: str, note: str | None = None) -> dict:
    """A person releases a held delivery (``lowincome release <delivery_id>``): its ledger status
    becomes ``released`` (who and when in the ledger and in ``ops.audit_log``, action
    ``delivery_released``); the next night prepares it again and loads it without the hold check,
    as long as its manifest is the one released. Returns the ledger row's key facts."""
    from pipelines.cases import append_audit

    delivery_id = delivery_id.strip().strip("/")
    with writer_lock(settings, owner=f"lowincome release {delivery_id}"):
        con = connect(settings)
        try:
            migrate(con)
            row = con.execute("select feed_id, period, status, held_reason, manifest_sha256, rows "
                              "from ops.deliveries where delivery_id = ?", [delivery_id]).fetchone()
            if row is None:
                held = [r[0] for r in con.execute("select delivery_id from ops.deliveries where status = ? "
                                                  "order by delivery_id", [HELD]).fetchall()]
                raise ReleaseError(f"no delivery {delivery_id!r} in the ledger (held now: "
                                   f"{', '.join(held) or 'none'})")
            feed_id, period, status, reason, manifest_sha, _ = row
            if status != HELD:
                raise ReleaseError(f"{delivery_id} is {status}, not held: there is nothing to release")
            with transaction(con):
                con.execute("update ops.deliveries set status = ?, released_by = ?, released_at = now(), "
                            "status_at = now() where delivery_id = ?", [RELEASED, actor, delivery_id])
                append_audit(con, actor, "delivery_released", delivery_id, sha256=manifest_sha,
                             detail={"feed_id": feed_id, "period": period, "held_reason": reason, "note": note})
            con.execute("checkpoint")
        finally:
            con.close()
    return {"delivery_id": delivery_id, "feed_id": feed_id, "period": period, "status": RELEASED,
            "released_by": actor, "held_reason": reason}


def print_summary(summary: IngestSummary, console=None) -> None:
    """Closing table per feed: loaded / rejected / superseded / waiting, rows; then what was rejected."""
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if console.width < 110:  # piped to a log: do not truncate feed names
            console = Console(width=110)
    table = Table(title=f"ingest {summary.as_of.isoformat()}  ({summary.seconds:.1f}s)")
    for col, justify in (("feed", "left"), ("loaded", "right"), ("rejected", "right"), ("superseded", "right"),
                         ("waiting", "right"), ("held", "right"), ("rows", "right"), ("warnings", "right"),
                         ("seconds", "right")):
        table.add_column(col, justify=justify, no_wrap=True)
    for feed_id in FEEDS:
        c = summary.feeds.get(feed_id)
        if c is None:
            continue
        table.add_row(feed_id, str(c.loaded), f"[red]{c.rejected}" if c.rejected else "0", str(c.superseded),
                      str(c.waiting), f"[bold red]{c.held}" if c.held else "0", f"{c.rows:,}", str(c.warnings),
                      f"{c.seconds:.1f}")
    table.add_row("[bold]total", str(summary.total("loaded")), str(summary.total("rejected")),
                  str(summary.total("superseded")), str(summary.total("waiting")), str(summary.total("held")),
                  f"{summary.total('rows'):,}", str(summary.total("warnings")), "")
    console.print(table)
    for d in summary.deliveries:
        if d.get("status") == "rejected":
            console.print(f"[red]rejected[/red] {d['delivery_id']}: {d.get('first_error')}  ({d.get('errors')} "
                          f"error(s); report {d.get('report')})")
        elif d.get("status") == HELD:
            console.print(f"[bold red]HELD[/bold red] {d['delivery_id']}: {d.get('first_error')} — nothing loaded; "
                          f"after checking it, release with: lowincome release {d['delivery_id']}")
        elif d.get("status") == "note":
            console.print(f"[yellow]{d.get('first_error')}")
    for path in summary.unread:
        console.print(f"[yellow]unknown folder[/yellow] landing/{path}: not read (see ops.unread_entries)")
    if not summary.feeds:
        console.print("no new deliveries")
    if summary.data_docs:
        console.print(f"Data Docs: {summary.data_docs}")
