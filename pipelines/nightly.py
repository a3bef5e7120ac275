"""One night of the pipeline, as a table of stages the CLI, the Airflow DAGs and the tests all run.

Order of a night: ingest (discover -> prepare -> publish) -> core facts -> eligibility estimate (the
learned model, when one is trained) -> indicators (warnings) -> cases -> feedback -> triage (each open
case's priority) -> extracts -> data-quality notices -> analyst database -> monthly statistics
-> report. Every stage is idempotent: re-running
a night (or resuming one killed half-way) converges on the same warehouse and sends nothing twice.

:data:`STAGES` says, per stage, what it runs and whether it writes the warehouse. A writing stage
runs under the warehouse writer lock on a read-write connection; a reading stage opens the
warehouse read-only and takes no lock. :func:`run_stage` runs one stage by name (an Airflow task,
``lowincome report``); :func:`run_night` runs them all in order under one lock and one connection.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from pipelines.config import Settings


# --- the night's context ------------------------------------------------------------------------

@dataclass
class Night:
    """What a stage works with: the settings, the night, an open warehouse connection, the rules."""

    settings: Settings
    as_of: dt.date
    con: object = None  # duckdb.DuckDBPyConnection; None for the ingest, which manages its own
    _rules: object = None

    @property
    def rules(self):
        """The indicator and department rules in force (models/ + ``settings.indicator_config``)."""
        if self._rules is None:
            from pipelines.rules import load_rules

            self._rules = load_rules(self.settings.indicator_config)
        return self._rules


@contextlib.contextmanager
def open_warehouse(settings: Settings, read_only: bool = False) -> Iterator:
    """A warehouse connection for a stage. Read-write: the schema is brought up to date first
    (:func:`pipelines.warehouse.migrate`). Read-only: the warehouse must exist."""
    from pipelines.config import ConfigError
    from pipelines.warehouse import connect, migrate

    if read_only and not Path(settings.warehouse).exists():
        raise ConfigError(f"warehouse {settings.warehouse} does not exist: run a night first (lowincome run)")
    con = connect(settings, read_only=read_only)
    try:
        if not read_only:
            migrate(con)
        yield con
    finally:
        con.close()


# --- stages ---------------------------------------------------------------------------------------

def _ingest(night: Night):
    from pipelines import ingest

    return ingest.ingest(night.settings, as_of=night.as_of)


def _core(night: Night):
    from pipelines import core

    return core.build_core(night.con)


def _eligibility(night: Night):
    from pipelines.learning import eligibility
    from pipelines.learning.spec import model_folder

    return eligibility.score(night.con, model_folder(night.settings, eligibility.NAME),
                             signal_months=night.rules.model_gate_signal_months())


def _indicators(night: Night):
    from pipelines import indicators
    from pipelines.dates import night_time

    return indicators.compute_indicators(night.con, night.rules, raised_at=night_time(night.as_of))


def _cases(night: Night):
    from pipelines import cases

    return cases.update_cases(night.con, night.as_of, night.rules)


def _feedback(night: Night):
    from pipelines import feedback
    from pipelines.analyst.keys import known_secrets

    folder = night.settings.feedback
    if folder is None or not Path(folder).exists():
        return {"files": 0, "note": "no feedback folder given"}
    return feedback.apply_feedback(night.con, Path(folder), night.as_of, work_dir=night.settings.work,
                                   rules=night.rules, limits=feedback.FeedbackLimits.of(night.settings),
                                   secrets=known_secrets(night.settings))


def _triage(night: Night):
    from pipelines.learning import triage
    from pipelines.learning.spec import model_folder

    return triage.prioritise(night.con, model_folder(night.settings, triage.NAME), night.as_of)


def _extracts(night: Night) -> list[Path]:
    from pipelines import dispatch

    return dispatch.write_extracts(night.con, Path(night.settings.outbox), night.as_of, night.rules)


def _notices(night: Night) -> list[Path]:
    from pipelines import notices
    from pipelines.analyst.keys import ENCRYPTION_ENV, HMAC_ENV
    from pipelines.config import ConfigError, read_secret

    withhold = []  # the configured keys: a notice never shows them, whatever a delivery held
    for env, file in ((HMAC_ENV, night.settings.hmac_key_file), (ENCRYPTION_ENV, night.settings.encryption_key_file)):
        try:
            secret = read_secret(env, file)
        except ConfigError:
            secret = None
        if secret:
            withhold.append(secret.decode("utf-8", "replace"))
    return notices.write_notices(night.con, Path(night.settings.outbox), night.as_of, night.rules, tuple(withhold))


def _statistics(night: Night) -> Path | None:
    from pipelines import statistics

    return statistics.write_monthly_report(night.con, Path(night.settings.outbox), night.as_of, night.rules)


def _analyst(night: Night) -> Path:
    from pipelines import analyst

    night.con.execute("checkpoint")
    return analyst.build_analyst_db(night.settings, con=night.con, as_of=night.as_of)


def _report(night: Night) -> Path:
    from pipelines import report

    docs = night.settings.work / "data_docs" / night.as_of.isoformat()
    return report.write_report(night.con, Path(night.settings.outbox), night.as_of,
                               data_docs_dir=docs if docs.exists() else None, rules=night.rules)


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Night], object]
    writes: bool          # writes the warehouse: runs under the writer lock on a read-write connection
    connection: bool = True  # False: the stage opens what it needs itself (the ingest)
    doc: str = ""


STAGES: tuple[Stage, ...] = (
    Stage("ingest", _ingest, writes=True, connection=False,
          doc="discover, verify, validate (GX) and load the new deliveries"),
    Stage("core", _core, writes=True, doc="build the core facts of every month whose deliveries changed"),
    Stage("eligibility", _eligibility, writes=True,
          doc="score the eligibility model (when trained) for the months not scored yet: core.eligibility_month"),
    Stage("indicators", _indicators, writes=True,
          doc="compute the warnings of every month whose inputs are complete"),
    Stage("cases", _cases, writes=True, doc="open, link and re-alert cases from the night's warnings"),
    Stage("feedback", _feedback, writes=True, doc="apply the departments' feedback files"),
    Stage("triage", _triage, writes=True,
          doc="give every open case a priority (triage model when trained, else severity): mart.case_priority"),
    Stage("extracts", _extracts, writes=True, doc="escalate overdue cases; write each office's extract"),
    Stage("notices", _notices, writes=False,
          doc="write a data-quality notice (核查通报) for each delivery the night rejected or loaded with warnings"),
    Stage("analyst", _analyst, writes=True,
          doc="refresh the pseudonymised analyst database (reads the warehouse; checkpoints it first)"),
    Stage("statistics", _statistics, writes=False,
          doc="write the province's 月报 of the latest complete data month beside the report (reads the warehouse)"),
    Stage("report", _report, writes=False, doc="write the nightly HTML report (reads the warehouse)"),
)
STAGE: dict[str, Stage] = {s.name: s for s in STAGES}


def run_stage(settings: Settings, name: str, as_of: dt.date, *, owner: str | None = None):
    """Run one stage on its own: a writing stage under the writer lock on a read-write connection,
    a reading stage on a read-only connection without the lock."""
    from pipelines.warehouse import writer_lock

    try:
        stage = STAGE[name]
    except KeyError:
        raise KeyError(f"unknown stage {name!r}; stages: {', '.join(STAGE)}") from None
    lock = writer_lock(settings, owner=owner or f"lowincome {name} --as-of {as_of}") if stage.writes \
        else contextlib.nullcontext()
    with lock:
        if not stage.connection:
            return stage.run(Night(settings, as_of))
        with open_warehouse(settings, read_only=not stage.writes) as con:
            return stage.run(Night(settings, as_of, con))


# --- the whole night -------------------------------------------------------------------------------

@dataclass
class NightSummary:
    as_of: dt.date
    stages: dict[str, dict] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    extracts: list[Path] = field(default_factory=list)
    notices: list[Path] = field(default_factory=list)
    monthly_report: Path | None = None
    report: Path | None = None
    analyst_db: Path | None = None

    @property
    def nothing_new(self) -> bool:
        ingest = self.stages.get("ingest") or {}
        return not any(ingest.get(k) for k in ("loaded", "rejected", "superseded", "waiting", "held"))

    def render(self) -> str:
        lines = [f"lowincome night {self.as_of.isoformat()}"]
        if "ingest" in self.stages and self.nothing_new:
            lines.append("  no new deliveries in the landing zone tonight")
        for stage in STAGE:
            if stage in self.stages or stage in self.timings:
                info = self.stages.get(stage, {})
                detail = ", ".join(f"{k}={v}" for k, v in info.items() if not isinstance(v, (list, dict)))
                lines.append(f"  {stage:<11} {self.timings.get(stage, 0):7.1f}s  {detail}")
        held = [d for d in (self.stages.get("ingest") or {}).get("deliveries") or [] if d.get("status") == "held"]
        if held:
            lines.append("  HELD for a person's release (nothing loaded; the previous data kept):")
            lines.extend(f"    - {d['delivery_id']}: {d.get('first_error')}\n"
                         f"      after checking it: lowincome release {d['delivery_id']}" for d in held)
        unread = (self.stages.get("ingest") or {}).get("unread") or []
        unread += (self.stages.get("feedback") or {}).get("unread") or []
        if unread:
            lines.append("  unknown folders, not read (ops.unread_entries):")
            lines.extend(f"    - {u}" for u in unread[:20])
        waits = self.stages.get("indicators", {}).get("waiting") or []
        if waits:
            lines.append("  waiting for data (no verdict until it arrives):")
            lines.extend(f"    - {w}" for w in waits[:20])
            if len(waits) > 20:
                lines.append(f"    … and {len(waits) - 20} more")
        lines.append(f"  extracts: {len(self.extracts)} office folder(s) under the outbox")
        if self.notices:
            lines.append(f"  data-quality notices: {len(self.notices) // 2} deliveries")
        if self.monthly_report:
            lines.append(f"  monthly statistics: {self.monthly_report}")
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

        return dict(asdict(obj))
    return {"result": str(obj)}


def preflight(settings: Settings, skip: tuple[str, ...] = ()) -> None:
    """Configuration a night needs, checked before it starts: a clear error now rather than a
    half-done night. The landing zone must exist, the rules (and their override file) must load, the
    analyst stage needs a pseudonymisation key."""
    from pipelines.config import ConfigError
    from pipelines.rules import load_rules

    load_rules(settings.indicator_config)

    if "ingest" not in skip and not Path(settings.landing).is_dir():
        raise ConfigError(f"landing zone {settings.landing} does not exist or is not a folder "
                          "(set --landing or LOWINCOME_LANDING)")
    if "analyst" not in skip:
        from pipelines.analyst import resolve_hmac_key

        resolve_hmac_key(settings)


def run_night(settings: Settings, as_of: dt.date, skip: tuple[str, ...] = ()) -> NightSummary:
    """One night, end to end, holding the warehouse writer lock throughout."""
    from pipelines.warehouse import writer_lock

    preflight(settings, skip)
    summary = NightSummary(as_of=as_of)
    with writer_lock(settings, owner=f"lowincome run --as-of {as_of}"):
        night = Night(settings, as_of)
        for stage in STAGES:
            if stage.connection:
                break
            if stage.name not in skip:
                t = time.perf_counter()
                summary.stages[stage.name] = _as_dict(stage.run(night))
                summary.timings[stage.name] = time.perf_counter() - t
        with open_warehouse(settings) as con:
            night.con = con
            for stage in STAGES:
                if not stage.connection or stage.name in skip:
                    continue
                t = time.perf_counter()
                result = stage.run(night)
                summary.timings[stage.name] = time.perf_counter() - t
                if stage.name == "extracts":
                    summary.extracts = result
                    summary.stages[stage.name] = {"folders": len(result)}
                elif stage.name == "notices":
                    summary.notices = result
                    summary.stages[stage.name] = {"files": len(result)}
                elif stage.name == "statistics":
                    summary.monthly_report = result
                    summary.stages[stage.name] = {"month": result.stem.split("_")[-1] if result else None}
                elif stage.name == "analyst":
                    summary.analyst_db = result
                elif stage.name == "report":
                    summary.report = result
                else:
                    summary.stages[stage.name] = _as_dict(result)
            _record_run(con, summary)
    return summary


def _record_run(con, summary: NightSummary) -> None:
    """Keep one row per night in ops.runs (wall-clock ops data, outside the warnings' data time)."""
    con.execute("insert into ops.runs values (?, now(), ?, ?)",
                [summary.as_of, json.dumps(summary.timings), json.dumps(summary.stages, default=str)])
