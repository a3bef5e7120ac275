"""
### 低收入人口动态监测 — nightly monitoring

Every night at 02:00 Asia/Shanghai: take in the departments' new deliveries, validate them,
load them into the DuckDB warehouse, build the core facts, score the eligibility model, compute the
warning indicators, open and update cases, apply department feedback, rank the open cases
(triage), write the department extracts and the data-quality notices, refresh the analyst
database, write the province's monthly statistics (月报) and the nightly report.

```
discover_reference -> validate_reference_feed[*] -> load_reference
  -> discover -> validate_feed[*] -> load -> core -> eligibility -> indicators -> cases
  -> apply_feedback -> triage -> extracts -> notices -> analyst_db -> statistics -> report
                                                                     (load -> data_docs -> report)
```

- Reference feeds (regions, standards) are validated and loaded first: the other feeds' region
  codes are checked against the region list in force.
- `validate_*` are mapped, one task per feed with new deliveries; they never write the warehouse
  and run in parallel. A bad delivery is *rejected* (ledger + report), it does not fail the task.
- Every task that writes the warehouse runs in the one-slot pool `lowincome_warehouse` and holds
  the warehouse file lock: one writer at a time, across DAGs and the CLI.
- The night's date `as_of` is the logical date in Asia/Shanghai; warnings carry 02:00 of it
  (data time), so re-running a night changes nothing.
- `eligibility` and `triage` use the models the monthly `model_training` DAG trains; without a
  trained model they change nothing (no gate on ELIG path (b); extracts ordered by severity).

**Manual runs** (Trigger with config): `as_of` (YYYY-MM-DD; empty = the logical date),
`feed` (one feed id; empty = all), `dry_run` (validate only: nothing is loaded or computed).

Settings: Airflow Variable `lowincome_settings` (JSON, e.g. `{"landing": "/data/landing",
"warehouse": "/data/wh/warehouse.duckdb", "outbox": "/data/outbox", "feedback": "/data/feedback"}`),
else `LOWINCOME_*` environment variables. Failures: `<work>/alerts.log`. Runbook: docs/airflow.md.
The task code lives in `pipelines/airflow_tasks.py` and `pipelines/nightly.py`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, CronTriggerTimetable, Param, chain, dag, task

from pipelines import airflow_tasks as lt

STAGING_ASSETS = {f: Asset(lt.staging_asset_uri(f), group="lowincome_staging") for f in lt.FEED_IDS}
WARNINGS_ASSET = Asset(lt.WARNINGS_ASSET_URI, group="lowincome_mart")
WRITER = {"pool": lt.POOL, "pool_slots": 1, "queue": lt.WRITER_QUEUE}
# Mapped tasks do not take their docstring as doc_md, so the validate task's docs are given here.
VALIDATE_DOC = """One feed's new deliveries (one mapped task per feed): manifest checksums, parse, type,
Great Expectations suite -> staged Parquet under `<work>/staged/<delivery_id>/`. Read-only on the
warehouse, so the feeds run in parallel. A bad delivery is rejected with a report, not a failure.
Returns small handoff dicts (paths), never data."""


@dag(
    dag_id="nightly_monitoring",
    schedule=CronTriggerTimetable("0 2 * * *", timezone=lt.TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=lt.TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(hours=8),
    default_args=lt.default_args(),
    tags=[*lt.TAGS, "nightly"],
    doc_md=__doc__,
    params={
        "as_of": Param(None, type=["null", "string"], format="date", title="as_of",
                       description="The night to run (YYYY-MM-DD). Empty: the run's logical date in Asia/Shanghai."),
        "feed": Param(None, type=["null", "string"], enum=[None, "", *lt.FEED_IDS], title="feed",
                      description="Only this feed's deliveries. Empty: all feeds."),
        "dry_run": Param(False, type="boolean", title="dry_run",
                         description="Validate only: no load, no indicators, no extracts."),
    },
)
def nightly_monitoring():
    @task
    def discover_reference() -> list[str]:
        """Reference feeds (regions, standards) with new or changed delivery folders dated on or
        before `as_of`. Read-only."""
        return lt.discover(lt.run_params(), phase="reference")

    @task(trigger_rule="none_failed")
    def discover() -> list[str]:
        """Department feeds with new or changed delivery folders dated on or before `as_of`
        (after the reference feeds are in). Read-only."""
        return lt.discover(lt.run_params(), phase="data")

    @task(trigger_rule="none_failed", map_index_template="{{ task.op_kwargs['feed_id'] }}", doc_md=VALIDATE_DOC)
    def validate_feed(feed_id: str) -> list[dict]:
        return lt.validate_feed(feed_id, lt.run_params())

    @task(trigger_rule="none_failed", **WRITER)
    def load(validated: list, **context) -> dict:
        """Publish the validated deliveries: per delivery, in one transaction, replace the feed's
        partition in `raw.*`/`staging.*` and update `ops.deliveries`. The single writer. Skipped
        on a dry run. Emits one Asset event per feed's staging table."""
        return lt.load(validated, lt.run_params(context), context)

    @task(trigger_rule="none_failed")
    def data_docs() -> str | None:
        """Render the night's Great Expectations Data Docs (static HTML under `<work>/data_docs/`).
        Best effort: never fails the night."""
        return lt.data_docs(lt.run_params())

    @task(**WRITER)
    def core(**context) -> dict:
        """Build `core.*` for every data month whose deliveries changed."""
        return lt.stage("core", lt.run_params(context), context)

    @task(**WRITER)
    def eligibility(**context) -> dict:
        """Score the eligibility model into `core.eligibility_month` for the months not scored yet
        (nothing without a trained model): the gate of ELIG path (b)."""
        return lt.stage("eligibility", lt.run_params(context), context)

    @task(outlets=[WARNINGS_ASSET], **WRITER)
    def indicators(**context) -> dict:
        """Compute `mart.warnings` for every data month whose inputs are complete; months still
        waiting for a feed get no verdict yet."""
        return lt.stage("indicators", lt.run_params(context), context)

    @task(**WRITER)
    def cases(**context) -> dict:
        """Open, merge and escalate cases (`mart.cases`, `mart.case_events`) from the warnings."""
        return lt.stage("cases", lt.run_params(context), context)

    @task(**WRITER)
    def apply_feedback(**context) -> dict:
        """Apply department feedback files visible on `as_of` that were not applied yet (each file
        once, by content hash). The daytime `department_feedback` DAG does the same."""
        return lt.stage("feedback", lt.run_params(context), context)

    @task(**WRITER)
    def triage(**context) -> dict:
        """Give every open case a priority (高/中/低) in `mart.case_priority`: the triage model's when
        one is trained, else by severity. The extracts sort by it."""
        return lt.stage("triage", lt.run_params(context), context)

    @task(**WRITER)
    def extracts(**context) -> dict:
        """Write each department office's extracts (XLSX + CSV + feedback template + manifest)
        into the outbox for the cases not sent yet: `<outbox>/<DEPT>/<office>/<as_of>/`, the office
        a 9-digit town (civil affairs, except its county acts) or a 6-digit county."""
        return lt.stage("extracts", lt.run_params(context), context)

    # Read-only like the report (no writer lock), in the pool for the same reason.
    @task(**WRITER)
    def notices(**context) -> dict:
        """Write a data-quality notice (核查通报: file, row, field, rule, in Chinese) into the
        department's outbox folder `<outbox>/<DEPT>/quality/<as_of>/` for each delivery the night
        rejected or loaded with warnings (reads the warehouse read-only)."""
        return lt.stage("notices", lt.run_params(context), context)

    @task(**WRITER)
    def analyst_db(**context) -> str:
        """Refresh the pseudonymised analyst database (`analyst.duckdb`, swapped atomically)."""
        return lt.stage("analyst", lt.run_params(context), context)

    @task(**WRITER)
    def statistics(**context) -> str | None:
        """Write the province's 月报 of the latest complete data month,
        `<outbox>/report/<as_of>/月报_<YYYY-MM>.xlsx` (reads the warehouse read-only)."""
        return lt.stage("statistics", lt.run_params(context), context)

    # The report only reads: it opens the warehouse read-only and takes no writer lock. It stays in
    # the pool because DuckDB lets no reader open the file while another process writes it.
    @task(**WRITER)
    def report(**context) -> str:
        """Write the nightly HTML report to `<outbox>/report/<as_of>/report.html` (reads the
        warehouse read-only)."""
        return lt.stage("report", lt.run_params(context), context)

    reference_checked = validate_feed.override(task_id="validate_reference_feed").expand(
        feed_id=discover_reference())
    reference_loaded = load.override(
        task_id="load_reference",
        outlets=[STAGING_ASSETS[f] for f in lt.REFERENCE_FEEDS],
    )(reference_checked)
    feeds = discover()
    reference_loaded >> feeds
    checked = validate_feed.expand(feed_id=feeds)
    loaded = load.override(outlets=[STAGING_ASSETS[f] for f in lt.DATA_FEEDS])(checked)
    docs = data_docs()
    last = report()

    loaded >> docs >> last
    chain(loaded, core(), eligibility(), indicators(), cases(), apply_feedback(), triage(), extracts(), notices(),
          analyst_db(), statistics(), last)


nightly_monitoring()
