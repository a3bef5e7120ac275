"""Great Expectations on a typed delivery batch, and the per-night Data Docs.

Why pandas and not GX's SQL path on DuckDB: as shipped, GX 1.24's SQL path fails on every
expectation against duckdb-engine (it closes the connection before reading results); making it
work means patching a private GX setting (great_expectations GitHub #10738, #11579) that may
break on any upgrade.
pandas is the supported path. To keep it fast, checks that are expensive or impossible in pandas
(身份证号 check character, region code known in the ref_regions version in force, a reversal that
points at a settlement, fen arithmetic) are computed *before* GX, vectorised in DuckDB / numpy, into
boolean ``_…`` columns, and the suite expects them to be true. Date ranges use
``expect_column_min/max_to_be_between`` (one aggregate) instead of a per-row ``between``.

Every expectation's ``meta.severity`` is ``critical`` (the delivery is rejected) or ``warning``
(it loads; the failure is recorded in the ledger). ``meta.requires = "ref_regions"`` marks checks
that can only be made once a region list is loaded.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.config import EXPECTATIONS_DIR, Settings
from pipelines.dates import month_end, month_start, night_time
from pipelines.feeds import FeedSpec, Part
from pipelines.ids import valid_mask
from pipelines.redact import Echo
from pipelines.warehouse import relation_exists

# GX reads this at import time: never send usage statistics from a restricted network.
os.environ["GX_ANALYTICS_ENABLED"] = "false"

ROWS_PER_CHECK = 5          # offending rows reported per failed expectation
echo = Echo()               # a value quoted in a message: at most ECHO_MAX_CHARS characters
RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "unexpected_index_column_names": ["_file", "_row"],
    "partial_unexpected_count": ROWS_PER_CHECK,
    "include_unexpected_rows": False,
}


class SuiteError(RuntimeError):
    """The suite itself is broken (unknown column, GX exception): a bug, not a data problem."""


# --- suite parameters ---------------------------------------------------------------------------

def expected_term(period: str) -> str:
    """The school term a delivery for ``period`` should describe: Jan-Jul -> spring ``YYYY-1``,
    Aug-Dec -> autumn ``YYYY-2`` (periods are the term's first month: ``YYYY-03`` / ``YYYY-09``)."""
    start = month_start(period)
    return f"{start.year}-{1 if start.month <= 7 else 2}"


def suite_parameters(spec: FeedSpec, period: str, delivery_date: dt.date) -> dict[str, Any]:
    """Values the suites refer to as ``{"$PARAMETER": name}``. Dates are datetimes (GX compares
    pandas timestamps; a string bound would not parse)."""
    start = month_start(period)

    def ts(d: dt.date) -> dt.datetime:
        return dt.datetime(d.year, d.month, d.day)

    return {
        "period": period,
        "period_start": ts(start),
        "period_end": ts(month_end(period)),
        # end of the months this delivery covers (quarterly snapshot: 3 months, term: 6)
        "cover_end": ts(month_end(period, spec.months_covered)),
        "lookback_start": ts(start - dt.timedelta(days=366)),
        "delivery_date": ts(delivery_date),
        "expected_term": expected_term(period),
        "period_set": [period],
        "term_set": [expected_term(period)],
        "year": start.year,
    }


# --- reference lookups (read-only warehouse) ---------------------------------------------------

class ReferenceLookup:
    """Read-only access to what is already loaded: the ref_regions version in force and keys of
    loaded tables. ``con`` is a read-only warehouse connection or ``None`` (nothing loaded yet)."""

    def __init__(self, con=None):
        self.con = con
        self._tables: dict[str, bool] = {}

    def has_table(self, qualified: str) -> bool:
        if self.con is None:
            return False
        if qualified not in self._tables:
            self._tables[qualified] = relation_exists(self.con, qualified)
        return self._tables[qualified]

    def regions_in_force(self, period: str) -> pa.Table | None:
        """Region codes of the newest ref_regions version with valid_from <= period (the earliest
        version when the period predates all of them); ``None`` if no version is loaded."""
        if not self.has_table("staging.ref_regions"):
            return None
        row = self.con.execute(
            """select coalesce(max(period) filter (where period <= ?), min(period))
               from staging.ref_regions""", [period]).fetchone()
        if row is None or row[0] is None:
            return None
        return _arrow(self.con.execute(
            "select distinct region_code from staging.ref_regions where period = ?", [row[0]]))

    def existing_keys(self, table: str, column: str, values: pa.Array, exclude_period: str | None) -> pa.Array:
        """Which of ``values`` exist in ``table.column`` (outside ``exclude_period``, which the
        delivery being checked is about to replace)."""
        if not self.has_table(table) or len(values) == 0:
            return pa.array([], pa.string())
        self.con.register("_lookup_values", pa.table({"v": values}))
        try:
            sql = f"select distinct {column} as v from {table} where {column} in (select v from _lookup_values)"
            params: list = []
            if exclude_period is not None:
                sql += " and period <> ?"
                params.append(exclude_period)
            return _arrow(self.con.execute(sql, params)).column("v").combine_chunks()
        finally:
            self.con.unregister("_lookup_values")

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None


def _arrow(result) -> pa.Table:
    """duckdb ``.arrow()`` returns a Table (1.x) or a RecordBatchReader (newer): a Table either way."""
    out = result.arrow()
    return out.read_all() if hasattr(out, "read_all") else out


# --- check columns ------------------------------------------------------------------------------

def add_check_columns(con, spec: FeedSpec | Part, staged: pa.Table, period: str,
                      lookup: ReferenceLookup) -> tuple[pa.Table, list[dict]]:
    """Append the boolean ``_…`` columns the suite of one part (or one-part feed) expects to be
    true. Returns (table, notes): notes are warnings about checks that could not be made (e.g. no
    ref_regions loaded yet). ``check_sql`` expressions may read the delivery's other parts as
    ``part_<name>`` (registered by the ingest)."""
    notes: list[dict] = []
    layout = spec.layout_for(period)
    con.register("staged", staged)
    try:
        exprs: list[str] = []
        for name, expr in spec.check_sql:
            exprs.append(f"coalesce(({expr}), false) as {name}")
        if spec.region_column and spec.region_column not in layout.columns + layout.optional:
            exprs.append("true as _region_known")  # the period's layout has no region column (nothing to check)
        elif spec.region_column:
            regions = lookup.regions_in_force(period) if spec.feed_id != "ref_regions" else None
            col = spec.region_column
            if regions is not None and regions.num_rows:
                con.register("_regions", regions)
                exprs.append(f"({col} is null or {col} in (select region_code from _regions)) as _region_known")
            else:
                exprs.append("true as _region_known")
                notes.append({"file": None, "row": None, "field": col, "check": "region_known",
                              "severity": "warning", "count": None,
                              "message": "region codes not checked against ref_regions: no ref_regions "
                                         "version is loaded yet (checked for format only)"})
        for rc in spec.ref_checks:
            # References not satisfied inside this batch: look those (few) up in the warehouse.
            missing = _arrow(con.execute(
                f"select distinct {rc.column} as v from staged where {rc.column} is not null "
                f"and {rc.column} not in (select {rc.batch_column} from staged where {rc.batch_column} is not null)"
            )).column("v").combine_chunks()
            found = lookup.existing_keys(rc.table, rc.table_column, missing, exclude_period=period)
            con.register(f"_found_{rc.name}", pa.table({"v": found.cast(pa.string())}))
            exprs.append(
                f"({rc.column} is null or {rc.column} in (select {rc.batch_column} from staged) "
                f"or {rc.column} in (select v from _found_{rc.name})) as {rc.name}")
        if exprs:
            staged = _arrow(con.execute(f"select *, {', '.join(exprs)} from staged"))
    finally:
        for name in ("staged", "_regions", *(f"_found_{rc.name}" for rc in spec.ref_checks)):
            try:
                con.unregister(name)
            except Exception:
                pass
    for col in spec.id_columns:
        ids = staged.column(col)
        ok = valid_mask(ids) | pc.is_null(ids).to_numpy(zero_copy_only=False)
        staged = staged.append_column(f"_{col}_valid", pa.array(ok))
    return staged, notes


# --- GX ------------------------------------------------------------------------------------------

_GX: dict[str, Any] = {}


def _patch_gx_fingerprint() -> None:
    """GX fingerprints every pandas batch with ``hash_pandas_object`` (md5 of all cells), ~1.3 s per
    million rows, only to label the batch. A shape/columns fingerprint is enough here: each batch is
    validated once. Guarded: if a GX upgrade moves the function, we just lose the speed-up."""
    import great_expectations.execution_engine.pandas_execution_engine as pee

    if hasattr(pee, "hash_pandas_dataframe") and not getattr(pee.hash_pandas_dataframe, "_lowincome", False):
        import hashlib

        def cheap_fingerprint(df):
            sig = f"{df.shape}|{list(df.columns)}|{id(df)}|{time.time_ns()}"
            return hashlib.md5(sig.encode(), usedforsecurity=False).hexdigest()

        cheap_fingerprint._lowincome = True
        pee.hash_pandas_dataframe = cheap_fingerprint


def gx_context():
    """One ephemeral GX context per process (suites are loaded from JSON, nothing persisted)."""
    if "ctx" not in _GX:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx = gx.get_context(mode="ephemeral")
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        ds = ctx.data_sources.add_pandas("typed_batches")
        _GX["ctx"] = ctx
        _GX["batch_definition"] = ds.add_dataframe_asset("typed_batch").add_batch_definition_whole_dataframe("whole")
        _GX["suites"] = {}
        _patch_gx_fingerprint()
    return _GX["ctx"]


def suite_path(feed_id: str) -> Path:
    return EXPECTATIONS_DIR / f"{feed_id}.json"


def load_suite_json(feed_id: str) -> dict:
    with open(suite_path(feed_id), encoding="utf-8") as f:
        return json.load(f)


def _suite(feed_id: str):
    import great_expectations as gx

    ctx = gx_context()
    path = suite_path(feed_id)
    mtime = path.stat().st_mtime_ns
    cached = _GX["suites"].get(feed_id)
    if cached and cached[0] == mtime:
        return cached[1]
    suite_json = _with_datetime_bounds(load_suite_json(feed_id))
    name = suite_json.get("name", feed_id)
    try:
        ctx.suites.delete(name)
    except Exception:  # not there yet
        pass
    suite = ctx.suites.add(gx.ExpectationSuite(**suite_json))
    _GX["suites"][feed_id] = (mtime, suite)
    return suite


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$")


def _with_datetime_bounds(suite_json: dict) -> dict:
    """JSON cannot hold a datetime: ISO date strings in ``min_value``/``max_value`` become datetimes
    (GX compares pandas timestamps with datetimes; a string bound would not compare)."""
    for e in suite_json.get("expectations", []):
        kw = e.get("kwargs", {})
        for k in ("min_value", "max_value"):
            v = kw.get(k)
            if isinstance(v, str) and _ISO_DATE.match(v):
                kw[k] = dt.datetime.fromisoformat(v)
    return suite_json


def _columns_used(suite_json: dict) -> set[str]:
    cols: set[str] = set()
    for e in suite_json.get("expectations", []):
        kw = e.get("kwargs", {})
        for k in ("column", "column_A", "column_B"):
            if isinstance(kw.get(k), str):
                cols.add(kw[k])
        for k in ("column_list",):
            if isinstance(kw.get(k), list):
                cols.update(kw[k])
    return cols


def gx_frame(table: pa.Table):
    """The typed batch as pandas for GX: decimals -> float64, dates -> datetime64, lists -> ';'-joined."""
    cols = {}
    for name in table.column_names:
        if name in ("delivery_id", "period"):
            continue
        col = table.column(name)
        t = col.type
        if pa.types.is_decimal(t):
            col = col.cast(pa.float64())
        elif pa.types.is_list(t) or pa.types.is_large_list(t):
            col = pc.binary_join(col, ";")
        cols[name] = col
    return pa.table(cols).to_pandas(date_as_object=False, split_blocks=True, self_destruct=True)


@dataclass
class ValidationOutcome:
    errors: list[dict] = field(default_factory=list)      # critical failures -> reject
    warnings: list[dict] = field(default_factory=list)    # warning failures -> load, record
    checks: list[dict] = field(default_factory=list)      # one line per expectation (for reports)
    gx_result: dict | None = None                         # GX's own result (Data Docs)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.errors


def _jsonable(v):
    if isinstance(v, (np.generic,)):
        return v.item()
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, float) and v != v:
        return None
    return v


def _rows_outside(df, column: str, lo, hi) -> list[dict]:
    s = df[column]
    bad = np.zeros(len(df), dtype=bool)
    if lo is not None:
        bad |= (s < lo).to_numpy(dtype=bool, na_value=False)
    if hi is not None:
        bad |= (s > hi).to_numpy(dtype=bool, na_value=False)
    idx = np.flatnonzero(bad)[:ROWS_PER_CHECK]
    return [{"_file": df["_file"].iat[i], "_row": int(df["_row"].iat[i]), column: s.iat[i]} for i in idx]


def validate_typed(spec: FeedSpec | Part, typed: pa.Table, params: dict[str, Any],
                   extra_notes: list[dict] | None = None, run_name: str | None = None) -> ValidationOutcome:
    """Run the suite of one part (or one-part feed: ``expectations/<table>.json``) over the typed
    batch (with its ``_…`` check columns) and translate failures into error/warning records
    ``{file,row,field,check,message,severity,count}``."""
    t0 = time.perf_counter()
    name = spec.suite
    suite_json = load_suite_json(name)
    suite = _suite(name)
    missing = _columns_used(suite_json) - set(typed.column_names)
    if missing:
        raise SuiteError(f"suite expectations/{name}.json refers to unknown column(s) {sorted(missing)}")
    df = gx_frame(typed)
    batch = _GX["batch_definition"].get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(suite, result_format=RESULT_FORMAT, expectation_parameters=params)
    out = ValidationOutcome()
    for note in extra_notes or []:
        (out.errors if note.get("severity") == "critical" else out.warnings).append(note)
    for r in result.results:
        cfg = r.expectation_config
        meta = dict(cfg.meta or {})
        kwargs = dict(cfg.kwargs)
        severity = meta.get("severity", "critical")
        fld = meta.get("field") or kwargs.get("column") or (
            ",".join(kwargs.get("column_list") or []) or None)
        check = meta.get("check") or cfg.type.removeprefix("expect_")
        res = r.result or {}
        line = {"check": check, "field": fld, "severity": severity, "success": bool(r.success),
                "expectation": cfg.type, "unexpected_count": res.get("unexpected_count"),
                "unexpected_percent": _jsonable(res.get("unexpected_percent")),
                "observed_value": _jsonable(res.get("observed_value")) if not isinstance(
                    res.get("observed_value"), (list, dict)) else res.get("observed_value")}
        out.checks.append(line)
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise SuiteError(f"{name}: expectation {cfg.type} on {fld} raised: "
                             f"{r.exception_info.get('exception_message')}")
        if not r.success and cfg.type in _AGGREGATES and _is_missing(res.get("observed_value")):
            # min/max of a column with no values (e.g. an optional date nobody filled): nothing to check
            line["success"] = True
            line["note"] = "no values"
            continue
        if r.success:
            continue
        records = _failure_records(cfg.type, kwargs, meta, res, df, params, fld, check, severity)
        (out.errors if severity == "critical" else out.warnings).extend(records)
    out.gx_result = result.to_json_dict()
    meta = out.gx_result.setdefault("meta", {})
    if run_name:
        meta["run_name"] = run_name
    # our verdict next to GX's (e.g. a min/max over a column with no values is "nothing to check")
    meta["lowincome"] = {
        "critical": sorted({f"{e['check']}:{e['field']}" for e in out.errors}),
        "warnings": sorted({f"{e['check']}:{e['field']}" for e in out.warnings}),
        "no_values": sorted({f"{c['check']}:{c['field']}" for c in out.checks if c.get("note") == "no values"}),
    }
    out.seconds = time.perf_counter() - t0
    return out


_AGGREGATES = ("expect_column_min_to_be_between", "expect_column_max_to_be_between")


def _is_missing(v) -> bool:
    if v is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _resolve(v, params):
    if isinstance(v, dict) and "$PARAMETER" in v:
        return params.get(v["$PARAMETER"])
    if isinstance(v, str) and _ISO_DATE.match(v):
        return dt.datetime.fromisoformat(v)
    return v


def _failure_records(etype, kwargs, meta, res, df, params, fld, check, severity) -> list[dict]:
    desc = meta.get("description") or etype.removeprefix("expect_").replace("_", " ")
    count = res.get("unexpected_count")
    total = res.get("element_count")
    rows: list[dict] = []
    if res.get("partial_unexpected_index_list"):
        rows = res["partial_unexpected_index_list"][:ROWS_PER_CHECK]
    elif etype in ("expect_column_min_to_be_between", "expect_column_max_to_be_between") and kwargs.get("column") in df:
        lo, hi = _resolve(kwargs.get("min_value"), params), _resolve(kwargs.get("max_value"), params)
        # min/max is an aggregate: find the offending rows ourselves, for the department
        if etype == "expect_column_min_to_be_between":
            rows = _rows_outside(df, kwargs["column"], lo, None)
        else:
            rows = _rows_outside(df, kwargs["column"], None, hi)
    records = []
    base_msg = desc
    if count is not None and total:
        base_msg = f"{desc}: {count} of {total} rows fail"
    elif "observed_value" in res:
        bounds = {k: _jsonable(_resolve(kwargs.get(k), params)) for k in ("min_value", "max_value", "value")
                  if kwargs.get(k) is not None}
        base_msg = f"{desc}: observed {_jsonable(res.get('observed_value'))}, expected {bounds}"
        if etype in ("expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list"):
            base_msg = f"{desc}: observed {res.get('observed_value')}; details {res.get('details', {})}"
    column = kwargs.get("column")
    for r in rows:
        value = _jsonable(r.get(column)) if column else None
        message = base_msg + (f" (value {echo(value)!r})" if column and value is not None else "")
        records.append({"file": r.get("_file"), "row": _jsonable(r.get("_row")), "field": fld, "check": check,
                        "severity": severity, "count": count, "message": message})
    if not records:
        records.append({"file": None, "row": None, "field": fld, "check": check, "severity": severity,
                        "count": count, "message": base_msg})
    return records


# --- Data Docs ------------------------------------------------------------------------------------

def gx_results_dir(settings: Settings, as_of: dt.date) -> Path:
    return settings.work / "gx_results" / as_of.isoformat()


def data_docs_dir(settings: Settings, as_of: dt.date) -> Path:
    return settings.work / "data_docs" / as_of.isoformat()


def save_gx_result(settings: Settings, as_of: dt.date, delivery_id: str, result: dict) -> Path:
    from pipelines.atomic import atomic_write_text

    path = gx_results_dir(settings, as_of) / (delivery_id.replace("/", "__") + ".json")
    atomic_write_text(path, json.dumps(result, ensure_ascii=False, default=str))
    return path


def build_data_docs(settings: Settings, as_of: dt.date) -> Path | None:
    """Static GX Data Docs for one night: every validation result saved that night, plus the suites,
    rendered by GX's own site builder from a fresh ephemeral context into
    ``<work>/data_docs/<as_of>/index.html``. Returns the index path (``None`` if nothing was validated)."""
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.data_context.types.resource_identifiers import (ExpectationSuiteIdentifier,
                                                                             ValidationResultIdentifier)

    results = sorted(gx_results_dir(settings, as_of).glob("*.json"))
    if not results:
        return None
    out = data_docs_dir(settings, as_of)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    site = f"night_{as_of.isoformat()}"
    ctx.add_data_docs_site(site, {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(out)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    suites_added: set[str] = set()
    schema = ExpectationSuiteValidationResultSchema()
    run_time = night_time(as_of)
    rows = []
    for path in results:
        data = json.loads(path.read_text(encoding="utf-8"))
        suite_name = data.get("suite_name") or path.stem.split("__")[0]
        data.setdefault("meta", {})["run_id"] = {"run_name": path.stem, "run_time": run_time.isoformat()}
        stats = data.get("statistics", {})
        rows.append((path.stem, suite_name, data.get("meta", {}).get("lowincome"), stats))
        if suite_name not in suites_added and suite_path(suite_name).exists():
            ctx.suites.add(gx.ExpectationSuite(**load_suite_json(suite_name)))
            suites_added.add(suite_name)
        result = schema.load(data)
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
            run_id=RunIdentifier(run_name=path.stem, run_time=run_time),
            batch_identifier=path.stem,
        )
        ctx.validation_results_store.set(key, result)
    ctx.build_data_docs(site_names=[site])
    # GX's index lists the results with JavaScript from public CDNs, which an offline (restricted)
    # network cannot load: keep it as gx_index.html and write a plain static index beside it.
    gx_index = out / "index.html"
    if gx_index.exists():
        os.replace(gx_index, out / "gx_index.html")
    _write_static_index(out, as_of, rows)
    return out / "index.html"


def _write_static_index(out: Path, as_of: dt.date, rows: list[tuple[str, str, dict | None, dict]]) -> None:
    from html import escape

    from pipelines.atomic import atomic_write_text

    body = []
    for stem, suite_name, verdict, stats in rows:
        pages = sorted((out / "validations" / suite_name / stem).glob("*/*.html"))
        link = pages[0].relative_to(out).as_posix() if pages else None
        delivery = stem.replace("__", "/")
        verdict = verdict or {}
        critical, warnings = verdict.get("critical", []), verdict.get("warnings", [])
        if critical:
            cls, status = "bad", "退回 rejected: " + ", ".join(critical)
        elif warnings:
            cls, status = "warn", "警告 loaded with warnings: " + ", ".join(warnings)
        else:
            cls, status = "ok", "通过 passed"
        if verdict.get("no_values"):
            status += " (no values to check: " + ", ".join(verdict["no_values"]) + ")"
        name = f'<a href="{escape(link)}">{escape(delivery)}</a>' if link else escape(delivery)
        body.append(f"<tr class={cls}><td>{name}</td><td>{escape(suite_name)}</td>"
                    f"<td>{escape(status)}</td><td>{stats.get('evaluated_expectations', '')}</td>"
                    f"<td>{stats.get('successful_expectations', '')}</td></tr>")
    suites = sorted({r[1] for r in rows})
    suite_links = " · ".join(
        f'<a href="expectations/{escape(sn)}.html">{escape(sn)}</a>' for sn in suites
        if (out / "expectations" / f"{sn}.html").exists())
    html = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>数据质量校验 Data Docs {as_of.isoformat()}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;
padding:4px 10px;text-align:left}}tr.bad td{{background:#fde8e8}}tr.warn td{{background:#fff6dd}}tr.ok td:nth-child(3){{color:#17692b}}</style></head>
<body><h1>数据质量校验 / Data Docs — {as_of.isoformat()}</h1>
<p>Great Expectations results of every delivery validated on this night. A failed critical expectation means
the delivery was rejected (see <code>ops.deliveries</code> and the reports folder); a failed warning loads.</p>
<table><tr><th>交付 delivery</th><th>规则集 suite</th><th>结果 result</th><th>检查 evaluated</th><th>GX 通过 passed</th></tr>
{''.join(body)}
</table>
<p>规则集 suites: {suite_links}</p>
<p><a href="gx_index.html">GX's own index</a> (needs internet access for its scripts).</p>
</body></html>
"""
    atomic_write_text(out / "index.html", html)
