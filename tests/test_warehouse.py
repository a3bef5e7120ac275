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


def test_second_writer_is_refused_and_stale_lock_recovered(tmp_path):
    s = Settings(warehouse=tmp_path / "w.duckdb")
    ready = tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", _hold_lock_script(s.warehouse, ready)])
    try:
        for _ in range(200):
            if ready.exists():
                break
            import time
            time.sleep(0.05)
        assert ready.exists()
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


def test_cli_reports_lock_clearly(tmp_path):
    s = Settings(warehouse=tmp_path / "w.duckdb")
    ready = tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", _hold_lock_script(s.warehouse, ready)])
    try:
        import time
        for _ in range(200):
            if ready.exists():
                break
            time.sleep(0.05)
        r = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--landing", str(tmp_path),
                            "--warehouse", str(s.warehouse), "--outbox", str(tmp_path / "o"), "--as-of", "2026-01-05"],
                           capture_output=True, text=True)
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
