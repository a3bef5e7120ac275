"""Warehouse plumbing: settings layering, the single-writer lock, atomic writes, encryption at rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from pipelines.atomic import atomic_dir, atomic_write_text
from pipelines.config import Settings, load_settings
from pipelines.warehouse import WarehouseLocked, connect, writer_lock


def test_settings_layering(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[settings]\nwarehouse = "/x/file.duckdb"\nduckdb_threads = 1\n')
    s = load_settings(config_file=cfg, env={"LOWINCOME_DUCKDB_THREADS": "2"}, outbox=tmp_path / "o", landing=None)
    assert s.warehouse == Path("/x/file.duckdb")
    assert s.duckdb_threads == 2  # env beats file
    assert s.outbox == tmp_path / "o"  # flag beats both
    assert s.landing == Path("landing")  # a flag not given keeps the default
    with pytest.raises(ValueError, match="unknown settings"):
        load_settings(env={}, nonsense=1)


def test_connect_applies_resource_limits(tmp_path):
    s = Settings(warehouse=tmp_path / "w.duckdb", duckdb_threads=1, duckdb_memory_limit="512MB")
    con = connect(s)
    assert con.execute("select current_setting('threads')").fetchone()[0] == 1
    limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert limit.startswith("488") or "MiB" in limit or "MB" in limit
    assert Path(con.execute("select current_setting('temp_directory')").fetchone()[0]) == s.temp_directory
    con.close()


def _hold_lock_script(warehouse: Path, ready: Path) -> str:
    return textwrap.dedent(f"""
        import time, pathlib
        from pipelines.config import Settings
        from pipelines.warehouse import writer_lock
        with writer_lock(Settings(warehouse=pathlib.Path({str(warehouse)!r})), owner="holder"):
            pathlib.Path({str(ready)!r}).write_text("ok")
            time.sleep(60)
    """)


def _holder(warehouse: Path, ready: Path) -> subprocess.Popen:
    """A process holding the writer lock of ``warehouse`` (for 60 s), once it is held."""
    import time

    proc = subprocess.Popen([sys.executable, "-c", _hold_lock_script(warehouse, ready)])
    for _ in range(200):
        if ready.exists():
            break
        time.sleep(0.05)
    assert ready.exists()
    return proc


def test_second_writer_is_refused_and_stale_lock_recovered(tmp_path):
    s = Settings(warehouse=tmp_path / "w.duckdb")
    ready = tmp_path / "ready"
    holder = _holder(s.warehouse, ready)
    try:
        with pytest.raises(WarehouseLocked, match="being written by holder"):
            with writer_lock(s):
                pass
    finally:
        holder.kill()  # SIGKILL: the lock file stays behind, stale
        holder.wait()
    lock = Path(str(s.warehouse) + ".lock")
    assert lock.exists()
    assert json.loads(lock.read_text())["pid"] == holder.pid
    with writer_lock(s):  # the dead holder's lock is recovered
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_second_writer_through_a_symlink_is_refused(tmp_path):
    """The lock keys on the real file: a path that is a symlink to the same warehouse (or to its
    folder) finds the same lock."""
    real = tmp_path / "real" / "w.duckdb"
    real.parent.mkdir()
    real.write_bytes(b"")
    (tmp_path / "alias.duckdb").symlink_to(real)
    (tmp_path / "folder").symlink_to(real.parent)
    ready = tmp_path / "ready"
    holder = _holder(real, ready)
    try:
        for other in (tmp_path / "alias.duckdb", tmp_path / "folder" / "w.duckdb", tmp_path / "real" / ".." / "real" / "w.duckdb"):
            with pytest.raises(WarehouseLocked, match="being written by holder"):
                with writer_lock(Settings(warehouse=other)):
                    pass
    finally:
        holder.kill()
        holder.wait()


def test_cli_reports_lock_clearly(tmp_path):
    s = Settings(warehouse=tmp_path / "w.duckdb")
    ready = tmp_path / "ready"
    holder = _holder(s.warehouse, ready)
    try:
        r = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--landing", str(tmp_path),
                            "--warehouse", str(s.warehouse), "--outbox", str(tmp_path / "o"), "--as-of", "2026-01-05"],
                           capture_output=True, text=True, env={**os.environ, "LOWINCOME_HMAC_KEY": "k" * 32})
        assert r.returncode == 3
        assert "being written by holder" in r.stderr
    finally:
        holder.kill()
        holder.wait()


def test_atomic_file_keeps_previous_content_on_error(tmp_path):
    target = tmp_path / "report.html"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        from pipelines.atomic import atomic_file
        with atomic_file(target, "w") as f:
            f.write("half-written")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temp file left


def test_atomic_dir_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "outbox" / "MCA" / "440303" / "2026-01-05"
    with pytest.raises(OSError):
        with atomic_dir(target) as d:
            (d / "cases.csv").write_text("a")
            raise OSError("permission denied")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []
    with atomic_dir(target) as d:
        (d / "cases.csv").write_text("b")
    assert (target / "cases.csv").read_text() == "b"


def test_encrypted_warehouse_needs_its_key(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWINCOME_ENCRYPTION_KEY", "a key from configuration, with a ' quote")
    s = Settings(warehouse=tmp_path / "enc.duckdb")
    con = connect(s)
    con.execute("create schema staging; create table staging.t as select '110105194912310029' as person_id")
    con.close()
    con = connect(s, read_only=True)
    assert con.execute("select person_id from staging.t").fetchone()[0] == "110105194912310029"
    con.close()
    assert b"110105194912310029" not in (tmp_path / "enc.duckdb").read_bytes()
    with pytest.raises(duckdb.Error, match="encrypted"):
        duckdb.connect(str(tmp_path / "enc.duckdb"))


_CONTENDER = textwrap.dedent("""
    import os, pathlib, sys, time
    from pipelines import warehouse
    from pipelines.config import Settings
    wh, go, out = map(pathlib.Path, sys.argv[1:4])
    real = warehouse.pid_alive
    def slow_pid_alive(pid):  # widen the window between "the holder is dead" and the takeover
        time.sleep(0.3)
        return real(pid)
    warehouse.pid_alive = slow_pid_alive
    while not go.exists():
        time.sleep(0.01)
    try:
        with warehouse.writer_lock(Settings(warehouse=wh), owner=f"contender {os.getpid()}"):
            (out / f"won.{os.getpid()}").write_text("")
            time.sleep(1.5)
    except warehouse.WarehouseLocked as e:
        (out / f"lost.{os.getpid()}").write_text(str(e))
""")


def _dead_pid() -> int:
    p = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(p.stdout)


def test_stale_lock_is_taken_over_by_exactly_one_of_several_runs(tmp_path):
    """Several runs recovering the same stale lock at once: exactly one gets it, the others are
    refused naming the winner (no check-then-unlink race letting two write the warehouse)."""
    import socket

    s = Settings(warehouse=tmp_path / "w.duckdb")
    lock = Path(str(s.warehouse) + ".lock")
    lock.write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname(), "owner": "killed run",
                                "since": 0}))
    go, out = tmp_path / "go", tmp_path / "out"
    out.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", _CONTENDER, str(s.warehouse), str(go), str(out)])
             for _ in range(3)]
    import time
    time.sleep(1.0)  # all three started and waiting
    go.touch()
    for p in procs:
        assert p.wait(timeout=60) == 0
    won = sorted(p.name for p in out.glob("won.*"))
    lost = sorted(out.glob("lost.*"))
    assert len(won) == 1 and len(lost) == 2, (won, [p.name for p in lost])
    winner = won[0].split(".")[1]
    assert all(f"being written by contender {winner}" in p.read_text() for p in lost)
    assert not lock.exists()


def test_lock_file_naming_a_live_but_unrelated_pid_is_not_a_lock(tmp_path):
    """A killed run's pid may be reused by an unrelated process: what counts is whether anyone
    holds the lock, not whether the pid in the file happens to be alive."""
    import socket

    s = Settings(warehouse=tmp_path / "w.duckdb")
    lock = Path(str(s.warehouse) + ".lock")
    lock.write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname(), "owner": "killed run",
                                "since": 0}))
    with writer_lock(s, owner="next run"):
        assert json.loads(lock.read_text())["owner"] == "next run"
    assert not lock.exists()
