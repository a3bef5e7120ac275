"""
### 低收入人口动态监测 — department feedback intake

Every three hours from 08:00 to 20:00 Asia/Shanghai, pick up the answers town and county offices return
in `feedback/<DEPT>/<office_code>/<YYYY-MM-DD>/feedback*.csv` (each office its own folder) and apply
them to the cases, so a caseworker sees
"verified" the same day instead of after the next night.

```
find_feedback -> apply_feedback
```

- `find_feedback` only lists the files visible on the run's date (no database access);
  `apply_feedback` is skipped when there are none.
- `apply_feedback` writes the warehouse: it runs in the one-slot pool `lowincome_warehouse` and
  holds the warehouse file lock, so it never overlaps the nightly run's writers. Each file is
  applied once (by content hash); a bad line is rejected with a report, the rest still apply.
- The nightly run applies feedback too; whichever comes first applies a file, the other skips it.

Settings as for `nightly_monitoring` (Variable `lowincome_settings`, key `feedback`, or
`LOWINCOME_FEEDBACK`). Runbook: docs/airflow.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, task

from pipelines import airflow_tasks as lt


@dag(
    dag_id="department_feedback",
    schedule=CronTriggerTimetable("0 8-20/3 * * *", timezone=lt.TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=lt.TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(hours=2),
    default_args=lt.default_args(),
    tags=[*lt.TAGS, "feedback"],
    doc_md=__doc__,
    params={
        "as_of": Param(None, type=["null", "string"], format="date", title="as_of",
                       description="Apply feedback visible on this date (YYYY-MM-DD). Empty: the run's date in Asia/Shanghai."),
    },
)
def department_feedback():
    @task
    def find_feedback() -> dict:
        """List the feedback files visible on the run's date (file listing only)."""
        return lt.find_feedback(lt.run_params())

    @task(pool=lt.POOL, pool_slots=1, queue=lt.WRITER_QUEUE)
    def apply_feedback(found: dict, **context) -> dict:
        """Apply the feedback files not applied before to `mart.cases` / `mart.case_events`
        (warehouse writer: one-slot pool + file lock). Skipped when there are no files."""
        return lt.apply_feedback_files(found, lt.run_params(context), context)

    apply_feedback(find_feedback())


department_feedback()
