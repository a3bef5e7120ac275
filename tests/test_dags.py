"""DAG integrity: every DAG in dags/ imports cleanly and follows the house rules.

No metadata database is needed: ``DagBag(known_pools=...)`` parses the files like the dag
processor does and reports unknown pools as ``dag_warnings``. AIRFLOW_HOME points at a temporary
directory so nothing is written to ``~/airflow``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DAGS = REPO / "dags"

# Before Airflow is imported anywhere in this process: a throw-away home, no examples.
if "airflow" not in sys.modules:
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="lowincome_airflow_home_")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from pipelines import airflow_tasks as lt  # noqa: E402  (light: stdlib + config only)

HEAVY = ("pandas", "duckdb", "great_expectations", "pyarrow", "sklearn", "skops", "matplotlib", "openpyxl",
         "pipelines.ingest", "pipelines.feeds._readers", "pipelines.validate", "pipelines.warehouse")
# Tasks that open the warehouse read-write: they must all queue for the one slot.
WRITERS = {
    "nightly_monitoring": {"load_reference", "load", "core", "eligibility", "indicators", "cases", "apply_feedback",
                           "triage", "extracts", "notices", "analyst_db", "statistics", "report"},
    "department_feedback": {"apply_feedback"},
    # training only reads, but DuckDB lets no reader in while another process writes: it queues too
    "model_training": {"train_eligibility", "train_triage"},
}
READERS = {"nightly_monitoring": {"discover_reference", "validate_reference_feed", "discover", "validate_feed",
                                  "data_docs"},
           "department_feedback": {"find_feedback"}, "model_training": set()}


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS), known_pools={lt.POOL, "default_pool"})


def test_dags_import_without_errors_or_warnings(bag):
    assert bag.import_errors == {}
    assert not bag.dag_warnings, bag.dag_warnings
    assert not any(bag.captured_warnings.values()), bag.captured_warnings
    assert set(bag.dags) == {"nightly_monitoring", "department_feedback", "model_training"}


def test_every_dag_and_task_is_documented_owned_tagged_and_retried(bag):
    for dag_id, dag in bag.dags.items():
        assert dag.doc_md and len(dag.doc_md) > 200, dag_id
        assert dag.tags and "lowincome" in dag.tags, dag_id
        assert dag.max_active_runs == 1, dag_id
        assert dag.catchup is False, dag_id
        assert str(dag.timezone) == "Asia/Shanghai", dag_id
        for t in dag.tasks:
            where = f"{dag_id}.{t.task_id}"
            assert t.doc_md, f"{where} has no doc_md"
            assert t.owner == lt.OWNER, where
            assert t.retries > 0, where
            assert t.retry_exponential_backoff and t.retry_exponential_backoff > 1, where
            assert t.on_failure_callback, where


def test_no_cycles_and_expected_order(bag):
    dag = bag.dags["nightly_monitoring"]
    dag.check_cycle()  # raises on a cycle (the DagBag would also have reported an import error)
    tasks = {t.task_id: t for t in dag.tasks}

    def upstream_closure(task_id: str) -> set[str]:
        seen, todo = set(), [task_id]
        while todo:
            for u in tasks[todo.pop()].upstream_task_ids:
                if u not in seen:
                    seen.add(u)
                    todo.append(u)
        return seen

    order = ["discover_reference", "validate_reference_feed", "load_reference", "discover", "validate_feed",
             "load", "core", "eligibility", "indicators", "cases", "apply_feedback", "triage", "extracts", "notices",
             "analyst_db", "statistics", "report"]
    for before, after in zip(order, order[1:]):
        assert before in upstream_closure(after), f"{before} must run before {after}"
    assert "data_docs" in upstream_closure("report")
    assert "indicators" not in upstream_closure("data_docs")  # docs render beside the writers
    bag.dags["department_feedback"].check_cycle()
    training = bag.dags["model_training"]
    training.check_cycle()
    assert "train_eligibility" in {t.task_id for t in training.get_task("train_triage").upstream_list}


def test_schedules(bag):
    import pendulum
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    nightly = coerce_to_core_timetable(bag.dags["nightly_monitoring"].timetable)
    assert nightly.summary == "0 2 * * *"
    assert coerce_to_core_timetable(bag.dags["department_feedback"].timetable).summary == "0 8-20/3 * * *"
    assert coerce_to_core_timetable(bag.dags["model_training"].timetable).summary == "0 4 8 * *"
    # 02:00 in Shanghai is 18:00 UTC of the day before; the run belongs to the Shanghai date.
    # (catchup=True here only to ask "the first slot after this instant"; with catchup=False the
    # scheduler would pick the latest past slot before now — the missed night is run on return.)
    run = nightly.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=pendulum.datetime(2026, 3, 4, 12, tz="UTC"), latest=None, catchup=True))
    assert run.logical_date == pendulum.datetime(2026, 3, 4, 18, tz="UTC")
    assert lt.night_of(run.logical_date) == dt.date(2026, 3, 5)


def test_writers_in_the_one_slot_pool_readers_not(bag):
    for dag_id, dag in bag.dags.items():
        for t in dag.tasks:
            if t.task_id in WRITERS[dag_id]:
                assert t.pool == lt.POOL and t.pool_slots == 1, f"{dag_id}.{t.task_id} writes the warehouse"
                assert t.queue == lt.WRITER_QUEUE, f"{dag_id}.{t.task_id}: writers run on the warehouse host's queue"
            else:
                assert t.task_id in READERS[dag_id], f"{dag_id}.{t.task_id}: classify it as a reader or a writer"
                assert t.pool != lt.POOL, f"{dag_id}.{t.task_id} must not wait for the writer slot"
                assert t.queue != lt.WRITER_QUEUE, f"{dag_id}.{t.task_id} may run on any worker"
    mapped = [t for t in bag.dags["nightly_monitoring"].tasks if t.task_id.startswith("validate")]
    assert len(mapped) == 2 and all(type(t).__name__ == "DecoratedMappedOperator" for t in mapped)


def test_the_pool_is_created_with_one_slot():
    """The slot count lives in the pool, not in the DAG: the local script and the runbook create it."""
    script = (REPO / "scripts" / "airflow_local.sh").read_text(encoding="utf-8")
    assert f"pools set {lt.POOL} 1 " in script
    assert f"pools set {lt.POOL} 1 " in (REPO / "docs" / "airflow.md").read_text(encoding="utf-8")


def test_assets(bag):
    dag = bag.dags["nightly_monitoring"]
    tasks = {t.task_id: t for t in dag.tasks}
    uris = lambda t: {o.uri for o in tasks[t].outlets}  # noqa: E731
    assert uris("load_reference") == {lt.staging_asset_uri(f) for f in lt.REFERENCE_FEEDS}
    assert uris("load") == {lt.staging_asset_uri(f) for f in lt.DATA_FEEDS}
    assert uris("indicators") == {lt.WARNINGS_ASSET_URI}


def test_params(bag):
    params = bag.dags["nightly_monitoring"].params
    assert params["as_of"] is None and params["feed"] is None and params["dry_run"] is False
    assert "as_of" in bag.dags["department_feedback"].params
    assert "as_of" in bag.dags["model_training"].params


@pytest.mark.parametrize("dag_file", ["nightly_monitoring.py", "department_feedback.py", "model_training.py"])
def test_dag_file_parses_without_heavy_imports(dag_file, tmp_path):
    code = textwrap.dedent(f"""
        import json, runpy, sys, time
        t0 = time.perf_counter()
        import airflow.sdk, pendulum
        from airflow.sdk import dag, task, Asset, Param
        t1 = time.perf_counter()
        runpy.run_path({str(DAGS / dag_file)!r})
        t2 = time.perf_counter()
        print(json.dumps({{"heavy": [m for m in {list(HEAVY)!r} if m in sys.modules],
                          "sdk_s": t1 - t0, "dag_s": t2 - t1}}))
    """)
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["heavy"] == [], f"{dag_file} imports {info['heavy']} at parse time"
    print(f"{dag_file}: airflow.sdk import {info['sdk_s']:.2f}s, DAG file {info['dag_s']:.3f}s")


# --- run parameters and settings --------------------------------------------------------------------

def test_as_of_is_the_shanghai_date_of_the_logical_date():
    import pendulum

    ctx = {"params": {}, "logical_date": pendulum.datetime(2026, 3, 4, 18, tz="UTC")}
    assert lt.run_params(ctx) == lt.RunParams(as_of=dt.date(2026, 3, 5))
    ctx = {"params": {"as_of": "2026-01-31", "feed": "nhsa_claims", "dry_run": True},
           "logical_date": pendulum.datetime(2026, 3, 4, 18, tz="UTC")}
    assert lt.run_params(ctx) == lt.RunParams(as_of=dt.date(2026, 1, 31), feeds=["nhsa_claims"], dry_run=True)

    class Run:
        run_after = pendulum.datetime(2026, 3, 4, 16, 30, tz="UTC")

    assert lt.run_params({"params": {"feed": ""}, "logical_date": None, "dag_run": Run()}).as_of == dt.date(2026, 3, 5)
    with pytest.raises(ValueError, match="not a feed"):
        lt.run_params({"params": {"feed": "nope"}, "logical_date": pendulum.now("UTC")})
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        lt.run_params({"params": {"as_of": "5 March"}, "logical_date": pendulum.now("UTC")})


def test_settings_fall_back_to_env_outside_airflow(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWINCOME_WAREHOUSE", str(tmp_path / "wh" / "warehouse.duckdb"))
    monkeypatch.setenv("LOWINCOME_DUCKDB_THREADS", "1")
    s = lt.airflow_settings()
    assert s.warehouse == tmp_path / "wh" / "warehouse.duckdb"
    assert s.duckdb_threads == 1
    assert s.duckdb_memory_limit == "4GB"  # the CLI's default


def test_dry_run_skips_the_load():
    from airflow.sdk.exceptions import AirflowSkipException

    with pytest.raises(AirflowSkipException):
        lt.load([[{"delivery_id": "x/2026-01-01", "feed_id": "x", "staged_dir": "/nowhere"}]],
                lt.RunParams(as_of=dt.date(2026, 3, 5), dry_run=True))


def test_failure_alert_names_dag_task_map_index_and_feed(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWINCOME_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    import pendulum

    class TI:
        dag_id, task_id, map_index, run_id, try_number = "nightly_monitoring", "validate_feed", 3, "scheduled__x", 4

    class Task:
        op_kwargs = {"feed_id": "nhsa_claims"}

    lt._working_on()  # nothing recorded by a task: the callback falls back to the mapped argument
    lt.alert_on_failure({"ti": TI(), "task": Task(), "exception": OSError("disk full\nreally"),
                         "params": {}, "logical_date": pendulum.datetime(2026, 3, 4, 18, tz="UTC")})
    line = (tmp_path / "warehouse_work" / "alerts.log").read_text(encoding="utf-8").strip()
    assert "\n" not in line
    for part in ("dag=nightly_monitoring", "task=validate_feed", "map_index=3", "feed=nhsa_claims",
                 "as_of=2026-03-05", "OSError: disk full really"):
        assert part in line, line

    lt._working_on(delivery="nhsa_claims/2026-03-03", feed="nhsa_claims")
    lt.alert_on_failure({"ti": TI(), "exception": RuntimeError("x"), "params": {"as_of": "2026-03-05"}})
    last = (tmp_path / "warehouse_work" / "alerts.log").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert "delivery=nhsa_claims/2026-03-03" in last


def test_handoffs_are_small_json(tmp_path):
    from pipelines.ingest import DeliveryRef, PreparedDelivery

    ref = DeliveryRef(feed_id="nhsa_claims", delivery_date=dt.date(2026, 3, 3), folder=tmp_path, as_of=dt.date(2026, 3, 5))
    waiting = lt.handoff(PreparedDelivery(ref=ref, status="waiting"))
    assert waiting["prepared"]["status"] == "waiting" and "staged_dir" not in waiting
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "result.json").write_text("{}")
    ready = lt.handoff(PreparedDelivery(ref=ref, status="ready", rows=10, staged_dir=staged))
    assert ready["staged_dir"] == str(staged) and "prepared" not in ready
    assert len(json.dumps([waiting, ready])) < 2000


# --- one writer at a time ---------------------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from pipelines.config import load_settings
    from pipelines.warehouse import connect, writer_lock
    s = load_settings(warehouse=Path(sys.argv[1]))
    with writer_lock(s, owner="test holder (a loader task)"):
        con = connect(s)
        con.execute("create table if not exists t (i int)")
        Path(sys.argv[2]).touch()             # tell the test we hold the lock
        deadline = time.time() + 60
        n = 0
        while not Path(sys.argv[3]).exists() and time.time() < deadline:
            con.execute("insert into t select range from range(?, ? + 1000)", [n, n])
            n += 1000
            time.sleep(0.05)
        con.close()
    print(n)
""")

SECOND_WRITER = textwrap.dedent("""
    import datetime as dt, sys
    from pathlib import Path
    from pipelines import airflow_tasks as lt
    from pipelines.config import load_settings
    from pipelines.warehouse import WarehouseLocked
    s = load_settings(warehouse=Path(sys.argv[1]), landing=Path(sys.argv[1]).parent / "landing")
    try:
        print(lt.load([[]], lt.RunParams(as_of=dt.date(2026, 3, 5)), settings=s))
    except WarehouseLocked as e:
        print("LOCKED", e)
        sys.exit(3)
""")


def test_a_second_loader_process_is_refused_cleanly(tmp_path):
    """Two loader tasks in two processes (what a pool of more than one slot, or a manual CLI run
    during the night, would cause): the second gets WarehouseLocked at once — it neither waits on
    DuckDB's file lock nor touches the file — and the first one's writes are all there."""
    pytest.importorskip("duckdb")
    wh = tmp_path / "wh" / "warehouse.duckdb"
    ready, stop = tmp_path / "ready", tmp_path / "stop"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(wh), str(ready), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):
            if ready.exists() or holder.poll() is not None:
                break
            import time

            time.sleep(0.1)
        assert ready.exists(), holder.communicate()[1][-2000:]
        second = subprocess.run([sys.executable, "-c", SECOND_WRITER, str(wh)], capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 3, (second.stdout, second.stderr[-2000:])
        assert "LOCKED" in second.stdout and "test holder (a loader task)" in second.stdout
    finally:
        stop.touch()
        out, err = holder.communicate(timeout=60)
    assert holder.returncode == 0, err[-2000:]
    rows_written = int(out.strip().splitlines()[-1])

    import duckdb

    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("select count(*), count(distinct i) from t").fetchone() == (rows_written, rows_written)
    finally:
        con.close()
    assert not Path(str(wh) + ".lock").exists()
    # With the first writer gone, the same loader goes through.
    again = subprocess.run([sys.executable, "-c", SECOND_WRITER, str(wh)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]


def test_local_script_detects_overlapping_writers(tmp_path):
    """scripts/airflow_local.sh decides "writers never overlapped" with airflow_local_tools.py tis:
    it must flag two pool tasks whose intervals intersect (any DAG, any run) and accept touching ones."""
    import sqlite3

    db = tmp_path / "airflow.db"
    con = sqlite3.connect(db)
    con.execute("create table task_instance (dag_id, task_id, map_index, state, pool, start_date, end_date, "
                "try_number, rendered_map_index, run_id)")
    rows = [("nightly_monitoring", "validate_feed", 0, "success", "default_pool", "2026-03-04 18:00:00", "2026-03-04 18:01:00"),
            ("nightly_monitoring", "validate_feed", 1, "success", "default_pool", "2026-03-04 18:00:10", "2026-03-04 18:01:10"),
            ("nightly_monitoring", "load", -1, "success", lt.POOL, "2026-03-04 18:02:00", "2026-03-04 18:03:00"),
            ("nightly_monitoring", "indicators", -1, "success", lt.POOL, "2026-03-04 18:03:00", "2026-03-04 18:04:00")]
    con.executemany("insert into task_instance values (?, ?, ?, ?, ?, ?, ?, 1, null, 'r1')", rows)
    con.commit()
    tools = [sys.executable, str(REPO / "scripts" / "airflow_local_tools.py"), "tis", str(db), "r1"]
    ok = subprocess.run(tools, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "overlapping: none" in ok.stdout and "at most 2 running at once" in ok.stdout
    con.execute("insert into task_instance values ('department_feedback', 'apply_feedback', -1, 'success', ?, "
                "'2026-03-04 18:03:30', '2026-03-04 18:03:40', 1, null, 'r2')", [lt.POOL])
    con.commit()
    bad = subprocess.run(tools, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "department_feedback.apply_feedback" in bad.stdout, bad.stdout + bad.stderr
