"""One night of the pipeline, as functions the CLI, the Airflow DAGs and the tests all call.

Order of a night: ingest (discover -> prepare -> publish) -> core facts -> indicators -> cases
-> feedback -> extracts -> analyst database -> report. Every stage is idempotent: re-running a
night (or resuming one killed half-way) converges on the same warehouse and sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.config import Settings

STAGES = ("ingest", "indicators", "cases", "feedback", "extracts", "analyst", "report")


def logical_time(as_of: dt.date) -> dt.datetime:
    """The night's logical timestamp (02:00 Asia/Shanghai of ``as_of``), used instead of wall clock
    for everything written into the warehouse, so re-runs produce identical rows."""
    return dt.datetime.combine(as_of, dt.time(2, 0), tzinfo=dt.timezone(dt.timedelta(hours=8)))


@dataclass
class NightSummary:
    as_of: dt.date
    stages: dict[str, dict] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    extracts: list[Path] = field(default_factory=list)
    report: Path | None = None
    analyst_db: Path | None = None

    def render(self) -> str:
        lines = [f"lowincome night {self.as_of.isoformat()}"]
        for stage in STAGES:
            if stage in self.stages or stage in self.timings:
                info = self.stages.get(stage, {})
                detail = ", ".join(f"{k}={v}" for k, v in info.items() if not isinstance(v, (list, dict)))
                lines.append(f"  {stage:<11} {self.timings.get(stage, 0):7.1f}s  {detail}")
        waits = self.stages.get("indicators", {}).get("waiting") or []
        if waits:
            lines.append("  waiting for data (no verdict until it arrives):")
            lines.extend(f"    - {w}" for w in waits[:20])
            if len(waits) > 20:
                lines.append(f"    … and {len(waits) - 20} more")
        lines.append(f"  extracts: {len(self.extracts)} office folder(s) under the outbox")
        if self.analyst_db:
            lines.append(f"  analyst database: {self.analyst_db}")
        if self.report:
            lines.append(f"  report: {self.report}")
        return "\n".join(lines)


def _as_dict(obj) -> dict:
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return {k: v for k, v in asdict(obj).items()}
    return {"result": str(obj)}


# --- stages -----------------------------------------------------------------------------------

def discover(settings: Settings, as_of: dt.date, feeds: list[str] | None = None, include_waiting: bool = False):
    """New or changed delivery folders visible on ``as_of``. ``include_waiting`` also returns folders
    still without a manifest that the ledger has not seen (``run_ingest`` records those as waiting;
    the DAG passes it so both runners record the same ledger)."""
    from pipelines import ingest

    return ingest.discover(settings, as_of=as_of, feeds=feeds, include_waiting=include_waiting)


def prepare_feed(settings: Settings, feed_id: str, as_of: dt.date):
    """Parse and validate a feed's new deliveries into staged Parquet. No warehouse writes:
    several of these may run at once (one Airflow mapped task per feed)."""
    from pipelines import ingest

    return ingest.prepare_feed(settings, feed_id, as_of=as_of)


def publish(settings: Settings, prepared) -> object:
    """Load prepared deliveries into the warehouse: the single writer."""
    from pipelines import ingest

    return ingest.publish(settings, prepared)


def run_ingest(settings: Settings, as_of: dt.date, feeds: list[str] | None = None):
    from pipelines import ingest

    return ingest.ingest(settings, as_of=as_of, feeds=feeds)


def compute_indicators(settings: Settings, as_of: dt.date, con=None):
    from pipelines import core, indicators, rules
    from pipelines.warehouse import connect

    own = con is None
    con = con or connect(settings)
    try:
        ruleset = rules.load_rules(settings.indicator_config)
        core.build_core(con)
        return indicators.compute_indicators(con, ruleset, raised_at=logical_time(as_of))
    finally:
        if own:
            con.close()


def update_cases(settings: Settings, as_of: dt.date, con=None):
    from pipelines import cases
    from pipelines.warehouse import connect

    own = con is None
    con = con or connect(settings)
    try:
        return cases.update_cases(con, as_of)
    finally:
        if own:
            con.close()


def apply_feedback(settings: Settings, as_of: dt.date, con=None):
    from pipelines import feedback
    from pipelines.warehouse import connect

    if settings.feedback is None or not Path(settings.feedback).exists():
        return {"files": 0, "note": "no feedback folder given"}
    own = con is None
    con = con or connect(settings)
    try:
        return feedback.apply_feedback(con, Path(settings.feedback), as_of, work_dir=settings.work)
    finally:
        if own:
            con.close()


def write_extracts(settings: Settings, as_of: dt.date, con=None) -> list[Path]:
    from pipelines import dispatch
    from pipelines.warehouse import connect

    own = con is None
    con = con or connect(settings)
    try:
        return dispatch.write_extracts(con, Path(settings.outbox), as_of)
    finally:
        if own:
            con.close()


def build_analyst_db(settings: Settings, con=None) -> Path:
    from pipelines import analyst

    return analyst.build_analyst_db(settings, con=con)


def write_report(settings: Settings, as_of: dt.date, con=None) -> Path:
    from pipelines import report
    from pipelines.warehouse import connect

    own = con is None
    con = con or connect(settings, read_only=False)
    try:
        docs = settings.work / "data_docs" / as_of.isoformat()
        return report.write_report(con, Path(settings.outbox), as_of, data_docs_dir=docs if docs.exists() else None)
    finally:
        if own:
            con.close()


def run_night(settings: Settings, as_of: dt.date, skip: tuple[str, ...] = ()) -> NightSummary:
    """One night, end to end, holding the warehouse writer lock throughout."""
    from pipelines.warehouse import connect, writer_lock

    summary = NightSummary(as_of=as_of)
    with writer_lock(settings, owner=f"lowincome run --as-of {as_of}"):
        t = time.perf_counter()
        if "ingest" not in skip:
            summary.stages["ingest"] = _as_dict(run_ingest(settings, as_of))
        summary.timings["ingest"] = time.perf_counter() - t
        con = connect(settings)
        try:
            for stage, fn in (
                ("indicators", lambda: compute_indicators(settings, as_of, con=con)),
                ("cases", lambda: update_cases(settings, as_of, con=con)),
                ("feedback", lambda: apply_feedback(settings, as_of, con=con)),
            ):
                if stage in skip:
                    continue
                t = time.perf_counter()
                summary.stages[stage] = _as_dict(fn())
                summary.timings[stage] = time.perf_counter() - t
            if "extracts" not in skip:
                t = time.perf_counter()
                summary.extracts = write_extracts(settings, as_of, con=con)
                summary.stages["extracts"] = {"folders": len(summary.extracts)}
                summary.timings["extracts"] = time.perf_counter() - t
            if "analyst" not in skip:
                t = time.perf_counter()
                con.execute("checkpoint")
                summary.analyst_db = build_analyst_db(settings, con=con)
                summary.timings["analyst"] = time.perf_counter() - t
            if "report" not in skip:
                t = time.perf_counter()
                summary.report = write_report(settings, as_of, con=con)
                summary.timings["report"] = time.perf_counter() - t
            _record_run(con, summary)
        finally:
            con.close()
    return summary


def _record_run(con, summary: NightSummary) -> None:
    """Keep one row per night in ops.runs (wall-clock ops data, outside the warnings' data time)."""
    con.execute(
        """create table if not exists ops.runs (
               as_of date, finished_at timestamptz, timings json, summary json)"""
    )
    con.execute("comment on table ops.runs is 'One row per completed nightly run: stage timings and counts (operational data, wall clock).'")
    con.execute(
        "insert into ops.runs values (?, now(), ?, ?)",
        [summary.as_of, json.dumps(summary.timings), json.dumps(summary.stages, default=str)],
    )
