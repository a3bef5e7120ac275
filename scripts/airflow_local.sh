#!/usr/bin/env bash
# A real local Airflow 3 on embedded SQLite, running nightly_monitoring on a synthetic province.
#
#   scripts/airflow_local.sh [--households N] [--months M] [--port P] [--timeout SECONDS] [--dir DIR]
#                            [--no-feedback] [--no-compare]
#
# Starts scheduler (LocalExecutor, parallelism 4) + dag-processor + api-server with AIRFLOW_HOME in
# a temporary directory, creates the one-slot pool `lowincome_warehouse`, generates a synthetic
# province, points LOWINCOME_* at it, unpauses and triggers nightly_monitoring with conf as_of =
# the province's last night, waits for the run, prints the task states (and checks that warehouse
# writers never overlapped while the mapped validations did run side by side). Then (unless
# --no-feedback) county offices answer the night's extracts (simulated, as in `lowincome demo`) and
# department_feedback is triggered once to apply them. It stops every process it started, and
# (unless --no-compare) runs `lowincome run` on the same province into DIR/cli and compares its
# warnings, cases and staging tables with the Airflow warehouse as the nightly run left it.
# Prints the peak memory of all Airflow processes (PSS) and where the outputs are; they stay in DIR.
# Exit status 0 only if both runs succeeded, no writers overlapped and the comparison matched.
#
# Needs: `uv sync` done (uses .venv/bin) and one free TCP port on 127.0.0.1 for the API server
# (default 28080). Everything listens on loopback only: the scheduler's worker log server (which
# binds all interfaces) is off — with LocalExecutor the API server reads task logs from disk.
# Helpers (polling, task table, memory watch, comparison): scripts/airflow_local_tools.py.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOUSEHOLDS=150
MONTHS=5
PORT=28080
TIMEOUT=900
DIR=""
FEEDBACK=1
COMPARE=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --households) HOUSEHOLDS="$2"; shift 2 ;;
        --months) MONTHS="$2"; shift 2 ;;
        --port) PORT="$2"; shift 2 ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        --dir) DIR="$2"; shift 2 ;;
        --no-feedback) FEEDBACK=0; shift ;;
        --no-compare) COMPARE=0; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
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
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$PORT/execution/"
export AIRFLOW__API_AUTH__JWT_SECRET="$("$PY" -c 'import secrets; print(secrets.token_hex(32))')"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True
export AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=2
# Only the runs we trigger: with catchup=False, unpausing would otherwise also start the latest
# missed 02:00 run (as_of = today), which on a synthetic province would do the night's work first.
export AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=False
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=30
export GX_ANALYTICS_ENABLED=false
export PYTHONUNBUFFERED=1

if ! "$PY" -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.close()' "$PORT" 2>/dev/null; then
    echo "port $PORT is in use on 127.0.0.1; pick another with --port" >&2
    exit 2
fi

TOOLS=("$PY" "$REPO/scripts/airflow_local_tools.py")
ADB="$AIRFLOW_HOME/airflow.db"
t0=$(date +%s)
say() { echo "[+$(( $(date +%s) - t0 ))s] $*"; }

PIDS=()
stop_services() {
    [[ ${#PIDS[@]} -gt 0 ]] || return 0
    echo "stopping: ${PIDS[*]}"
    for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for _ in $(seq 1 30); do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
        [[ $alive -eq 0 ]] && break
        sleep 1
    done
    for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    PIDS=()
}
cleanup() {
    local rc=$?
    stop_services
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

wait_run() {  # wait_run RUN_ID: poll the run until it ends; sets RUN_STATE
    local run_id="$1" t1 st
    t1=$(date +%s)
    while :; do
        st="$("${TOOLS[@]}" state "$ADB" "$run_id" 2>/dev/null)" || st="unknown 0 0"
        set -- $st
        echo "  $(( $(date +%s) - t1 ))s: run $1, $2/$3 task instance(s) finished"
        [[ "$1" == "success" || "$1" == "failed" ]] && break
        if (( $(date +%s) - t1 > TIMEOUT )); then echo "timeout after ${TIMEOUT}s"; break; fi
        sleep 10
    done
    RUN_STATE="$1"
    RUN_SECONDS=$(( $(date +%s) - t1 ))
}

say "== Airflow home $AIRFLOW_HOME (SQLite, LocalExecutor, parallelism 4, API 127.0.0.1:$PORT); load: $(cut -d' ' -f1-3 /proc/loadavg)"
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
WORK="$(dirname "$LOWINCOME_WAREHOUSE")/warehouse_work"
echo "night to run: $AS_OF"

# --- services ---------------------------------------------------------------------------------------
start api-server airflow api-server --host 127.0.0.1 --port "$PORT" --workers 1
start scheduler airflow scheduler --skip-serve-logs
start dag-processor airflow dag-processor
start memwatch "${TOOLS[@]}" memwatch "$DIR/memory.json" "${PIDS[@]}"

say "== waiting for the API server and for the DAGs to be parsed"
for i in $(seq 1 120); do
    if "$PY" - "$ADB" <<'EOF' 2>/dev/null; then break; fi
import sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
n = con.execute("select count(distinct dag_id) from serialized_dag where dag_id in ('nightly_monitoring', 'department_feedback')").fetchone()[0]
sys.exit(0 if n == 2 else 1)
EOF
    [[ $i -eq 120 ]] && { echo "the DAGs were not parsed within 4 minutes; see $DIR/logs/dag-processor.log"; exit 1; }
    sleep 2
done
for i in $(seq 1 60); do
    curl -fsS "http://127.0.0.1:$PORT/api/v2/monitor/health" >/dev/null 2>&1 && break
    [[ $i -eq 60 ]] && { echo "API server not up on port $PORT; see $DIR/logs/api-server.log"; exit 1; }
    sleep 2
done
READY=$(( $(date +%s) - t0 ))
echo "ready after ${READY}s"

# --- the night ---------------------------------------------------------------------------------------
RUN_ID="local__${AS_OF}__$(date +%H%M%S)"
airflow dags unpause nightly_monitoring >/dev/null
airflow dags trigger nightly_monitoring -r "$RUN_ID" -c "{\"as_of\": \"$AS_OF\"}" >/dev/null
say "== triggered nightly_monitoring $RUN_ID (conf as_of=$AS_OF); polling"
wait_run "$RUN_ID"
NIGHT_STATE="$RUN_STATE"; NIGHT_SECONDS="$RUN_SECONDS"
RUNS=("$RUN_ID")

# The warehouse as the night left it (no writer is running now): what `lowincome run` must equal.
if [[ "$NIGHT_STATE" == "success" ]]; then
    mkdir -p "$DIR/night_snapshot"
    cp "$LOWINCOME_WAREHOUSE" "$DIR/night_snapshot/warehouse.duckdb"
    if [[ -f "$LOWINCOME_WAREHOUSE.wal" ]]; then cp "$LOWINCOME_WAREHOUSE.wal" "$DIR/night_snapshot/warehouse.duckdb.wal"; fi
fi

# --- the day: department feedback ---------------------------------------------------------------------
FB_STATE="not run"
if [[ "$NIGHT_STATE" == "success" && $FEEDBACK -eq 1 ]]; then
    say "== county offices answer the night's extracts (simulated)"
    "${TOOLS[@]}" feedback "$DIR/province" "$LOWINCOME_OUTBOX" "$LOWINCOME_FEEDBACK" "$AS_OF"
    FB_RUN="local_feedback__${AS_OF}__$(date +%H%M%S)"
    airflow dags unpause department_feedback >/dev/null
    airflow dags trigger department_feedback -r "$FB_RUN" -c "{\"as_of\": \"$AS_OF\"}" >/dev/null
    say "== triggered department_feedback $FB_RUN (conf as_of=$AS_OF); polling"
    wait_run "$FB_RUN"
    FB_STATE="$RUN_STATE ($RUN_SECONDS s)"
    RUNS+=("$FB_RUN")
fi

say "== task instances"
OVERLAP=0
"${TOOLS[@]}" tis "$ADB" "${RUNS[@]}" || OVERLAP=1
END_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
stop_services
MEM="$(cat "$DIR/memory.json" 2>/dev/null || echo '{}')"

# --- the same province through the CLI ------------------------------------------------------------------
CMP="not run"
if [[ "$NIGHT_STATE" == "success" && $COMPARE -eq 1 ]]; then
    say "== lowincome run on the same province (CLI, same settings and key) for comparison"
    mkdir -p "$DIR/cli/feedback"
    tc=$(date +%s)
    if lowincome run --landing "$LOWINCOME_LANDING" --warehouse "$DIR/cli/warehouse.duckdb" \
            --outbox "$DIR/cli/outbox" --feedback "$DIR/cli/feedback" --as-of "$AS_OF" >"$DIR/logs/lowincome_run.log" 2>&1; then
        echo "  lowincome run: $(( $(date +%s) - tc ))s (log $DIR/logs/lowincome_run.log)"
        if "${TOOLS[@]}" compare "$DIR/night_snapshot/warehouse.duckdb" "$DIR/cli/warehouse.duckdb"; then
            CMP="equal"
        else
            CMP="DIFFERENT"
        fi
    else
        CMP="lowincome run failed (see $DIR/logs/lowincome_run.log)"
    fi
fi

say "== outcome"
echo "  nightly run    : $NIGHT_STATE   (trigger -> end ${NIGHT_SECONDS}s; services ready after ${READY}s; whole script $(( $(date +%s) - t0 ))s)"
echo "  feedback run   : $FB_STATE"
echo "  writers overlap: $([[ $OVERLAP -eq 0 ]] && echo none || echo YES)"
echo "  vs lowincome run: $CMP"
echo "  peak memory    : $MEM  (all Airflow processes: services, executor workers, tasks)"
echo "  load average   : $END_LOAD at the end of the runs ($(nproc) cores)"
if [[ -f "$LOWINCOME_WAREHOUSE" ]]; then
    echo "  -- the Airflow warehouse now (after the night$([[ $FEEDBACK -eq 1 ]] && echo ' and the feedback run')):"
    "${TOOLS[@]}" summary "$LOWINCOME_WAREHOUSE" || true
fi
echo "  warehouse      : $LOWINCOME_WAREHOUSE"
echo "  analyst db     : $(dirname "$LOWINCOME_WAREHOUSE")/analyst.duckdb"
echo "  extracts       : $LOWINCOME_OUTBOX/<DEPT>/<county>/$AS_OF/"
echo "  report         : $LOWINCOME_OUTBOX/report/$AS_OF/report.html"
echo "  data docs      : $WORK/data_docs/$AS_OF/index.html"
echo "  alerts         : $WORK/alerts.log"
echo "  task logs      : $AIRFLOW_HOME/logs/dag_id=*/run_id=*/"
echo "  service logs   : $DIR/logs/"
if [[ -s "$WORK/alerts.log" ]]; then say "== alerts"; cat "$WORK/alerts.log"; fi
[[ "$NIGHT_STATE" == "success" && $OVERLAP -eq 0 ]] || exit 1
[[ $FEEDBACK -eq 0 || "$FB_STATE" == success* ]] || exit 1
[[ $COMPARE -eq 0 || "$CMP" == "equal" ]] || exit 1
