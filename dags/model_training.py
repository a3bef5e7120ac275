"""
### 低收入人口动态监测 — model training

Once a month (the 8th, 04:00 Asia/Shanghai, after the month's deliveries and nights are in), train
the two learned models on the warehouse and write their artifacts and model cards to
`<model_dir>/<model>/` (setting `model_dir`, default `<work>/models`):

```
train_eligibility -> train_triage
```

- `train_eligibility`: the eligibility estimate (ELIG path (b) gate), learned from the assessed
  economic checks (`mca_econ_checks`, `income_basis = assessed`) with the household's features of
  the month before each check.
- `train_triage`: the probability that a department confirms a case, learned from the departments'
  answers. Skipped (not failed) until enough answered cases exist (`models/triage/model.toml`).
- Both only read the warehouse; they run in the one-slot pool `lowincome_warehouse` (DuckDB lets no
  reader in while a writer works) and hold the writer lock. The next night uses the new artifacts;
  a card's fairness warnings are also in the task log.

Settings as for `nightly_monitoring`. Manual runs: `as_of` (only names the run). The CLI does the
same: `lowincome model train [--model eligibility|triage]`. Runbook: docs/airflow.md.
The task code lives in `pipelines/airflow_tasks.py` and `pipelines/learning/`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, task

from pipelines import airflow_tasks as lt

WRITER = {"pool": lt.POOL, "pool_slots": 1, "queue": lt.WRITER_QUEUE}


@dag(
    dag_id="model_training",
    schedule=CronTriggerTimetable("0 4 8 * *", timezone=lt.TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=lt.TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(hours=2),
    default_args=lt.default_args(retries=1),
    tags=[*lt.TAGS, "models"],
    doc_md=__doc__,
    params={
        "as_of": Param(None, type=["null", "string"], format="date", title="as_of",
                       description="The date the run stands for (YYYY-MM-DD). Empty: the run's date in Asia/Shanghai."),
    },
)
def model_training():
    @task(**WRITER)
    def train_eligibility(**context) -> dict:
        """Train the eligibility model on the assessed economic checks; write its artifact, metadata,
        card and calibration plot (warehouse read under the writer lock)."""
        return lt.train_model("eligibility", lt.run_params(context), context)

    @task(trigger_rule="all_done", **WRITER)
    def train_triage(**context) -> dict:
        """Train the triage model on the departments' answers (skipped while too few are answered);
        write its artifact, metadata, card and calibration plot."""
        return lt.train_model("triage", lt.run_params(context), context)

    train_eligibility() >> train_triage()


model_training()
