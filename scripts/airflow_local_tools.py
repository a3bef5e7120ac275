"""Helpers of scripts/airflow_local.sh (read the Airflow SQLite DB, watch memory, compare warehouses).

    python scripts/airflow_local_tools.py state    AIRFLOW_DB RUN_ID
    python scripts/airflow_local_tools.py tis      AIRFLOW_DB RUN_ID [RUN_ID ...]
    python scripts/airflow_local_tools.py memwatch OUT_JSON ROOT_PID [ROOT_PID ...]
    python scripts/airflow_local_tools.py feedback PROVINCE_DIR OUTBOX FEEDBACK_DIR AS_OF
    python scripts/airflow_local_tools.py summary  WAREHOUSE
    python scripts/airflow_local_tools.py compare  AIRFLOW_WAREHOUSE CLI_WAREHOUSE

Only the standard library at import time; DuckDB and the pipelines package where a command needs them.
The Airflow DB is opened read-only (``mode=ro``) so polling never blocks the scheduler.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import time
from datetime import datetime
from pathlib import Path

POOL = "lowincome_warehouse"


def _db(path: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def _ts(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v.replace(" ", "T")) if v else None


def state(db: str, run_id: str) -> int:
    con = _db(db)
    row = con.execute("select state from dag_run where run_id = ?", [run_id]).fetchone()
    done = con.execute("select count(*) from task_instance where run_id = ? and state in "
                       "('success','skipped','failed','upstream_failed')", [run_id]).fetchone()[0]
    total = con.execute("select count(*) from task_instance where run_id = ?", [run_id]).fetchone()[0]
    print(f"{row[0] if row else 'none'} {done} {total}")
    return 0


def tis(db: str, *run_ids: str) -> int:
    """Task instances of the runs; checks that no two warehouse writers (pool lowincome_warehouse,
    any DAG, any run in the DB) overlapped in time. Exit 1 on an overlap."""
    con = _db(db)
    for run_id in run_ids:
        rows = con.execute(
            """select dag_id, task_id, map_index, state, pool, start_date, end_date, try_number, rendered_map_index
               from task_instance where run_id = ? order by start_date is null, start_date, task_id, map_index""",
            [run_id]).fetchall()
        if not rows:
            print(f"{run_id}: no task instances")
            continue
        first = min((_ts(r[5]) for r in rows if r[5]), default=None)
        last = max((_ts(r[6]) for r in rows if r[6]), default=None)
        print(f"-- {rows[0][0]} / {run_id}" + (f"  (first start -> last end {(last - first).total_seconds():.0f}s)"
                                              if first and last else ""))
        print(f"{'task[map]':<42}{'state':<16}{'pool':<21}{'start +s':>8}{'seconds':>9}  try")
        for dag_id, task_id, mi, st, pool, start, end, tries, label in rows:
            s, e = _ts(start), _ts(end)
            offset = f"{(s - first).total_seconds():.1f}" if s and first else ""
            secs = f"{(e - s).total_seconds():.1f}" if s and e else ""
            name = f"{task_id}[{label or mi}]" if mi >= 0 else task_id
            print(f"{name:<42}{st or '':<16}{pool:<21}{offset:>8}{secs:>9}  {tries}")
        val = [(_ts(r[5]), _ts(r[6])) for r in rows if r[1].startswith("validate") and r[5] and r[6]]
        if val:
            peak = max(sum(1 for s2, e2 in val if s2 <= s < e2) for s, _ in val)
            print(f"mapped validate tasks: {len(val)}, at most {peak} running at once")
    # The pool promise, over every run of every DAG in this Airflow: writers never overlap.
    writers = sorted((_ts(s), _ts(e), f"{d}.{t}[{mi}]" if mi >= 0 else f"{d}.{t}")
                     for d, t, mi, s, e in con.execute(
                         "select dag_id, task_id, map_index, start_date, end_date from task_instance "
                         "where pool = ? and start_date is not null and end_date is not null", [POOL]))
    overlaps = [(a[2], b[2]) for a, b in zip(writers, writers[1:]) if b[0] < a[1]]
    print(f"warehouse writers (pool {POOL}, all runs): {len(writers)}, overlapping: {overlaps or 'none'}")
    return 1 if overlaps else 0


def memwatch(out: str, *roots: str) -> int:
    """Every second: the processes descending from ROOT_PIDs (services, executor workers, task
    supervisors and task processes); record the peak of their summed PSS (shared pages counted
    once, proportionally), of summed RSS, and of the process count. Stops on SIGTERM."""
    root_pids = {int(r) for r in roots}
    me = os.getpid()
    peak = {"pss_mb": 0.0, "rss_mb": 0.0, "processes": 0, "at": None, "samples": 0}
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    t0 = time.time()
    while not stop:
        parent: dict[int, int] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    pass
        tree = {p for p in root_pids if p in parent}
        grew = True
        while grew:
            new = {p for p, pp in parent.items() if pp in tree and p not in tree and p != me}
            tree |= new
            grew = bool(new)
        pss = rss = 0
        for p in tree:
            try:
                with open(f"/proc/{p}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            pss += int(line.split()[1])
                        elif line.startswith("Rss:"):
                            rss += int(line.split()[1])
            except OSError:
                pass
        peak["samples"] += 1
        if pss / 1024 > peak["pss_mb"] or len(tree) > peak["processes"] or rss / 1024 > peak["rss_mb"]:
            if pss / 1024 > peak["pss_mb"]:
                peak["at"] = round(time.time() - t0)
            peak["pss_mb"] = max(peak["pss_mb"], round(pss / 1024, 1))
            peak["rss_mb"] = max(peak["rss_mb"], round(rss / 1024, 1))
            peak["processes"] = max(peak["processes"], len(tree))
            Path(out).write_text(json.dumps(peak))
        if not tree:
            break
        time.sleep(1)
    Path(out).write_text(json.dumps(peak))
    return 0


def feedback(province: str, outbox: str, feedback_dir: str, as_of: str) -> int:
    """County offices answer the night's extracts (the demo's simulation), dated on the night."""
    import datetime as dt

    from pipelines.demo import _truth_households, simulate_feedback

    night = dt.date.fromisoformat(as_of)
    n = simulate_feedback(Path(outbox), Path(feedback_dir), night, night, _truth_households(Path(province) / "truth.csv"))
    files = sorted(Path(feedback_dir).rglob("*.csv"))
    print(f"{n} feedback file(s) written, {sum(len(f.read_text(encoding='utf-8-sig').splitlines()) - 1 for f in files)} "
          f"answer line(s), under {feedback_dir}")
    return 0


def summary(warehouse: str) -> int:
    import duckdb

    con = duckdb.connect(warehouse, read_only=True)
    by = con.execute("select indicator_code, count(*) from mart.warnings group by 1 order by 1").fetchall()
    print(f"  warnings       : {sum(n for _, n in by)} | by indicator: " + ", ".join(f"{k} {n}" for k, n in by))
    cases = con.execute("select status, count(*) from mart.cases group by 1 order by 1").fetchall()
    print(f"  cases          : {sum(n for _, n in cases)} | by status: " + ", ".join(f"{k} {n}" for k, n in cases))
    fb = con.execute("select count(*) from information_schema.tables where table_schema = 'ops' "
                     "and table_name = 'feedback_files'").fetchone()[0]
    if fb:
        print("  feedback files :", con.execute("select count(*) from ops.feedback_files").fetchone()[0], "applied")
    return 0


def compare(airflow_wh: str, cli_wh: str) -> int:
    """Rows only in one side, per table: mart.warnings, mart.cases and every staging table.
    Exit 1 if warnings or staging differ."""
    import duckdb

    con = duckdb.connect()
    q = lambda p: "'" + p.replace("'", "''") + "'"  # noqa: E731
    con.execute(f"attach {q(airflow_wh)} as af (read_only)")
    con.execute(f"attach {q(cli_wh)} as cli (read_only)")
    tables = ["mart.warnings", "mart.cases"] + [f"staging.{t}" for (t,) in con.execute(
        "select table_name from duckdb_tables() where database_name = 'cli' and schema_name = 'staging' order by 1"
    ).fetchall()]
    bad = []
    for t in tables:
        n_af = con.execute(f"select count(*) from af.{t}").fetchone()[0]
        n_cli = con.execute(f"select count(*) from cli.{t}").fetchone()[0]
        only_af = con.execute(f"select count(*) from (from af.{t} except all from cli.{t})").fetchone()[0]
        only_cli = con.execute(f"select count(*) from (from cli.{t} except all from af.{t})").fetchone()[0]
        same = n_af == n_cli and not only_af and not only_cli
        if not same:
            bad.append(t)
        if t.startswith("mart.") or not same:
            print(f"  {t:<28} airflow {n_af:>6}  lowincome run {n_cli:>6}  only-airflow {only_af}  only-cli {only_cli}"
                  f"  {'EQUAL' if same else 'DIFFERENT'}")
    n_staging = len(tables) - 2
    print(f"  staging tables equal: {n_staging - sum(t.startswith('staging.') for t in bad)}/{n_staging}")
    return 1 if [t for t in bad if t != "mart.cases"] else 0


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    sys.exit({"state": state, "tis": tis, "memwatch": memwatch, "feedback": feedback,
              "summary": summary, "compare": compare}[cmd](*args))
