"""Crash harness ("crash anywhere, rerun, same result").

Two halves:

1. **The child** (``python tests/crash_harness.py [--crash POINT] [--pause POINT FILE] -- run ...``)
   installs one crash hook by monkeypatching a pipeline function *in this process only* and then
   calls ``pipelines.cli.main([...])`` — the real ``lowincome`` entry point. At the crash point the
   process sends itself SIGKILL: no ``finally``, no ``atexit``, no DuckDB rollback, no lock release,
   exactly like the OOM killer or a pulled plug. No crash hook lives in production code.
   ``--pause POINT FILE`` instead writes ``FILE.ready`` at the point and waits until ``FILE`` exists
   (a run held half-way, for the single-writer tests).

2. **The checks** (imported by the tests): :func:`warehouse_digest` (every table of the warehouse),
   :func:`outbox_digest` (every file under the outbox, hidden temp files included: path -> sha256),
   and :func:`invariants` (duplicates by key, deliveries missing from the ledger, extracts recorded
   or written twice, temp debris).

What the digest leaves out, and why (everything else in every table is compared row for row):

- ``ops.deliveries.first_seen_at``, ``ops.deliveries.status_at``: wall clock of the ledger write
  (when the loader ran, not what it loaded).
- ``ops.runs.finished_at``, ``timings``, ``summary``: one row per *completed* run, wall clock and
  that run's own counters (a rerun after a crash legitimately finds less left to do); ``as_of`` is
  compared, so the number of completed nights per date still has to match.
- ``ops.ingest_schema.applied_at``: when the DDL was first applied.
- ``ops.audit_log."at"``: wall clock of the audit entry. Every other column of every audit row is
  compared (actor, action, target, rows, sha256, detail): an extract recorded twice, or a no-op
  entry that an uninterrupted run does not write, is a difference.
- ``core.feed_month.loaded_at``: copied from the ledger's ``status_at`` (wall clock).
- ``core.build_runs.built_at``: wall clock of the core build.
- ``core.build_runs.inputs`` / ``mart.indicator_runs.inputs``: compared with the embedded
  ``loaded_at`` timestamps blanked (they are the ledger's wall clock, see above); the
  ``inputs_hash`` of those two tables is a hash of exactly that text and is left out.

The analyst database is a separate file rebuilt every night (incrementally); :func:`analyst_digest`
compares every table of it the same way, leaving out ``build_info.built_at`` / ``full_built_at``
(wall clock), ``build_mode`` / ``build_stats`` (a rerun after a crash may rebuild more months than a
clean night, with the same result), ``build_partitions.token`` (digest of wall-clock inputs) and
``deliveries.first_seen_at`` / ``status_at`` (the ledger's wall clock, copied).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# (schema, table) -> columns left out of the digest (see the module docstring).
EXCLUDED_COLUMNS: dict[tuple[str, str], set[str]] = {
    ("ops", "deliveries"): {"first_seen_at", "status_at"},
    ("ops", "runs"): {"finished_at", "timings", "summary"},
    ("ops", "ingest_schema"): {"applied_at"},
    ("ops", "audit_log"): {"at"},
    ("core", "feed_month"): {"loaded_at"},
    ("core", "build_runs"): {"built_at", "inputs_hash"},
    ("mart", "indicator_runs"): {"inputs_hash"},
}
ANALYST_EXCLUDED: dict[tuple[str, str], set[str]] = {
    ("main", "build_info"): {"built_at", "full_built_at", "build_mode", "build_stats"},
    ("main", "build_partitions"): {"token"},  # a keyed digest of inputs that embed the ledger's wall clock
    ("main", "deliveries"): {"first_seen_at", "status_at"},
}
# Columns compared after blanking the wall-clock timestamps they embed.
BLANK_TIMESTAMPS: dict[tuple[str, str], set[str]] = {
    ("core", "build_runs"): {"inputs"},
    ("mart", "indicator_runs"): {"inputs"},
}
_TS = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?\+\d{2}"

# Keys that must be unique after any crash + rerun (a duplicate = a doubled load or a re-send).
UNIQUE_KEYS: dict[str, tuple[str, ...]] = {
    "ops.deliveries": ("delivery_id",),
    "mart.warnings": ("warning_id",),
    "mart.cases": ("case_id",),
    "mart.case_events": ("case_id", "seq"),
    "mart.case_dispatches": ("case_id", "department", "kind", "dispatch_round"),
    "staging.mca_roster": ("snapshot_month", "family_id", "person_id"),
    "staging.hrss_employment": ("month", "person_id"),
    "staging.nhsa_claims": ("settle_id",),
    "staging.mps_hukou_members": ("period", "person_id"),
}


# --- the child ------------------------------------------------------------------------------------

def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _hold(flag: Path) -> None:
    Path(str(flag) + ".ready").write_text(str(os.getpid()))
    while not flag.exists():
        time.sleep(0.05)


def _at_entry(module, name: str, action, nth: int = 1) -> None:
    """Run ``action`` on the ``nth`` call of ``module.name``, before the real function."""
    real = getattr(module, name)
    calls = {"n": 0}

    def hooked(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == nth:
            action()
        return real(*args, **kwargs)

    setattr(module, name, hooked)


def _at_stage(nightly, name: str, action) -> None:
    """Run ``action`` when the night reaches stage ``name`` (pipelines.nightly.STAGES), before it runs."""
    import dataclasses

    stages = list(nightly.STAGES)
    i = [s.name for s in stages].index(name)
    real = stages[i]

    def hooked(night):
        action()
        return real.run(night)

    stages[i] = dataclasses.replace(real, run=hooked)
    nightly.STAGES = tuple(stages)
    nightly.STAGE = {s.name: s for s in stages}


def install(point: str, action) -> None:
    """Install ``action`` (die or hold) at crash point ``point``; see :data:`CRASH_POINTS`."""
    from pipelines import atomic, dispatch, feedback, indicators, ingest, nightly, report
    from pipelines.analyst import schema as analyst_schema

    kind, _, arg = point.partition(":")
    if kind == "stage":
        # a stage boundary: the previous stage has committed, this one has not started
        if arg == "record_run":
            _at_entry(nightly, "_record_run", action)
        else:
            _at_stage(nightly, arg, action)
    elif point == "ingest:prepared":
        # every delivery parsed, validated and staged; nothing published
        _at_entry(ingest, "publish", action)
    elif kind == "publish":
        # inside the load of a delivery of feed ``arg``: partition deleted and new rows inserted
        # in the open transaction, ledger row being written, not committed
        real = ingest._upsert_ledger

        def hooked(con, p, status, **kw):
            if status == "loaded" and p.feed_id == arg:
                action()
            return real(con, p, status, **kw)

        ingest._upsert_ledger = hooked
    elif kind == "publish_delete":
        # inside the load of a delivery of feed ``arg``: its partition just deleted, nothing inserted
        real_delete = ingest._delete_partition

        def hooked_delete(con, spec, period, delivery_id):
            real_delete(con, spec, period, delivery_id)
            if spec.feed_id == arg:
                action()

        ingest._delete_partition = hooked_delete
    elif point == "indicators:core_built":
        _at_entry(indicators, "compute_indicators", action)
    elif point == "feedback:first_file":
        # first feedback file applied in its open transaction (cases updated), not committed
        _at_entry(feedback, "append_audit", action)
    elif point == "extracts:unrecorded":
        # every office's folder renamed into place; inside the one transaction that records them,
        # after the first office's audit row, before the commit: no case marked dispatched
        _at_entry(dispatch, "append_audit", action, nth=2)
    elif point == "extracts:mid_swap":
        # a re-run rebuilding tonight's folder: old folder moved aside, new one not yet in place
        real_replace = atomic.os.replace
        state = {"n": 0}

        def replace(src, dst, *a, **kw):
            if str(dst).endswith(".old"):
                state["n"] += 1
                real_replace(src, dst, *a, **kw)
                action()
                return None
            return real_replace(src, dst, *a, **kw)

        atomic.os.replace = replace
    elif point == "analyst:built_not_swapped":
        # the new analyst file is complete beside the old one, not renamed into place
        _at_entry(analyst_schema, "create_views", action)
    elif point == "report:half_written":
        # the report's temp file holds half the page when the process dies
        def half(target, text, encoding="utf-8"):
            with atomic.atomic_file(target, "wb") as f:
                f.write(text.encode(encoding)[: len(text) // 2])
                f.flush()
                action()

        report.atomic_write_text = half
    else:
        raise SystemExit(f"unknown crash point {point!r}; known: {', '.join(CRASH_POINTS)}")


CRASH_POINTS = (
    "ingest:prepared",
    "publish_delete:mca_roster",
    "publish:mca_roster",
    "stage:indicators",
    "indicators:core_built",
    "stage:cases",
    "stage:feedback",
    "feedback:first_file",
    "stage:extracts",
    "extracts:unrecorded",
    "stage:analyst",
    "analyst:built_not_swapped",
    "stage:report",
    "report:half_written",
    "stage:record_run",
)


def _skip_gx() -> None:
    """Setup only (building the night *before* the one under test, quickly): skip the GX suites
    and Data Docs. Never used for a run whose result is compared."""
    from pipelines import validate

    def no_gx(spec, typed, params, extra_notes=None, run_name=None):
        out = validate.ValidationOutcome()
        for note in extra_notes or []:
            (out.errors if note.get("severity") == "critical" else out.warnings).append(note)
        return out

    validate.validate_typed = no_gx
    validate.build_data_docs = lambda settings, as_of: None


def child_main(argv: list[str]) -> int:
    crash = pause = flag = None
    while argv and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--crash":
            crash = argv.pop(0)
        elif opt == "--pause":
            pause, flag = argv.pop(0), Path(argv.pop(0))
        elif opt == "--no-gx":
            _skip_gx()
        else:
            raise SystemExit(f"unknown option {opt}")
    argv = argv[1:]
    if crash:
        install(crash, _die)
    if pause:
        install(pause, lambda: _hold(flag))
    from pipelines import cli

    return cli.main(argv)


# --- the checks -----------------------------------------------------------------------------------

def _connect(path: Path):
    import duckdb

    return duckdb.connect(str(path), read_only=True, config={"threads": 1})


def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_digests(con, exclude: dict | None = None, blank: dict | None = None) -> dict[str, list]:
    out = {}
    tables = con.execute("select schema_name, table_name from duckdb_tables() "
                         "where database_name = current_database() order by all").fetchall()
    for schema, table in tables:
        cols = [c for (c,) in con.execute(
            "select column_name from duckdb_columns() where database_name = current_database() "
            "and schema_name = ? and table_name = ? order by column_index", [schema, table]).fetchall()]
        skip = (exclude or {}).get((schema, table), set())
        blanked = (blank or {}).get((schema, table), set())
        exprs = []
        for c in cols:
            if c in skip:
                continue
            e = f"cast({_qi(c)} as varchar)"
            if c in blanked:
                e = f"regexp_replace({e}, '{_TS}', 'T', 'g')"
            exprs.append(f"coalesce({e}, '<null>')")
        row = " || chr(31) || ".join(exprs) if exprs else "''"
        n, digest, distinct = con.execute(
            f"select count(*), md5(coalesce(string_agg(r, chr(30) order by r), '')), count(distinct r) "
            f"from (select {row} as r from {_qi(schema)}.{_qi(table)})").fetchone()
        out[f"{schema}.{table}"] = [n, digest, n - distinct]
    return out


def warehouse_digest(path: Path) -> dict[str, list]:
    """``schema.table -> [rows, md5 of the sorted rows, fully duplicated rows]`` for every table
    of the warehouse, leaving out only :data:`EXCLUDED_COLUMNS`."""
    con = _connect(path)
    try:
        return _table_digests(con, EXCLUDED_COLUMNS, BLANK_TIMESTAMPS)
    finally:
        con.close()


def analyst_digest(path: Path) -> dict[str, list]:
    """Every table of the analyst database, leaving out only :data:`ANALYST_EXCLUDED`."""
    con = _connect(path)
    try:
        return _table_digests(con, ANALYST_EXCLUDED)
    finally:
        con.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def outbox_digest(outbox: Path) -> dict[str, str]:
    """Every file under the outbox, hidden ones (temp files) included: relative path -> sha256."""
    outbox = Path(outbox)
    if not outbox.exists():
        return {}
    return {p.relative_to(outbox).as_posix(): sha256(p) for p in sorted(outbox.rglob("*")) if p.is_file()}


def temp_debris(root: Path) -> list[str]:
    """Temp files/folders of the write-then-rename helpers left anywhere under ``root``."""
    return sorted(p.relative_to(root).as_posix() for p in Path(root).rglob(".*")
                  if p.name.endswith((".tmp", ".old")) or ".tmp." in p.name)


def invariants(warehouse: Path, outbox: Path, landing: Path, as_of: str) -> list[str]:
    """Problems that need no reference run: duplicates by key, deliveries visible on ``as_of`` but
    missing from the ledger, an extract recorded twice or written without being recorded."""
    problems: list[str] = []
    con = _connect(warehouse)
    try:
        for table, key in UNIQUE_KEYS.items():
            cols = ", ".join(key)
            n = con.execute(f"select count(*) from (select {cols} from {table} group by all having count(*) > 1)"
                            ).fetchone()[0]
            if n:
                problems.append(f"{table}: {n} duplicated key(s) ({cols})")
        ledger = {d for (d,) in con.execute("select delivery_id from ops.deliveries").fetchall()}
        for feed in sorted(p for p in Path(landing).iterdir() if p.is_dir()):
            for folder in sorted(p for p in feed.iterdir() if p.is_dir()):
                if re.fullmatch(r"\d{4}-\d{2}-\d{2}", folder.name) and folder.name <= as_of:
                    if f"{feed.name}/{folder.name}" not in ledger:
                        problems.append(f"delivery {feed.name}/{folder.name} is missing from the ledger")
        audits = con.execute("select target, count(*) from ops.audit_log where action = 'extract_written' "
                             "group by 1").fetchall()
        for target, n in audits:
            if n > 1:
                problems.append(f"extract {target} recorded {n} times in ops.audit_log")
        recorded = {Path(t).resolve() for t, _ in audits}
        sent = {Path(d).resolve() for (d,) in con.execute(
            "select distinct extract_dir from mart.case_dispatches").fetchall()}
        if recorded != sent:
            problems.append(f"audit log and mart.case_dispatches disagree on extracts: "
                            f"{sorted(map(str, recorded ^ sent))[:5]}")
    finally:
        con.close()
    on_disk = {p.parent.resolve() for p in Path(outbox).glob("*/*/*/manifest.json")}
    if on_disk != recorded:
        problems.append(f"extract folders on disk vs recorded differ: {sorted(map(str, on_disk ^ recorded))[:5]}")
    for folder in on_disk:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        for f in manifest["files"]:
            if sha256(folder / f["name"]) != f["sha256"]:
                problems.append(f"{folder / f['name']}: sha256 differs from its manifest (half-written?)")
    return problems


def diff(reference: dict, actual: dict) -> dict:
    """Keys whose values differ: ``key -> (reference, actual)``."""
    return {k: (reference.get(k), actual.get(k)) for k in sorted(set(reference) | set(actual))
            if reference.get(k) != actual.get(k)}


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
