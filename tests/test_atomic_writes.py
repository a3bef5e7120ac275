"""Extracts, the analyst database and the report appear whole or not at all.

For each writer a disk-full (``ENOSPC``) or permission (``EACCES``) error is injected while it
writes — half-way through a file, at the flush, when creating the temp file/folder, at the final
rename — and the previous state must be intact: the same bytes on disk, no partial or temp file
or folder left (hidden ones included), and for extracts no case marked as sent.
Also: what a writer killed by SIGKILL leaves behind (temp files, an extract folder moved aside
mid-swap) is cleaned up or put back by the next write.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import pathlib
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest

from analyst_fixtures import build_restricted_warehouse
from case_fixtures import add_warning, warehouse
from pipelines import atomic
from pipelines.analyst import build_analyst_db
from pipelines.cases import update_cases
from pipelines.config import Settings
from pipelines.dispatch import write_extracts
from pipelines.report import report_path, write_report

NIGHT = dt.date(2026, 2, 7)
KEY = "atomic-writes-test-key-" + "0" * 40


def _snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` (hidden ones included): path -> sha256 (or 'dir')."""
    return {p.relative_to(root).as_posix(): ("dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(Path(root).rglob("*"))}


def _disk_full(*_a, **_k):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _denied(*_a, **_k):
    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))


class _HalfThenFull:
    """A file object that writes the first half of what it is given, then the disk is full."""

    def __init__(self, f):
        self._f = f

    def write(self, data):
        self._f.write(data[: len(data) // 2])
        self._f.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def _inject(monkeypatch, fault: str, *, rename_target_suffix: str = ".tmp") -> None:
    """Install one fault in the write path shared by the writers."""
    if fault == "enospc_mid_file":
        real_fdopen, real_write_bytes = os.fdopen, pathlib.Path.write_bytes
        monkeypatch.setattr(atomic.os, "fdopen", lambda *a, **k: _HalfThenFull(real_fdopen(*a, **k)))

        def write_bytes(self, data):  # extracts write their files inside the temp folder
            real_write_bytes(self, data[: len(data) // 2])
            _disk_full()

        monkeypatch.setattr(pathlib.Path, "write_bytes", write_bytes)
    elif fault == "enospc_at_fsync":
        monkeypatch.setattr(atomic.os, "fsync", _disk_full)
    elif fault == "eacces_creating_temp":
        monkeypatch.setattr(tempfile, "mkstemp", _denied)
        monkeypatch.setattr(tempfile, "mkdtemp", _denied)
    elif fault == "eacces_at_rename":
        real_replace = os.replace

        def replace(src, dst, *a, **k):
            if str(src).endswith(rename_target_suffix):
                _denied()
            return real_replace(src, dst, *a, **k)

        monkeypatch.setattr(os, "replace", replace)
    else:
        raise AssertionError(fault)


FAULTS = ["enospc_mid_file", "enospc_at_fsync", "eacces_creating_temp", "eacces_at_rename"]
ERRNO = {"enospc_mid_file": errno.ENOSPC, "enospc_at_fsync": errno.ENOSPC,
         "eacces_creating_temp": errno.EACCES, "eacces_at_rename": errno.EACCES}


# --- extracts --------------------------------------------------------------------------------------

def _dispatch_state(con) -> tuple:
    return (con.execute("select case_id, status, dispatched_at::varchar, dispatch_round from mart.cases "
                        "order by all").fetchall(),
            con.execute("select count(*) from mart.case_dispatches").fetchone(),
            con.execute("select count(*) from mart.case_events").fetchone(),
            con.execute("select action, target, sha256 from ops.audit_log order by all").fetchall())


@pytest.fixture(scope="module")
def office_template(tmp_path_factory):
    """Tonight's MCA/330102 extract already sent with one case; a second case for that office
    arrives, so the next write_extracts rebuilds the folder (the case where a failure could lose
    the extract already in the outbox). Built once; each test gets a copy."""
    root = tmp_path_factory.mktemp("office")
    con = warehouse(root)
    add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA"])
    update_cases(con, NIGHT)
    outbox = root / "outbox"
    assert [p.relative_to(outbox).as_posix() for p in write_extracts(con, outbox, NIGHT)] == ["MCA/330102/2026-02-07"]
    add_warning(con, "F002", "INC_DROP", "high", "2026-01", ["MCA"])
    update_cases(con, NIGHT)
    con.close()
    return root


@pytest.fixture
def office(office_template, tmp_path):
    import shutil

    shutil.copy(office_template / "w.duckdb", tmp_path / "w.duckdb")
    shutil.copytree(office_template / "outbox", tmp_path / "outbox")
    con = duckdb.connect(str(tmp_path / "w.duckdb"), config={"threads": 1, "memory_limit": "512MB"})
    outbox = tmp_path / "outbox"
    yield con, outbox, outbox / "MCA" / "330102" / NIGHT.isoformat()
    con.close()


@pytest.mark.parametrize("fault", FAULTS)
def test_extract_write_failure_keeps_the_sent_folder_and_marks_nothing_sent(office, monkeypatch, fault):
    con, outbox, folder = office
    before_disk, before_db = _snapshot(outbox), _dispatch_state(con)
    with monkeypatch.context() as mp:
        _inject(mp, fault)
        with pytest.raises(OSError) as e:
            write_extracts(con, outbox, NIGHT)
    assert e.value.errno == ERRNO[fault]
    assert _snapshot(outbox) == before_disk, "the outbox changed (partial, temp or moved-aside folder)"
    assert _dispatch_state(con) == before_db, "a case was marked sent although its extract was not written"
    # the fault gone, the next run sends the new case, with the one sent before
    assert write_extracts(con, outbox, NIGHT) == [folder]
    assert (folder / "cases.csv").read_text(encoding="utf-8-sig").count("C-330102-") == 2
    assert sorted(p.name for p in folder.parent.iterdir()) == [NIGHT.isoformat()]


@pytest.mark.parametrize("fault", ["enospc_mid_file", "eacces_at_rename"])
def test_first_extract_of_an_office_is_all_or_nothing(tmp_path, monkeypatch, fault):
    con = warehouse(tmp_path)
    add_warning(con, "F003", "DISASTER", "urgent", "2026-01", ["MEM"])
    update_cases(con, NIGHT)
    outbox = tmp_path / "outbox"
    with monkeypatch.context() as mp:
        _inject(mp, fault)
        with pytest.raises(OSError):
            write_extracts(con, outbox, NIGHT)
    assert [p for p in outbox.rglob("*") if p.is_file()] == [], "no partial extract may be visible"
    assert con.execute("select count(*) from mart.case_dispatches").fetchone()[0] == 0
    assert len(write_extracts(con, outbox, NIGHT)) == 1
    con.close()


def test_killed_swap_is_put_back_and_stale_temps_swept(tmp_path):
    """SIGKILL between moving tonight's folder aside and renaming the new one in leaves
    ``.<date>.old`` and the new ``.<date>.<pid>.*.tmp``: the next write restores/cleans them."""
    target = tmp_path / "MCA" / "330102" / NIGHT.isoformat()
    with atomic.atomic_dir(target) as d:
        (d / "cases.csv").write_text("sent before")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    os.replace(target, target.with_name(f".{target.name}.old"))          # the killed swap
    stale = target.with_name(f".{target.name}.{dead}.abcd1234.tmp")
    stale.mkdir()
    (stale / "cases.csv").write_text("half")
    live = target.with_name(f".{target.name}.{os.getppid()}.efgh5678.tmp")  # a live writer's
    live.mkdir()
    with pytest.raises(RuntimeError):
        with atomic.atomic_dir(target):
            assert (target / "cases.csv").read_text() == "sent before", "the old folder is put back first"
            raise RuntimeError("write failed")
    assert (target / "cases.csv").read_text() == "sent before"
    assert sorted(p.name for p in target.parent.iterdir()) == sorted([target.name, live.name])


# --- analyst database ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def restricted(tmp_path_factory):
    root = tmp_path_factory.mktemp("atomic")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOWINCOME_HMAC_KEY", KEY)
        (root / "wh").mkdir()
        fx = build_restricted_warehouse(root / "wh" / "warehouse.duckdb")
        settings = Settings(warehouse=fx.warehouse, duckdb_threads=1, duckdb_memory_limit="512MB")
        build_analyst_db(settings, as_of=fx.as_of)
    return fx, settings


@pytest.mark.parametrize("fault", ["enospc_while_populating", "enospc_at_views", "eacces_at_rename"])
def test_analyst_db_failure_keeps_the_previous_database(restricted, monkeypatch, fault):
    from pipelines.analyst import build as analyst_build
    from pipelines.analyst import schema as analyst_schema

    fx, settings = restricted
    monkeypatch.setenv("LOWINCOME_HMAC_KEY", KEY)
    target = settings.analyst_db
    before = _snapshot(target.parent)
    assert target.name in before
    with monkeypatch.context() as mp:
        if fault == "enospc_while_populating":
            real = analyst_build.write_tables

            def write_tables(*a, **k):
                real(*a, **k)  # the new file is half-way (tables written, no views yet)
                _disk_full()

            mp.setattr(analyst_build, "write_tables", write_tables)
        elif fault == "enospc_at_views":
            mp.setattr(analyst_schema, "create_views", _disk_full)
        else:
            _inject(mp, "eacces_at_rename")
        with pytest.raises(OSError) as e:
            build_analyst_db(settings, as_of=fx.as_of)
    assert e.value.errno in (errno.ENOSPC, errno.EACCES)
    after = _snapshot(target.parent)
    assert {k: v for k, v in after.items() if k.startswith(".analyst")} == {}, "temp database left behind"
    assert after[target.name] == before[target.name], "the previous analyst database changed"
    con = duckdb.connect(str(target), read_only=True)
    try:
        assert con.execute("select count(*) from duckdb_tables()").fetchone()[0] > 0
    finally:
        con.close()


def test_analyst_build_sweeps_a_killed_builds_temp_files(restricted, monkeypatch):
    fx, settings = restricted
    monkeypatch.setenv("LOWINCOME_HMAC_KEY", KEY)
    target = settings.analyst_db
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = [target.with_name(f".{target.name}.{dead}.0badf00d.tmp"),
             target.with_name(f".{target.name}.{dead}.0badf00d.tmp.wal")]
    live = target.with_name(f".{target.name}.{os.getppid()}.c0ffee00.tmp")
    for p in (*stale, live):
        p.write_bytes(b"partial")
    build_analyst_db(settings, as_of=fx.as_of)
    assert not any(p.exists() for p in stale), "a killed build's temp files must be removed"
    assert live.exists(), "a live build's temp file must be left alone"
    live.unlink()


# --- report ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", FAULTS)
def test_report_failure_keeps_the_previous_report(restricted, tmp_path, monkeypatch, fault):
    fx, _ = restricted
    outbox = tmp_path / "outbox"
    con = duckdb.connect(str(fx.warehouse), read_only=True)
    try:
        path = write_report(con, outbox, fx.as_of)
        before = _snapshot(outbox)
        with monkeypatch.context() as mp:
            _inject(mp, fault)
            with pytest.raises(OSError) as e:
                write_report(con, outbox, fx.as_of)
        assert e.value.errno == ERRNO[fault]
        assert _snapshot(outbox) == before, "the previous report changed or a temp file was left"
        assert path == report_path(outbox, fx.as_of) and path.read_text(encoding="utf-8").rstrip().endswith("</html>")
    finally:
        con.close()


def test_report_write_sweeps_a_killed_writers_temp_file(restricted, tmp_path):
    fx, _ = restricted
    outbox = tmp_path / "outbox"
    target = report_path(outbox, fx.as_of)
    target.parent.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    (target.parent / f".report.html.{dead}.x1y2z3.tmp").write_text("<html>half")
    (target.parent / ".report.html.k3j2h1g0.tmp").write_text("<html>half")  # untagged (older release)
    con = duckdb.connect(str(fx.warehouse), read_only=True)
    try:
        write_report(con, outbox, fx.as_of)
    finally:
        con.close()
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_an_extract_rewritten_later_is_byte_identical(tmp_path, monkeypatch):
    """A rerun that rebuilds an extract (killed after the folder's rename, before its recording)
    must produce the very bytes an office may already have fetched: no wall clock in the XLSX."""
    import shutil
    import time

    con = warehouse(tmp_path)
    add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA"])
    update_cases(con, NIGHT)
    con.close()
    shutil.copy(tmp_path / "w.duckdb", tmp_path / "copy.duckdb")
    sent = []
    for db, shift in (("w.duckdb", 0), ("copy.duckdb", 86_400 * 3 + 7)):
        real = time.localtime
        with monkeypatch.context() as mp:
            mp.setattr(time, "localtime", lambda secs=None: real((time.time() if secs is None else secs) + shift))
            c = duckdb.connect(str(tmp_path / db))
            try:
                [folder] = write_extracts(c, tmp_path / f"outbox_{db}", NIGHT)
            finally:
                c.close()
        sent.append(_snapshot(folder))
    assert sent[0] == sent[1]
    assert {"cases.xlsx", "feedback_template.xlsx", "manifest.json"} <= set(sent[0])
