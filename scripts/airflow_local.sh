#!/usr/bin/env bash
# A real local Airflow 3 on embedded SQLite, running nightly_monitoring on a synthetic province.
#
#   scripts/airflow_local.sh [--households N] [--months M] [--port P] [--timeout SECONDS] [--dir DIR]
#
# Starts scheduler (LocalExecutor, parallelism 4) + dag-processor + api-server with AIRFLOW_HOME in
# a temporary directory, creates the one-slot pool `lowincome_warehouse`, generates a synthetic
# province, points LOWINCOME_* at it, unpauses and triggers nightly_monitoring with conf as_of =
# the province's last night, waits for the run, prints the task states (and checks that warehouse
# writers never overlapped while the mapped validations did run side by side), says where the
# outputs are, and stops every process it started. Outputs stay in DIR for inspection.
#
# Needs: `uv sync` done (uses .venv/bin), two free TCP ports: the API (default 28080) and the
# worker log server (API port + 1; Airflow's default 8793 clashes with other local Airflows). No network.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOUSEHOLDS=150
MONTHS=5
PORT=28080
TIMEOUT=900
DIR=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --households) HOUSEHOLDS="$2"; shift 2 ;;
        --months) MONTHS="$2"; shift 2 ;;
        --port) PORT="$2"; shift 2 ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        --dir) DIR="$2"; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
DIR="${DIR:-$(mktemp -d /tmp/lowincome_airflow.XXXXXX)}"
mkdir -p "$DIR/logs"
DIR="$(cd "$DIR" && pwd)"

# `airflow` and the task processes must come from the project's venv (standalone-style pitfall:
# a different `airflow` on PATH would run tasks without the pipelines package).
export PATH="$REPO/.venv/bin:$PATH"
PY="$REPO/.venv/bin/python"

# --- Airflow configuration: everything through the environment, nothing in ~/airflow -------------
export AIRFLOW_HOME="$DIR/airflow_home"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__PARALLELISM=4
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="$((PORT + 1))"
export AIRFLOW__API__BASE_URL="http://localhost:$PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://localhost:$PORT/execution/"
export AIRFLOW__API_AUTH__JWT_SECRET="$("$PY" -c 'import secrets; print(secrets.token_hex(32))')"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True
export AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=2
# Only the run we trigger: with catchup=False, unpausing would otherwise also start the latest
# missed 02:00 run (as_of = today), which on a synthetic province would do the night's work first.
export AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=False
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=30
export GX_ANALYTICS_ENABLED=false
export PYTHONUNBUFFERED=1

for p in "$PORT" "$((PORT + 1))"; do
    if ! "$PY" -c 'import socket, sys; s = socket.socket(); s.bind(("0.0.0.0", int(sys.argv[1]))); s.close()' "$p" 2>/dev/null; then
        echo "port $p is in use; pick another with --port" >&2
        exit 2
    fi
done

t0=$(date +%s)
say() { echo "[+$(( $(date +%s) - t0 ))s] $*"; }

PIDS=()
cleanup() {
    local rc=$?
    if [[ ${#PIDS[@]} -gt 0 ]]; then
        echo "stopping: ${PIDS[*]}"
        for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
        for _ in $(seq 1 30); do
            local alive=0
            for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
            [[ $alive -eq 0 ]] && break
            sleep 1
        done
        for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    fi
    echo "outputs kept in $DIR"
    exit $rc
}
trap cleanup EXIT INT TERM

start() {  # start NAME CMD...: own process group (setsid) so stopping it also stops its workers
    local name="$1"; shift
    setsid "$@" >"$DIR/logs/$name.log" 2>&1 &
    PIDS+=("$!")
    echo "started $name (pid $!), log $DIR/logs/$name.log"
}

say "== Airflow home $AIRFLOW_HOME (SQLite, LocalExecutor, parallelism 4, API port $PORT)"
airflow db migrate >"$DIR/logs/db_migrate.log" 2>&1
airflow pools set lowincome_warehouse 1 "one DuckDB warehouse writer at a time" >/dev/null
echo "pool lowincome_warehouse: 1 slot"

# --- a synthetic province and the pipeline's settings ---------------------------------------------
say "== synthetic province: $HOUSEHOLDS households, $MONTHS months"
AS_OF="$("$PY" - "$DIR/province" "$HOUSEHOLDS" "$MONTHS" <<'EOF'
import sys
from pathlib import Path
from pipelines.synth import generate
r = generate(Path(sys.argv[1]), households=int(sys.argv[2]), months=int(sys.argv[3]))
print(r.summary(), file=sys.stderr)
print(max(r.nights).isoformat())
EOF
)"
export LOWINCOME_LANDING="$DIR/province/landing"
export LOWINCOME_WAREHOUSE="$DIR/warehouse/warehouse.duckdb"
export LOWINCOME_OUTBOX="$DIR/outbox"
export LOWINCOME_FEEDBACK="$DIR/feedback"
export LOWINCOME_SHOW_PROGRESS=false
export LOWINCOME_DUCKDB_THREADS=1
export LOWINCOME_DUCKDB_MEMORY_LIMIT=1GB
mkdir -p "$LOWINCOME_FEEDBACK"
# The pseudonymisation key: a file outside the repo, readable by the task processes only.
( umask 077; "$PY" -c 'import secrets; print(secrets.token_hex(32))' >"$DIR/hmac.key" )
export LOWINCOME_HMAC_KEY_FILE="$DIR/hmac.key"
echo "night to run: $AS_OF"

# --- services ---------------------------------------------------------------------------------------
start api-server airflow api-server --port "$PORT" --workers 1
start scheduler airflow scheduler
start dag-processor airflow dag-processor

say "== waiting for the API server and for the DAG to be parsed"
for i in $(seq 1 120); do
    if "$PY" - "$AIRFLOW_HOME/airflow.db" <<'EOF' 2>/dev/null; then break; fi
import sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
n = con.execute("select count(*) from serialized_dag where dag_id = 'nightly_monitoring'").fetchone()[0]
sys.exit(0 if n else 1)
EOF
    [[ $i -eq 120 ]] && { echo "the DAG was not parsed within 4 minutes; see $DIR/logs/dag-processor.log"; exit 1; }
    sleep 2
done
for i in $(seq 1 60); do
    curl -fsS "http://localhost:$PORT/api/v2/monitor/health" >/dev/null 2>&1 && break
    [[ $i -eq 60 ]] && { echo "API server not up on port $PORT; see $DIR/logs/api-server.log"; exit 1; }
    sleep 2
done
echo "ready after $(( $(date +%s) - t0 ))s"

RUN_ID="local__${AS_OF}__$(date +%H%M%S)"
airflow dags unpause nightly_monitoring >/dev/null
airflow dags trigger nightly_monitoring -r "$RUN_ID" -c "{\"as_of\": \"$AS_OF\"}" >/dev/null
say "== triggered $RUN_ID (conf as_of=$AS_OF); polling"
t1=$(date +%s)
STATE=""
while :; do
    STATE="$("$PY" - "$AIRFLOW_HOME/airflow.db" "$RUN_ID" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
row = con.execute("select state from dag_run where run_id = ?", [sys.argv[2]]).fetchone()
done = con.execute("select count(*) from task_instance where run_id = ? and state in ('success','skipped','failed','upstream_failed')", [sys.argv[2]]).fetchone()[0]
print(f"{row[0] if row else 'none'} {done}")
EOF
)" || STATE="unknown 0"
    set -- $STATE
    echo "  $(( $(date +%s) - t1 ))s: run $1, $2 task instance(s) finished"
    [[ "$1" == "success" || "$1" == "failed" ]] && break
    if (( $(date +%s) - t1 > TIMEOUT )); then echo "timeout after ${TIMEOUT}s"; break; fi
    sleep 10
done
RUN_STATE="$1"

say "== task instances of $RUN_ID"
"$PY" - "$AIRFLOW_HOME/airflow.db" "$RUN_ID" <<'EOF'
import sqlite3, sys
from datetime import datetime
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = con.execute("""select task_id, map_index, state, pool, start_date, end_date, try_number, rendered_map_index
                      from task_instance where run_id = ? order by start_date is null, start_date, task_id, map_index""",
                   [sys.argv[2]]).fetchall()
def ts(v):
    return datetime.fromisoformat(v.replace(" ", "T")) if v else None
print(f"{'task[map]':<42}{'state':<16}{'pool':<20}{'seconds':>8}  try")
for task_id, mi, state, pool, start, end, tries, label in rows:
    s, e = ts(start), ts(end)
    secs = f"{(e - s).total_seconds():.1f}" if s and e else ""
    name = f"{task_id}[{label or mi}]" if mi >= 0 else task_id
    print(f"{name:<42}{state or '':<16}{pool:<20}{secs:>8}  {tries}")
# The pool promise: warehouse writers never overlap; the mapped validations may.
writers = sorted((ts(s), ts(e), t) for t, mi, st, p, s, e, *_ in rows if p == "lowincome_warehouse" and s and e)
overlaps = [(a[2], b[2]) for a, b in zip(writers, writers[1:]) if b[0] < a[1]]
print("warehouse writers overlapping:", overlaps or "none")
val = [(ts(s), ts(e)) for t, mi, st, p, s, e, *_ in rows if t.startswith("validate") and s and e]
peak = max((sum(1 for s2, e2 in val if s2 <= s < e2) for s, _ in val), default=0)
print(f"mapped validate tasks: {len(val)}, at most {peak} running at once")
EOF

say "== outputs"
echo "  run state      : $RUN_STATE   (trigger -> end $(( $(date +%s) - t1 ))s; whole script $(( $(date +%s) - t0 ))s)"
echo "  warehouse      : $LOWINCOME_WAREHOUSE"
echo "  analyst db     : $(dirname "$LOWINCOME_WAREHOUSE")/analyst.duckdb"
echo "  extracts       : $LOWINCOME_OUTBOX/<DEPT>/<county>/$AS_OF/"
echo "  report         : $LOWINCOME_OUTBOX/report/$AS_OF/report.html"
echo "  data docs      : $(dirname "$LOWINCOME_WAREHOUSE")/warehouse_work/data_docs/$AS_OF/index.html"
echo "  alerts         : $(dirname "$LOWINCOME_WAREHOUSE")/warehouse_work/alerts.log"
echo "  task logs      : $AIRFLOW_HOME/logs/dag_id=nightly_monitoring/run_id=$RUN_ID/"
echo "  service logs   : $DIR/logs/"
if [[ -f "$LOWINCOME_WAREHOUSE" ]]; then
    "$PY" - "$LOWINCOME_WAREHOUSE" <<'EOF' || true
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("  warnings       :", con.execute("select count(*) from mart.warnings").fetchone()[0],
      "| by indicator:", ", ".join(f"{k} {n}" for k, n in con.execute(
          "select indicator_code, count(*) from mart.warnings group by 1 order by 1").fetchall()))
print("  cases          :", con.execute("select count(*) from mart.cases").fetchone()[0])
EOF
fi
[[ -s "$(dirname "$LOWINCOME_WAREHOUSE")/warehouse_work/alerts.log" ]] && { say "== alerts"; cat "$(dirname "$LOWINCOME_WAREHOUSE")/warehouse_work/alerts.log"; }
[[ "$RUN_STATE" == "success" ]]
