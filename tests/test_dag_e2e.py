"""End to end through Airflow: the nightly DAG (``dag.test()``) on a small synthetic province gives
the same warnings (and staging tables) as ``lowincome run`` on the same input, and re-running the
same logical date changes nothing.

Airflow runs in subprocesses with AIRFLOW_HOME in a temporary directory (SQLite metadata DB,
``airflow db migrate`` first) and DAGS_FOLDER = dags/. ``dag.test()`` runs every task in one
process, so it shows the wiring and the data flow between tasks, not two processes competing for
the DuckDB file; tests/test_dags.py and scripts/airflow_local.sh cover that.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent

RUN_DAG = textwrap.dedent("""
    import json, sys
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    dag_folder, dag_id, as_of = sys.argv[1:4]
    bag = DagBag(dag_folder=dag_folder, known_pools={"lowincome_warehouse", "default_pool"})
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags[dag_id]
    for t in dag.tasks:
        t.retries = 0  # fail fast in a test instead of backing off for minutes
    d = pendulum.parse(as_of)
    # The scheduled run of night D starts at 02:00 Asia/Shanghai on D.
    dr = dag.test(logical_date=pendulum.datetime(d.year, d.month, d.day, 2, tz="Asia/Shanghai"))
    tis = {(ti.task_id, ti.map_index): str(ti.state) for ti in dr.get_task_instances()}
    print("RESULT " + json.dumps({"state": str(dr.state),
                                  "tasks": {f"{t}[{m}]" if m >= 0 else t: s for (t, m), s in sorted(tis.items())}}))
""")

# The CLI exactly as an operator runs it: `lowincome run --landing … --warehouse … --outbox … --as-of …`
# (the console script's entry point, in this interpreter so no PATH lookup is needed).
RUN_NIGHT = textwrap.dedent("""
    import sys
    from pipelines.cli import main
    landing, warehouse, outbox, as_of = sys.argv[1:5]
    sys.exit(main(["run", "--landing", landing, "--warehouse", warehouse, "--outbox", outbox, "--as-of", as_of]))
""")

CHECKSUMS = textwrap.dedent("""
    import json, sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    out = {}
    # Data layers only: ops.* is operational bookkeeping on wall-clock time (ledger timestamps,
    # audit log), expected to grow with every run.
    for s, t in con.execute("select schema_name, table_name from duckdb_tables() "
                            "where schema_name in ('raw', 'staging', 'core', 'mart') order by all").fetchall():
        n, h = con.execute(f'select count(*), bit_xor(hash(x)) from "{s}"."{t}" x').fetchone()
        out[f"{s}.{t}"] = [n, str(h)]
    print(json.dumps(out))
""")

COMPARE = textwrap.dedent("""
    import json, sys, duckdb
    con = duckdb.connect()
    quote = lambda p: "'" + p.replace("'", "''") + "'"
    con.execute(f"attach {quote(sys.argv[1])} as dag (read_only)")
    con.execute(f"attach {quote(sys.argv[2])} as cli (read_only)")
    def diff(table):
        a = con.execute(f"select count(*) from (select * from dag.{table} except all select * from cli.{table})").fetchone()[0]
        b = con.execute(f"select count(*) from (select * from cli.{table} except all select * from dag.{table})").fetchone()[0]
        return [con.execute(f"select count(*) from dag.{table}").fetchone()[0],
                con.execute(f"select count(*) from cli.{table}").fetchone()[0], a, b]
    tables = ["mart.warnings"] + [f"staging.{t}" for (t,) in con.execute(
        "select table_name from duckdb_tables() where database_name = 'cli' and schema_name = 'staging' order by 1").fetchall()]
    print(json.dumps({t: diff(t) for t in tables}))
""")


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOWINCOME_", "AIRFLOW_", "AIRFLOW__"))}
    env.update(GX_ANALYTICS_ENABLED="false", PYTHONUNBUFFERED="1")
    return env


def _run(args, env, timeout, what):
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    assert out.returncode == 0, f"{what} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-6000:]}"
    return out.stdout


def _result(stdout: str) -> dict:
    line = next(x for x in reversed(stdout.splitlines()) if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def test_nightly_dag_equals_lowincome_run_and_rerun_changes_nothing(tmp_path):
    try:
        from pipelines.synth import generate
    except ImportError as e:
        pytest.skip(f"the synthetic province generator (pipelines.synth.generate) is not importable yet: {e}")
    t0 = time.perf_counter()
    province = generate(tmp_path / "province", households=150, months=5)
    as_of = max(province.nights).isoformat()  # every delivery visible: one night does all the work

    common = {**_clean_env(), "LOWINCOME_LANDING": str(province.landing), "LOWINCOME_SHOW_PROGRESS": "false",
              "LOWINCOME_DUCKDB_THREADS": "1", "LOWINCOME_DUCKDB_MEMORY_LIMIT": "1GB",
              "LOWINCOME_HMAC_KEY": secrets.token_hex(32)}
    cli_env = {**common, "LOWINCOME_WAREHOUSE": str(tmp_path / "cli" / "warehouse.duckdb"),
               "LOWINCOME_OUTBOX": str(tmp_path / "cli" / "outbox")}
    dag_env = {**common, "LOWINCOME_WAREHOUSE": str(tmp_path / "dag" / "warehouse.duckdb"),
               "LOWINCOME_OUTBOX": str(tmp_path / "dag" / "outbox"),
               "AIRFLOW_HOME": str(tmp_path / "airflow_home"),
               "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
               "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow_home' / 'airflow.db'}"}

    # The reference night (`lowincome run`) runs beside Airflow's migration and first run.
    cli = subprocess.Popen([sys.executable, "-c", RUN_NIGHT, str(province.landing), cli_env["LOWINCOME_WAREHOUSE"],
                            cli_env["LOWINCOME_OUTBOX"], as_of], env=cli_env, cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _run([sys.executable, "-m", "airflow", "db", "migrate"], dag_env, 300, "airflow db migrate")
        first = _result(_run([sys.executable, "-c", RUN_DAG, str(REPO / "dags"), "nightly_monitoring", as_of],
                             dag_env, 600, "dag.test (first run)"))
    finally:
        cli_out, cli_err = cli.communicate(timeout=600)
    assert cli.returncode == 0, f"lowincome run failed:\n{cli_out[-2000:]}\n{cli_err[-4000:]}"

    assert first["state"] == "success", first
    assert all(s == "success" for s in first["tasks"].values()), first["tasks"]
    assert sum(t.startswith("validate_feed[") for t in first["tasks"]) >= 10, "expected one mapped task per feed"

    dag_wh, cli_wh = tmp_path / "dag" / "warehouse.duckdb", tmp_path / "cli" / "warehouse.duckdb"
    diffs = json.loads(_run([sys.executable, "-c", COMPARE, str(dag_wh), str(cli_wh)], common, 120, "compare"))
    assert diffs["mart.warnings"][0] > 0, "the province should raise warnings"
    bad = {t: d for t, d in diffs.items() if d[0] != d[1] or d[2] or d[3]}
    assert not bad, f"DAG vs lowincome run [dag rows, cli rows, only in dag, only in cli]: {bad}"

    before = json.loads(_run([sys.executable, "-c", CHECKSUMS, str(dag_wh)], common, 120, "checksums"))
    second = _result(_run([sys.executable, "-c", RUN_DAG, str(REPO / "dags"), "nightly_monitoring", as_of],
                          dag_env, 600, "dag.test (re-run)"))
    assert second["state"] == "success", second
    after = json.loads(_run([sys.executable, "-c", CHECKSUMS, str(dag_wh)], common, 120, "checksums"))
    changed = {t: (before.get(t), after.get(t)) for t in set(before) | set(after) if before.get(t) != after.get(t)}
    assert not changed, f"re-running the night changed: {changed}"
    print(f"e2e: {diffs['mart.warnings'][0]} warnings equal; re-run identical; {time.perf_counter() - t0:.0f}s")
