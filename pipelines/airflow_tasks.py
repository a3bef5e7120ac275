"""The Airflow-facing glue: what the DAGs in ``dags/`` call, and nothing else.

The DAG files stay thin (schedule, wiring, docs). This module turns an Airflow task context into
the arguments of :mod:`pipelines.nightly` — the same functions the CLI calls — and back into small
JSON values for XCom:

- settings come from the Airflow Variable ``lowincome_settings`` (a JSON object of
  :class:`~pipelines.config.Settings` fields, e.g. ``{"landing": "/data/landing"}``), falling back to
  ``LOWINCOME_*`` environment variables and the repo defaults, exactly as :func:`load_settings`
  layers them for the CLI;
- the night's date (``as_of``) is the run's logical date in Asia/Shanghai unless the ``as_of``
  param says otherwise;
- a stage task runs :func:`pipelines.nightly.run_stage` by name (the same table of stages
  ``lowincome run`` runs in order);
- prepared deliveries travel between tasks as small dicts naming their staged folder
  (``<work>/staged/<delivery_id>/result.json``) — never as DataFrames;
- every task that writes the warehouse runs in the one-slot pool ``lowincome_warehouse`` *and*
  holds :func:`pipelines.warehouse.writer_lock`, so a CLI run or a second scheduler cannot write
  at the same time;
- a failed task appends one line to ``<work>/alerts.log`` and to the task log, naming the DAG,
  task, map index and the feed/delivery it was working on.

Import cost matters: the DAG files import this module at parse time, so only the standard
library, :mod:`pipelines.config`, :mod:`pipelines.dates` and the feed registry (standard library
only) are imported at module level. Everything heavy (DuckDB, pandas, pyarrow, Great Expectations,
:mod:`pipelines.ingest` …) is imported inside functions.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

log = logging.getLogger(__name__)

# --- constants the DAG files need at parse time ---------------------------------------------------

from pipelines.dates import TIMEZONE, local_date
from pipelines.feeds import DATA_FEEDS, FEED_IDS, REFERENCE_FEEDS

POOL = "lowincome_warehouse"
# Celery (or any queue-aware executor) sends the warehouse writers to this queue: one worker on the
# host whose local disk holds the DuckDB file listens to it. LocalExecutor ignores queues.
WRITER_QUEUE = "lowincome_warehouse"
OWNER = "lowincome-data-team"
TAGS = ["lowincome", "低收入人口动态监测"]

WARNINGS_ASSET_URI = "duckdb://lowincome/mart/warnings"
SETTINGS_VARIABLE = "lowincome_settings"
# Secrets as Airflow Variables (names containing "secret" are masked in logs and the UI) or from a
# secrets backend; exported to the task process's environment under the names pipelines reads.
SECRET_VARIABLES = {"lowincome_hmac_secret": "LOWINCOME_HMAC_KEY",
                    "lowincome_encryption_secret": "LOWINCOME_ENCRYPTION_KEY"}
ALERTS_LOG = "alerts.log"


def default_args(retries: int = 3) -> dict:
    """Task defaults shared by the DAGs: owner, retries with exponential back-off (2, 4, 8 … min,
    at most 30), and the failure alert."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": dt.timedelta(minutes=2),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(minutes=30),
        "on_failure_callback": alert_on_failure,
    }


def staging_asset_uri(feed_id: str) -> str:
    return f"duckdb://lowincome/staging/{feed_id}"


# --- settings and run parameters ------------------------------------------------------------------

def _variable(key: str) -> Any:
    """An Airflow Variable, or ``None`` when it is not set or there is no Airflow context
    (a unit test, the CLI)."""
    try:
        from airflow.sdk import Variable

        return Variable.get(key, default=None)
    except Exception:  # no supervisor / API server: behave like "not set"
        return None


def airflow_settings():
    """:class:`Settings` for a task: Variable ``lowincome_settings`` over ``LOWINCOME_*`` env over
    the TOML file (``config`` key of the Variable or ``LOWINCOME_CONFIG``) over repo defaults."""
    from pipelines.config import load_settings

    raw = _variable(SETTINGS_VARIABLE)
    overrides: dict = {}
    if raw:
        overrides = raw if isinstance(raw, dict) else json.loads(raw)
        if not isinstance(overrides, dict):
            raise ValueError(f"Airflow Variable {SETTINGS_VARIABLE} must be a JSON object of settings, got {raw!r}")
        overrides = dict(overrides)
    for var, env in SECRET_VARIABLES.items():
        if env in os.environ:
            continue
        secret = _variable(var)
        if secret:
            _mask(secret)
            # Only this task's process sees it; pipelines read it through config.read_secret().
            os.environ[env] = str(secret)
    config = overrides.pop("config", None)
    return load_settings(config_file=Path(config) if config else None, **overrides)


def _mask(value: str) -> None:
    try:
        from airflow.sdk.log import mask_secret

        mask_secret(value)
    except Exception:
        pass


@dataclass(frozen=True)
class RunParams:
    """What a run is about: the night, which feeds, and whether to stop after validation."""

    as_of: dt.date
    feeds: list[str] | None = None
    dry_run: bool = False

    def as_dict(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "feeds": self.feeds, "dry_run": self.dry_run}


def night_of(when: dt.datetime) -> dt.date:
    """The night a run time belongs to: its calendar date in Asia/Shanghai."""
    return local_date(when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc))


def run_params(context: dict | None = None) -> RunParams:
    """Resolve the params of the current run (``as_of``, ``feed``, ``dry_run``)."""
    if context is None:
        from airflow.sdk import get_current_context

        context = get_current_context()
    params = context.get("params") or {}
    raw = params.get("as_of")
    if raw:
        try:
            as_of = dt.date.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValueError(f"param as_of={raw!r} is not a date YYYY-MM-DD") from None
    else:
        when = context.get("logical_date")
        if when is None:  # manual/API runs may have no logical date in Airflow 3
            when = context["dag_run"].run_after
        as_of = night_of(when)
    feed = (params.get("feed") or "").strip() or None
    if feed is not None and feed not in FEED_IDS:
        raise ValueError(f"param feed={feed!r} is not a feed; known: {', '.join(FEED_IDS)}")
    return RunParams(as_of=as_of, feeds=[feed] if feed else None, dry_run=bool(params.get("dry_run", False)))


# --- what the current task is working on (read by the failure callback) ----------------------------

_SUBJECT: dict[str, Any] = {}


def _working_on(**subject) -> None:
    _SUBJECT.clear()
    _SUBJECT.update({k: v for k, v in subject.items() if v})


def _owner(context: dict | None) -> str:
    if not context:
        return "airflow task"
    ti = context.get("ti")
    return f"airflow {getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')} run {getattr(ti, 'run_id', '?')}"


def _writer(settings, context: dict | None):
    """The warehouse writer lock, held for a whole writing task (the pool gives the slot; the lock
    also keeps out writers Airflow does not schedule, such as a manual ``lowincome run``)."""
    from pipelines.warehouse import writer_lock

    return writer_lock(settings, owner=_owner(context))


def _skip(message: str):
    from airflow.sdk.exceptions import AirflowSkipException

    raise AirflowSkipException(message)


def jsonable(obj: Any, max_items: int = 50) -> Any:
    """A stage summary as a small JSON value for XCom (dataclass/as_dict -> dict; long lists cut)."""
    if obj is None:
        return None
    if hasattr(obj, "as_dict"):
        obj = obj.as_dict()
    elif hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        obj = asdict(obj)

    def cut(v):
        if isinstance(v, dict):
            return {str(k): cut(x) for k, x in v.items()}
        if isinstance(v, (list, tuple, set)):
            v = list(v)
            out = [cut(x) for x in v[:max_items]]
            if len(v) > max_items:
                out.append(f"… {len(v) - max_items} more")
            return out
        return v

    return json.loads(json.dumps(cut(obj), ensure_ascii=False, default=str))


# --- nightly_monitoring tasks ----------------------------------------------------------------------

def discover(run: RunParams, phase: str = "data", settings=None) -> list[str]:
    """Feeds with new or changed delivery folders (or folders still waiting for a manifest that the
    ledger has not seen) on ``run.as_of``: the reference feeds for ``phase="reference"`` (validated
    and loaded first: the other feeds' region codes are checked against them), the rest for
    ``phase="data"``. Returned as a plain list of feed ids, the input of a mapped task."""
    from pipelines import ingest

    if phase not in ("reference", "data"):
        raise ValueError(f"phase must be 'reference' or 'data', not {phase!r}")
    candidates = REFERENCE_FEEDS if phase == "reference" else DATA_FEEDS
    feeds = [f for f in candidates if run.feeds is None or f in run.feeds]
    settings = settings or airflow_settings()
    _working_on(feed=",".join(feeds) or "none", landing=str(settings.landing))
    if not feeds:
        return []
    refs = ingest.discover(settings, as_of=run.as_of, feeds=feeds, include_waiting=True)
    found = {r.feed_id for r in refs}
    log.info("night %s, %s feeds: %d new delivery folder(s) in %s%s", run.as_of, phase, len(refs), settings.landing,
             "".join(f"\n  {r.delivery_id} ({'ready' if r.ready else 'waiting for manifest'})" for r in refs))
    return [f for f in feeds if f in found]


def handoff(prepared) -> dict:
    """A prepared delivery as a small XCom value: its staged folder (``result.json`` there holds the
    rest), or — for a folder still waiting for its manifest — the tiny record itself."""
    d = {"delivery_id": prepared.delivery_id, "feed_id": prepared.feed_id, "status": prepared.status,
         "rows": prepared.rows, "errors": len(prepared.errors), "warnings": len(prepared.warnings),
         "first_error": (prepared.errors[0].get("message") or "")[:300] if prepared.errors else None}
    staged = Path(prepared.staged_dir) if prepared.staged_dir else None
    if staged is not None and (staged / "result.json").is_file():
        d["staged_dir"] = str(staged)
    else:
        d["prepared"] = jsonable(prepared.to_dict(), max_items=10_000)
    return d


def validate_feed(feed_id: str, run: RunParams, settings=None) -> list[dict]:
    """Parse, type and GX-validate one feed's new deliveries into staged Parquet. Reads the
    warehouse read-only (ledger, reference lookups) and never writes it: runs in parallel."""
    from pipelines import ingest

    settings = settings or airflow_settings()
    _working_on(feed=feed_id)
    prepared = ingest.prepare_feed(settings, feed_id, as_of=run.as_of)
    out = []
    for p in prepared:
        _working_on(feed=feed_id, delivery=p.delivery_id)
        h = handoff(p)
        log.info("%s: %s, %s rows, %s error(s), %s warning(s)%s", h["delivery_id"], h["status"], h["rows"],
                 h["errors"], h["warnings"], f" — first: {h['first_error']}" if h["first_error"] else "")
        out.append(h)
    _working_on(feed=feed_id)
    return out


def _flatten(validated: Iterable) -> list[dict]:
    items: list[dict] = []
    if validated is None:
        return items
    if hasattr(validated, "__len__") and hasattr(validated, "__getitem__"):
        # Index by length: iterating Airflow's lazy XCom sequence probes one past the end, which
        # logs a spurious "XCom not found" error.
        validated = [validated[i] for i in range(len(validated))]
    for chunk in validated:
        if chunk is None:
            continue
        if isinstance(chunk, dict):
            items.append(chunk)
        else:
            items.extend(chunk)
    return items


def load(validated: Iterable, run: RunParams, context: dict | None = None, settings=None) -> dict:
    """Publish the validated deliveries (the single writer) and tag each feed's staging Asset
    event with what was loaded."""
    from pipelines import ingest

    items = _flatten(validated)
    if run.dry_run:
        _skip(f"dry run: {len(items)} validated delivery(ies) not loaded")
    settings = settings or airflow_settings()
    ids = [h["delivery_id"] for h in items]
    _working_on(stage="load", delivery=", ".join(ids[:20]) + (f" … (+{len(ids) - 20})" if len(ids) > 20 else ""),
                feed=",".join(sorted({h["feed_id"] for h in items})))
    with _writer(settings, context):
        summary = ingest.publish(settings, [h.get("staged_dir") or h["prepared"] for h in items])
    result = summary.as_dict() if hasattr(summary, "as_dict") else jsonable(summary)
    per_feed: dict[str, dict] = {}
    for d in result.get("deliveries", []):
        if not d.get("feed_id"):
            continue
        f = per_feed.setdefault(d["feed_id"], {"loaded": [], "rejected": [], "superseded": [], "waiting": [], "rows": 0})
        f.setdefault(d.get("status", "other"), []).append(d["delivery_id"])
        f["rows"] += int(d.get("rows") or 0)
    _tag_assets(context, per_feed, run)
    for d in result.get("deliveries", []):
        if d.get("status") == "rejected":
            log.warning("rejected %s: %s (report %s)", d.get("delivery_id"), d.get("first_error"), d.get("report"))
    return {"as_of": run.as_of.isoformat(), **{k: result.get(k) for k in ("loaded", "rejected", "superseded", "waiting", "rows")},
            "feeds": per_feed}


def _tag_assets(context: dict | None, per_feed: dict, run: RunParams) -> None:
    """Attach what was loaded to each staging Asset event this task emits (its outlets)."""
    if not context or "outlet_events" not in context:
        return
    by_uri = {staging_asset_uri(f): f for f in FEED_IDS}
    try:
        for outlet in getattr(context.get("task"), "outlets", None) or ():
            feed_id = by_uri.get(getattr(outlet, "uri", None))
            if feed_id is None:
                continue
            info = per_feed.get(feed_id) or {}
            context["outlet_events"][outlet].extra = {
                "as_of": run.as_of.isoformat(), "loaded": info.get("loaded", []), "rows": info.get("rows", 0)}
    except Exception:  # lineage metadata is a nicety; never fail a load over it
        log.exception("could not attach asset event metadata")


def data_docs(run: RunParams, settings=None) -> str | None:
    """Great Expectations Data Docs of the night (static HTML); best effort, like the CLI."""
    from pipelines import validate

    settings = settings or airflow_settings()
    try:
        path = validate.build_data_docs(settings, run.as_of)
    except Exception as e:
        log.warning("Data Docs not built: %s: %s", type(e).__name__, e)
        return None
    log.info("Data Docs: %s", path)
    return str(path) if path else None


def stage(name: str, run: RunParams, context: dict | None = None, settings=None) -> Any:
    """Run one stage of the night by name (pipelines.nightly.STAGES): a writing stage under the
    writer lock (the pool gives the slot; the lock also keeps out writers Airflow does not
    schedule, such as a manual ``lowincome run``), a reading stage read-only without it.
    Returns a small JSON value for XCom."""
    from pipelines import nightly

    settings = settings or airflow_settings()
    _working_on(stage=name, night=run.as_of.isoformat())
    result = nightly.run_stage(settings, name, run.as_of, owner=_owner(context))
    if name == "extracts":
        levels = {"town": sum(len(p.parent.name) == 9 for p in result),
                  "county": sum(len(p.parent.name) == 6 for p in result)}
        return {"folders": len(result), "offices": levels, "outbox": str(settings.outbox),
                "paths": [str(p) for p in result[:50]]}
    if name == "notices":
        return {"files": len(result), "paths": [str(p) for p in result[:50]]}
    if isinstance(result, Path):
        log.info("%s: %s", name, result)
        return str(result)
    out = jsonable(result)
    if name == "indicators":
        _tag_warnings_asset(context, run, out)
    return out


def _tag_warnings_asset(context: dict | None, run: RunParams, result: Any) -> None:
    if not context or "outlet_events" not in context:
        return
    try:
        from airflow.sdk import Asset

        info = result if isinstance(result, dict) else {}
        context["outlet_events"][Asset(WARNINGS_ASSET_URI)].extra = {
            "as_of": run.as_of.isoformat(), **{k: v for k, v in info.items() if isinstance(v, (int, float, str))}}
    except Exception:
        log.exception("could not attach asset event metadata")


# --- department_feedback tasks ---------------------------------------------------------------------

def find_feedback(run: RunParams, settings=None) -> dict:
    """Feedback files visible on ``as_of`` (file listing only; which are new is decided by content
    hash when applying)."""
    from pipelines import feedback

    settings = settings or airflow_settings()
    if settings.feedback is None:
        return {"as_of": run.as_of.isoformat(), "folder": None, "files": [], "note": "no feedback folder configured"}
    _working_on(folder=str(settings.feedback))
    files, later, unread = feedback.feedback_files(Path(settings.feedback), run.as_of)
    for u in unread:
        log.warning("not read: %s (%s: %s)", u["path"], u["kind"], u["reason"])
    return {"as_of": run.as_of.isoformat(), "folder": str(settings.feedback),
            "files": [str(f.path) for f in files][:500], "not_yet_visible": later,
            "not_read": [u["path"] for u in unread][:500]}


def apply_feedback_files(found: dict, run: RunParams, context: dict | None = None, settings=None) -> dict:
    if not (found or {}).get("files"):
        _skip(f"no feedback files visible on {run.as_of} in {(found or {}).get('folder')}")
    return stage("feedback", run, context=context, settings=settings)


# --- model_training tasks ---------------------------------------------------------------------------

def train_model(name: str, run: RunParams, context: dict | None = None, settings=None) -> dict:
    """Train one learned model on the warehouse (pipelines.learning.train); the artifact and its card
    go to ``<model_dir>/<name>/``, used from the next night on. Too little data is not a failure: the
    task is skipped with the reason (the pipeline goes on without that model)."""
    from pipelines.learning.train import train_models

    settings = settings or airflow_settings()
    _working_on(stage=f"train {name}", night=run.as_of.isoformat())
    [outcome] = train_models(settings, [name], echo=log.info, owner=_owner(context))
    if not outcome.trained:
        _skip(f"{name} not trained: {outcome.reason}")
    for w in outcome.warnings:
        log.warning("%s: %s", name, w)
    return outcome.as_dict()


# --- failure alerts ----------------------------------------------------------------------------------

def alert_on_failure(context: dict) -> None:
    """``on_failure_callback``: one line in ``<work>/alerts.log`` and in the task log naming the DAG,
    task, map index, the feed/delivery being worked on and the error. Never raises."""
    try:
        ti = context.get("ti")
        err = context.get("exception")
        subject = dict(_SUBJECT)
        task = context.get("task")
        if "feed" not in subject:
            feed = (getattr(task, "op_kwargs", None) or {}).get("feed_id")
            if feed:
                subject["feed"] = feed
        try:
            night = run_params(context).as_of.isoformat()
        except Exception:
            night = "?"
        fields = {
            "at": dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
            "level": "FAILED",
            "dag": getattr(ti, "dag_id", None),
            "task": getattr(ti, "task_id", None),
            "map_index": getattr(ti, "map_index", -1),
            "run_id": getattr(ti, "run_id", None),
            "try": getattr(ti, "try_number", None),
            "as_of": night,
            **subject,
            "host": socket.gethostname(),
            "error": f"{type(err).__name__}: {err}" if err is not None else "unknown",
        }
        line = " ".join(f"{k}={_quote(v)}" for k, v in fields.items())
        log.error("ALERT %s", line)
        try:
            target = airflow_settings().work / ALERTS_LOG
        except Exception as e:  # settings themselves are broken: the task log still has the alert
            log.error("ALERT not written to alerts.log: settings unavailable (%s)", e)
            return
        write_alert(target, line)
    except Exception:
        log.exception("alert callback failed")


def write_alert(path: Path, line: str) -> None:
    """Append one line; O_APPEND keeps concurrent writers' lines whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (line.replace("\n", " ") + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def _quote(v: Any) -> str:
    s = str(v).replace("\n", " ")
    return json.dumps(s, ensure_ascii=False) if (" " in s or not s or '"' in s) else s
