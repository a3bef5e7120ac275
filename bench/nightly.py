"""Nightly benchmark: one real night that adds a month, timed stage by stage, at
100k / 1M / 3M roster persons, against a pandas baseline and DuckDB's own scan speed.

    uv run python bench/nightly.py --sizes 100k                      # small, to debug (~10 min, 12 months of history)
    uv run python bench/nightly.py --sizes 1000k                     # the targets: 12 months of history (~1 h once)
    uv run python bench/nightly.py --sizes 1000k --history-months 6  # shorter history (~25 min)
    uv run python bench/nightly.py --sizes 3000k --history-step 1 --no-pandas  # 3M: 12 months, a night each (~2 h)
    uv run python bench/nightly.py --sizes 3000k --history-months 3 --no-pandas  # 3M: month 4 after 3 months (~1 h)
    uv run python bench/nightly.py --sizes 3000k --single-month      # 3M: one month (ingest_bench generator)
    uv run python bench/nightly.py --sizes 1000k --history-step 1 --history-only --no-write-doc  # history + training
    uv run python bench/nightly.py --sizes 1000k --history-step 1 --no-pandas --rerun-late    # time month 13 again
    uv run python bench/nightly.py --sizes 10k --history-months 3 --history-step 1 --no-pandas  # check the bench (~3 min)
    uv run python bench/nightly.py --doc-only                        # re-render docs/performance.md from cached results
    options: --cache DIR (default /tmp/lowincome_nightly_bench), --rebuild (regenerate province + warehouses),
             --threads N / --memory-limit 5GB (DuckDB; default: pipelines.config.load_settings()),
             --no-write-doc, --no-answers (no simulated feedback between nights), --retrain (train the models on
             the history again), --after-training (time the first night after the monthly training instead of
             an ordinary night; run it before an ordinary night, whose priming scores the base)

The offices answer: after every untimed night (month 1, the history nights) and after the timed month 2, the
simulated departments of ``pipelines.demo`` answer that night's extracts into ``<run>/feedback/`` (mostly
confirming real trouble, some wrong, some late, some never, silent town offices escalated), so the next night reads
feedback and the cases of a working province close; an answer to an income question brings the assessed check it
rests on into the check centre's delivery still to come (``pipelines.demo.simulate_checks``, from the province's
check book; a province generated before the check book existed brings none). After the history, both models are trained on it
(``lowincome model train``, timed per model).

What it does, per size (``<cache>/<size>/``):

1. ``province/``: ``pipelines.synth.generate`` (roster families = persons / 2.5; seed 20261; months from
   2025-10), generated once and cached.
2. ``after_m1/``: the warehouse after month 1 (one ``run_night`` whose ``as_of`` is the end of the month
   after month 1's data month, i.e. it sees every month-1 delivery and no month-2 delivery). Cached.
3. Timed night for **month 2** on a copy of ``after_m1``; then the history (months 3..H) is loaded by one
   ``run_night`` (``as_of`` sees all H months), or with ``--history-step K`` by one ``run_night`` per K
   months, and cached as ``after_m<H>/``.
4. Timed night for **month H+1** (default H = 12 -> month 13) on a copy of ``after_m<H>``.
5. In the month-H+1 run: the DuckDB scan limit (``count(*)`` and ``sum`` of every numeric column of the
   night's staged Parquet, before it is loaded) and the pandas baseline (``bench/nightly_pandas.py``:
   INC_DROP, EXP_MED, ELIG_DIBAO from ``staging.*``), with a same-households check against mart.warnings.

A timed night runs the same calls, in the same order, as ``pipelines.nightly.run_night``: discover ->
prepare (parse + type + checks + GX per delivery) -> publish (load) -> Data Docs -> core -> eligibility scoring
-> the indicators (one ``compute_indicators`` call, as the DAG's indicators task makes it; each indicator's seconds
and CPU from its evaluations) -> cases ->
feedback -> triage -> extracts -> notices -> analyst DB -> statistics -> report -> ops.runs. Before it, the base's
core facts, eligibility scores, indicator evaluations, triage priorities and analyst database are brought up to the
current code and models, untimed (a cache left by another version, or the night after a training, would otherwise
redo the history's work in the timed night). Each stage runs in its own child process so its peak RSS
(``ru_maxrss``) is that stage's alone; the stage's time is measured inside the child (the interpreter
start and imports, ~1-3 s per child, are reported separately as overhead).

Results are cached as JSON in ``<cache>/<size>/results.json`` and, once a size is finished, copied to
``bench/results/<size>.json`` (committed); ``docs/performance.md`` is rendered from those (a size with
neither keeps its section of the page as it was, marked as carried over).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

# size label -> roster families (synth: ~2.5 roster persons per family)
SIZES = {"10k": 4_000, "100k": 40_000, "300k": 120_000, "1000k": 400_000, "3000k": 1_200_000}
START = "2025-10"
SEED = 20261
DEFAULT_CACHE = Path("/tmp/lowincome_nightly_bench")


# --- calendar -----------------------------------------------------------------------------------------

def period_of(k: int) -> str:
    """Data month k (1-based) of the synthetic province."""
    y, m = int(START[:4]), int(START[5:7])
    idx = y * 12 + (m - 1) + (k - 1)
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def as_of_for(k: int) -> dt.date:
    """The night that sees every delivery of data month k and none of month k+1: the last day of the
    month after k (month k's deliveries arrive in the first days of k+1, late ones later in k+1)."""
    nxt = period_of(k + 2)
    return dt.date(int(nxt[:4]), int(nxt[5:7]), 1) - dt.timedelta(days=1)


# --- settings / paths ---------------------------------------------------------------------------------

def settings_for(run: Path, landing: Path, threads: int | None, memory_limit: str | None, hmac: Path):
    from pipelines.config import load_settings

    return load_settings(
        landing=landing, warehouse=run / "warehouse.duckdb", outbox=run / "outbox", work_dir=run / "work",
        feedback=run / "feedback", hmac_key_file=hmac, show_progress=False, duckdb_threads=threads, duckdb_memory_limit=memory_limit)


def _maxrss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _du(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


# --- child: one stage ---------------------------------------------------------------------------------

def _stage(args) -> dict:
    """Run one stage of a night in this (child) process; return seconds, rows and notes."""
    from pipelines import nightly

    run = Path(args.run)
    settings = settings_for(run, Path(args.landing), args.threads, args.memory_limit, Path(args.hmac))
    as_of = dt.date.fromisoformat(args.as_of)
    night = run / "night"
    night.mkdir(parents=True, exist_ok=True)
    name = args.stage
    out: dict = {"stage": name}
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()

    if name == "night":  # a whole run_night (history loads; untimed per stage)
        summary = nightly.run_night(settings, as_of)
        out["timings"] = {k: round(v, 2) for k, v in summary.timings.items()}
        out["rows"] = summary.stages.get("ingest", {}).get("rows", 0)
        out["note"] = f"{summary.stages.get('ingest', {}).get('loaded', 0)} deliveries loaded"

    elif name == "answer":  # the offices answer the night's extracts (as in the demo), read by the next night
        from pipelines.demo import DemoTruth, simulate_checks, simulate_feedback

        truth = DemoTruth.load(Path(args.landing).parent / "truth.csv", settings)
        answer_on = as_of_for(args.month + 1) - dt.timedelta(days=1)
        answered: list[dict] = []
        out["rows"] = simulate_feedback(settings.outbox, settings.feedback, as_of, answer_on, truth, answered=answered)
        # the check centre reports the assessed checks behind the answers to income questions (a province
        # generated before the check book existed has none: no checks then)
        checks = simulate_checks(Path(args.landing), Path(args.landing).parent / "check_book.parquet", answered, as_of,
                                 answer_on)
        out["note"] = f"{out['rows']} feedback files dated {answer_on}, {checks} economic checks"

    elif name.startswith("train:"):  # lowincome model train --model <name>, on the warehouse as it stands
        from pipelines.learning.train import train_models

        [outcome] = train_models(settings, [name.split(":", 1)[1]], echo=lambda *a, **k: None)
        out["rows"] = 0
        # no path of the benchmark machine in the results: the model, its version and time, or why not
        out["note"] = (f"{outcome.model}: trained {outcome.version} in {outcome.seconds:.0f} s" if outcome.trained
                       else f"{outcome.model}: not trained: {outcome.reason}")[:160]
        out["trained"] = outcome.trained

    elif name == "discover":
        from pipelines import ingest

        refs = ingest.discover(settings, as_of=as_of, include_waiting=True)
        (night / "refs.json").write_text(json.dumps([r.to_dict() for r in refs], default=str))
        out["rows"] = len(refs)
        out["note"] = f"{len(refs)} delivery folders"

    elif name == "prepare":
        from pipelines import ingest
        from pipelines.feeds import FEEDS

        refs = [ingest.DeliveryRef.from_dict(d) for d in json.loads((night / "refs.json").read_text())]
        ref_first = [r for r in refs if FEEDS[r.feed_id].is_reference]
        others = [r for r in refs if not FEEDS[r.feed_id].is_reference]
        parts = {"checksum": 0.0, "read": 0.0, "type": 0.0, "checks": 0.0, "gx": 0.0, "write": 0.0}
        staged, rows, ref_publish = [], 0, 0.0
        for phase in (ref_first, others):
            prepared = []
            for ref in phase:
                p = ingest.prepare_delivery(settings, ref)
                prepared.append(p)
                rows += p.rows
                for k in parts:
                    parts[k] += float(p.timings.get(k, 0.0) or 0.0)
            if phase is ref_first and prepared:
                # ingest() publishes reference feeds before the others are validated against them
                t_ref = time.perf_counter()
                ingest.publish(settings, prepared)
                ref_publish += time.perf_counter() - t_ref
            else:
                staged.extend(p.to_dict() for p in prepared)
        (night / "staged.json").write_text(json.dumps(staged, default=str))
        out["rows"] = rows
        out["parts"] = {k: round(v, 2) for k, v in parts.items()}
        out["ref_publish_s"] = round(ref_publish, 2)
        out["validated"] = sum(1 for d in staged if d.get("staged_dir") and (Path(d["staged_dir"]) / "staging.parquet").exists())
        out["note"] = f"{len(refs)} deliveries"
        out["bytes_in"] = sum(_du(Path(r.folder)) for r in refs)

    elif name == "scan":
        out.update(_scan_staged(settings, json.loads((night / "staged.json").read_text())))

    elif name == "load":
        from pipelines import ingest

        staged = json.loads((night / "staged.json").read_text())
        summary = ingest.publish(settings, staged)
        out["rows"] = summary.total("rows")
        out["note"] = f"{summary.total('loaded')} loaded, {summary.total('rejected')} rejected"
        (night / "ingest.json").write_text(json.dumps(summary.as_dict(), default=str))

    elif name == "data_docs":
        from pipelines import validate

        path = validate.build_data_docs(settings, as_of)
        out["rows"] = 0
        # the page's name inside the work folder, never a path of the benchmark machine
        out["note"] = f"Data Docs {Path(path).parent.name}/{Path(path).name}" if path else "nothing validated"

    elif name == "core":
        from pipelines import core
        from pipelines.warehouse import connect

        con = connect(settings)
        try:
            s = core.build_core(con)
        finally:
            con.close()
        out["rows"] = sum(s.households.values())
        out["note"] = f"months built {','.join(s.built) or '-'} (households)"

    elif name == "indicators":  # every indicator in one process, as the DAG's indicators task runs them
        s = nightly.run_stage(settings, "indicators", as_of)
        parts: dict[str, dict] = {}
        for e in s.evaluated:
            p = parts.setdefault(e["indicator"], {"seconds": 0.0, "cpu_s": 0.0, "warnings": 0, "months": []})
            p["seconds"] += e["seconds"]
            p["cpu_s"] += e["cpu_s"]
            p["warnings"] += e["warnings"]
            p["months"].append(e["period"])
        out["parts"] = {c: {**p, "seconds": round(p["seconds"], 3), "cpu_s": round(p["cpu_s"], 2)}
                        for c, p in parts.items()}
        out["rows"] = s.warnings
        out["note"] = f"{len(s.evaluated)} evaluations of {len(parts)} indicators, {s.skipped} unchanged"

    elif name in ("eligibility", "triage"):
        s = nightly._as_dict(nightly.run_stage(settings, name, as_of))
        out["rows"] = int(s.get("rows", s.get("cases", 0)) or 0)
        out["note"] = f"model {s.get('model') or '-'}: {s.get('note') or s.get('method', '')}"[:120]
        # the model's own time: the whole eligibility stage; in triage, loading the model, the features and the
        # probabilities (the severity order, the cases query and the write exist without a model)
        out["model_s"] = float(s.get("model_seconds", s.get("seconds", 0.0)) or 0.0)

    elif name == "cases":
        s = nightly._as_dict(nightly.run_stage(settings, "cases", as_of))
        out["rows"] = sum(v for v in s.values() if isinstance(v, int) and not isinstance(v, bool))
        out["note"] = ", ".join(f"{k}={v}" for k, v in s.items() if isinstance(v, (int, str)))[:120]

    elif name == "feedback":
        s = nightly._as_dict(nightly.run_stage(settings, "feedback", as_of))
        out["rows"] = s.get("files", 0) if isinstance(s.get("files", 0), int) else 0
        out["note"] = str(s.get("note", ""))

    elif name == "extracts":
        paths = nightly.run_stage(settings, "extracts", as_of)
        out["rows"] = len(paths)
        out["note"] = f"{len(paths)} office folders"

    elif name == "notices":
        paths = nightly.run_stage(settings, "notices", as_of)
        out["rows"] = len(paths) // 2
        out["note"] = f"{len(paths) // 2} notices"

    elif name == "statistics":
        path = nightly.run_stage(settings, "statistics", as_of)
        out["rows"] = 0
        out["note"] = path.name if path else "no complete month"

    elif name == "analyst":
        if getattr(args, "full", False):
            from pipelines.analyst import build_analyst_db

            with nightly.open_warehouse(settings) as con:
                con.execute("checkpoint")
                path = build_analyst_db(settings, con=con, full=True, as_of=as_of)
        else:
            path = nightly.run_stage(settings, "analyst", as_of)
        out["rows"] = 0
        out["note"] = f"{path.stat().st_size / 1e6:.0f} MB, " + _analyst_build_note(path)

    elif name == "report":
        path = nightly.run_stage(settings, "report", as_of)
        out["rows"] = 0
        out["note"] = path.name
        with nightly.open_warehouse(settings) as con:
            nightly._record_run(con, nightly.NightSummary(as_of=as_of))

    elif name == "pandas":
        import nightly_pandas

        out.update(nightly_pandas.run(settings, period_of(args.month)))

    else:
        raise SystemExit(f"unknown stage {name}")

    out["seconds"] = round(time.perf_counter() - t, 3)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    # CPU seconds of this process (DuckDB's threads included): on a shared machine wall > CPU / threads
    out["cpu_s"] = round(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 2)
    out["peak_rss"] = _maxrss()
    return out


def _analyst_build(path: Path) -> tuple[str | None, str | None, dict]:
    """(format, build_mode, build_stats) of an analyst database; (None, None, {}) if it has none."""
    import duckdb

    if not path.exists():
        return None, None, {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        fmt, mode, stats = con.execute("select format, build_mode, build_stats from build_info").fetchone()
        return fmt, mode, json.loads(stats)
    except duckdb.Error:
        return None, None, {}
    finally:
        con.close()


def _analyst_build_note(path: Path) -> str:
    _, mode, st = _analyst_build(path)
    built = st.get("months_built", {})
    return (f"{mode} build: months built person_month {built.get('person_month')}, household_month "
            f"{built.get('household_month')}, copied {st.get('months_copied')}; texts scrubbed "
            f"{st.get('texts_scrubbed')}, from cache {st.get('texts_from_cache')}; slowest steps "
            + ", ".join(f"{k} {v:.1f} s" for k, v in sorted((st.get("seconds") or {}).items(), key=lambda kv: -kv[1])[:6]))


def _scan_staged(settings, staged: list[str]) -> dict:
    """The limit: DuckDB alone reading the night's staged data -- count(*) and the sum of every numeric
    column of each staging.parquet -- in a fresh in-memory connection with the same settings."""
    import duckdb

    con = duckdb.connect(":memory:", config={"threads": settings.duckdb_threads,
                                             "memory_limit": settings.duckdb_memory_limit})
    def one_pass():
        rows = files = nbytes = 0
        for d in staged:
            if not d.get("staged_dir"):
                continue
            f = Path(d["staged_dir"]) / "staging.parquet"
            if not f.exists():
                continue
            cols = con.execute("select column_name, column_type from (describe select * from read_parquet(?))",
                               [str(f)]).fetchall()
            num = [c for c, ty in cols if ty.split("(")[0] in ("DECIMAL", "BIGINT", "INTEGER", "DOUBLE", "SMALLINT", "HUGEINT")]
            other = [c for c, ty in cols if c not in num][:3]
            exprs = ["count(*)"] + [f'sum("{c}")' for c in num] + [f'max(length(cast("{c}" as varchar)))' for c in other]
            rows += con.execute(f"select {', '.join(exprs)} from read_parquet(?)", [str(f)]).fetchone()[0]
            files += 1
            nbytes += f.stat().st_size
        return rows, files, nbytes

    passes = []
    for _ in range(3):  # the machine is shared: the fastest of 3 passes is the limit
        t = time.perf_counter()
        rows, files, nbytes = one_pass()
        passes.append(time.perf_counter() - t)
    con.close()
    return {"rows": rows, "files": files, "bytes": nbytes, "note": f"{files} staged Parquet files, {nbytes / 1e6:.0f} MB, "
            f"passes {', '.join(f'{x:.2f}' for x in passes)} s", "scan_s": round(min(passes), 3),
            "scan_passes": [round(x, 3) for x in passes]}


# --- parent: orchestration ----------------------------------------------------------------------------

def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_times() -> tuple[int, int] | None:
    """(steal, total) jiffies of all CPUs since boot (/proc/stat), or None where there is none. Steal is
    the time the hypervisor gave this virtual machine's CPUs to others: on a shared machine it is what
    makes the same night take 1.5x longer in one hour than in the next."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        values = [int(x) for x in fields[:8]]
    except (OSError, ValueError, IndexError):
        return None
    return (values[7], sum(values)) if len(values) == 8 else None


def cpu_name() -> str:
    """The CPU model of this machine (/proc/cpuinfo), recorded with each timed night."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]), 4)


def child(stage: str, run: Path, landing: Path, as_of: dt.date, args, month: int = 0, log: Path | None = None,
          full: bool = False) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "_stage", stage, "--run", str(run), "--landing", str(landing),
           "--as-of", as_of.isoformat(), "--hmac", str(hmac_path(args)), "--month", str(month)] + (["--full"] if full else [])
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.memory_limit:
        cmd += ["--memory-limit", args.memory_limit]
    result_file = run / "night" / f"stage_{stage.replace(':', '_')}.json"
    result_file.parent.mkdir(parents=True, exist_ok=True)
    result_file.unlink(missing_ok=True)
    cmd += ["--result", str(result_file)]
    load_before, cpu_before = loadavg(), cpu_times()
    t = time.perf_counter()
    with open(log or os.devnull, "a") as lf:
        proc = subprocess.run(cmd, stdout=lf, stderr=subprocess.STDOUT, env={**os.environ, "GX_ANALYTICS_ENABLED": "false"})
    wall = time.perf_counter() - t
    if proc.returncode != 0 or not result_file.exists():
        raise RuntimeError(f"stage {stage} failed (rc {proc.returncode}); see {log}")
    out = json.loads(result_file.read_text())
    out["wall_s"] = round(wall, 3)
    out["load_before"] = load_before
    out["load_after"] = loadavg()
    out["steal"] = steal_share(cpu_before, cpu_times())
    steal = f"steal {out['steal']:.0%}  " if out["steal"] is not None else ""
    print(f"    {stage:<28} {out['seconds']:8.1f}s  {out['peak_rss'] / 1e9:5.2f} GB  rows {out.get('rows', 0):>11,}  "
          f"load {out['load_after']}  {steal}{out.get('note', '')}", flush=True)
    return out


def hmac_path(args) -> Path:
    p = Path(args.cache) / "bench_hmac.key"
    if not p.exists():
        import secrets

        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    return p


def night_stages() -> list[str]:
    return ["discover", "prepare", "scan", "load", "data_docs", "core", "eligibility", "indicators",
            "cases", "feedback", "triage", "extracts", "notices", "analyst", "statistics", "report"]


def copy_run(src: Path, dst: Path) -> None:
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, symlinks=True)
    (dst / "night").mkdir(exist_ok=True)
    for f in (dst / "night").glob("*.json"):
        f.unlink()


def prime_base(base: Path, landing: Path, month: int, args, log: Path) -> dict:
    """Bring the base's core facts, eligibility scores and indicators up to the current code and model
    (untimed): a base cached by another version would otherwise make the timed night rebuild, re-score or
    re-evaluate every earlier month, which no real night does (a real night's earlier months were built
    by the same code)."""
    print(f"  priming the core facts and eligibility scores of {base.name} (untimed; no-ops when this code and "
          f"model made them)", flush=True)
    out = child("core", base, landing, as_of_for(month - 1), args, month=month - 1, log=log)
    # A model trained on the base scores the recent months once, and the ELIG rules are evaluated again
    # on the new scores: the first night after a monthly training does that once; every other night
    # scores and evaluates only the months whose core changed. The timed night is such an ordinary
    # night (--after-training: the first night after the training, scoring and re-evaluating itself).
    if not args.after_training:
        child("eligibility", base, landing, as_of_for(month - 1), args, month=month - 1, log=log)
    # indicators evaluated by this code (a base cached by another version of an indicator's SQL would
    # make the timed night evaluate every month again)
    child("indicators", base, landing, as_of_for(month - 1), args, month=month - 1, log=log)
    if not args.after_training:
        # the night before had the triage model too: its priorities are what an ordinary night keeps
        child("triage", base, landing, as_of_for(month - 1), args, month=month - 1, log=log)
    return out


def prime_analyst(base: Path, landing: Path, month: int, args, log: Path) -> dict | None:
    """Make the base's analyst database one the current code would have left after the base's night
    (a base cached by an older version of the build gets it rebuilt, untimed), so the timed night's
    analyst stage does the incremental build a real night does."""
    from pipelines.analyst import build_format

    fmt, _, _ = _analyst_build(base / "analyst.duckdb")
    cache = base / "work" / "secrets" / "pseudonyms.duckdb"  # pipelines.analyst.pseudonym_cache_path
    if fmt == build_format() and cache.exists():
        return None
    # a full build: it also fills the pseudonym cache with every month's ids, as the nights before would have
    print(f"  priming the analyst database of {base.name} (built by another version): full build", flush=True)
    return child("analyst", base, landing, as_of_for(month - 1), args, month=month - 1, log=log, full=True)


def timed_night(label: str, base: Path, run: Path, landing: Path, month: int, args, log: Path,
                extra: tuple[str, ...] = ()) -> dict:
    prime_base(base, landing, month, args, log)
    prime_analyst(base, landing, month, args, log)
    copy_run(base, run)
    as_of = as_of_for(month)
    print(f"  night {label}: data month {period_of(month)}, as_of {as_of}, load {loadavg()}", flush=True)
    stages = {}
    t, cpu_before = time.perf_counter(), cpu_times()
    for stage in night_stages() + list(extra):
        stages[stage] = child(stage, run, landing, as_of, args, month=month, log=log)
    wall, steal = time.perf_counter() - t, steal_share(cpu_before, cpu_times())
    size = {"warehouse_bytes": (run / "warehouse.duckdb").stat().st_size,
            "analyst_bytes": (run / "analyst.duckdb").stat().st_size if (run / "analyst.duckdb").exists() else 0}
    return {"month": month, "period": period_of(month), "as_of": as_of.isoformat(), "stages": stages,
            "wall_s": round(wall, 1), "steal": steal, "cpu": cpu_name(), **size}


def median_run(runs: list[dict]) -> dict:
    """Of repeated timings of the same night (the same primed base, one after the other), the run with
    the median whole-night time, with every run's total in ``repeats``: these machines' speed drifts
    by 1.5x within an hour, so one run says little."""
    from nightly_report import night_total

    if len(runs) == 1:
        return runs[0]
    ranked = sorted(runs, key=lambda r: night_total(r)[0])
    chosen = dict(ranked[(len(ranked) - 1) // 2])
    if "pandas" not in chosen["stages"] and "pandas" in runs[0]["stages"]:
        chosen["stages"] = {**chosen["stages"], "pandas": runs[0]["stages"]["pandas"]}
    chosen["repeats"] = [{"seconds": round(night_total(r)[0], 1), "wall_s": r["wall_s"], "steal": r.get("steal"),
                          "peak_rss": night_total(r)[1],
                          "load_before": next(iter(r["stages"].values()))["load_before"],
                          "load_after": list(r["stages"].values())[-1]["load_after"]} for r in runs]
    return chosen


def history_night(run: Path, landing: Path, month: int, args, log: Path) -> dict:
    as_of = as_of_for(month)
    print(f"  history run_night as_of {as_of} (data through {period_of(month)}), load {loadavg()}", flush=True)
    out = child("night", run, landing, as_of, args, month=month, log=log)
    answer(run, landing, month, args, log)
    return out


def answer(run: Path, landing: Path, month: int, args, log: Path) -> dict | None:
    """Unless ``--no-answers``: the offices answer the extracts of the night of ``month`` (pipelines.demo's
    simulated departments: mostly confirming real trouble, some late, some never), so the next night reads
    feedback and the cases of a province whose offices work close -- without them every case of the
    history stays open and is escalated, which no real province's nights see."""
    if args.no_answers:
        return None
    return child("answer", run, landing, as_of_for(month), args, month=month, log=log)


def train(base: Path, landing: Path, month: int, args, log: Path) -> dict:
    """The monthly training (``lowincome model train``) on the history warehouse, timed per model."""
    return {name: child(f"train:{name}", base, landing, as_of_for(month), args, month=month, log=log)
            for name in ("eligibility", "triage")}


def load_history(root: Path, afterH: Path, landing: Path, H: int, args, log: Path, results: dict,
                 results_file: Path) -> None:
    """Months 3..H onto a copy of the month-2 run, cached as ``after_m<H>``: by one catch-up ``run_night``
    (``--history-step 0``, the default), or by one ``run_night`` per ``--history-step`` months, as the
    nights of a real province would (3M: one catch-up night of ten months would need ~3x the 8.6 GB it
    takes at 1M). A stepped load resumes from the last night it finished (``history/_month``)."""
    key = f"history_to_m{H}"
    step = args.history_step
    if not step:
        shutil.rmtree(afterH, ignore_errors=True)
        shutil.copytree(root / "run_m2", afterH, symlinks=True)
        (afterH / "_ok").unlink(missing_ok=True)  # copied from the month-2 run: complete only once the history is in
        results[key] = history_night(afterH, landing, H, args, log)
    else:
        work, mark = root / "history", root / "history" / "_month"
        done = int(mark.read_text()) if mark.exists() else None
        if done is None or results.get(key, {}).get("step") != step:
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(root / "run_m2", work, symlinks=True)
            (work / "_ok").unlink(missing_ok=True)
            done, results[key] = 2, {"step": step, "nights": []}
        while done < H:
            month = min(done + step, H)
            night = history_night(work, landing, month, args, log)
            results[key]["nights"].append({"month": month, **night})
            mark.write_text(f"{month}\n")
            results_file.write_text(json.dumps(results, indent=1, default=str))
            done = month
        nights = results[key]["nights"]
        results[key].update(seconds=round(sum(n["seconds"] for n in nights), 1),
                            peak_rss=max(n["peak_rss"] for n in nights), rows=sum(n.get("rows", 0) for n in nights),
                            load_before=nights[0]["load_before"], load_after=nights[-1]["load_after"])
        shutil.rmtree(afterH, ignore_errors=True)
        work.rename(afterH)
        (afterH / "_month").unlink(missing_ok=True)
    (afterH / "_ok").write_text("ok\n")
    results_file.write_text(json.dumps(results, indent=1, default=str))


def bench_size(label: str, args) -> dict:
    families = SIZES[label]
    root = Path(args.cache) / label
    root.mkdir(parents=True, exist_ok=True)
    log = root / "bench.log"
    results_file = root / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() and not args.rebuild else {}
    H = args.history_months
    results.update(size=label, families=families, history_months=H, timed_month=H + 1,
                   history_step=args.history_step, offices_answer=not args.no_answers)

    province = root / "province"
    if args.rebuild:
        for d in ("province", "after_m1", f"after_m{H}", "history", "run_m2", f"run_m{H + 1}"):
            shutil.rmtree(root / d, ignore_errors=True)
    if not (province / "_generated.ok").exists():
        print(f"[{label}] generating {families:,} roster families x {H + 1} months, load {loadavg()}", flush=True)
        t = time.perf_counter()
        cmd = [sys.executable, "-c",
               "import sys, resource, time; sys.path.insert(0, %r); from pipelines.synth import generate; "
               "from pathlib import Path; r = generate(Path(%r), households=%d, months=%d, seed=%d, start=%r); "
               "print(r.summary()); print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)"
               % (str(REPO), str(province), families, H + 1, SEED, START)]
        with open(log, "a") as lf:
            subprocess.run(cmd, check=True, stdout=lf, stderr=subprocess.STDOUT)
        (province / "_generated.ok").write_text(f"{families} {H + 1}\n")
        results["generate"] = {"seconds": round(time.perf_counter() - t, 1), "load_after": loadavg()}
    landing = province / "landing"
    results["landing_bytes"] = _du(landing)

    after1 = root / "after_m1"
    if not (after1 / "_ok").exists():
        shutil.rmtree(after1, ignore_errors=True)
        after1.mkdir(parents=True)
        results["month1"] = history_night(after1, landing, 1, args, log)
        (after1 / "_ok").write_text("ok\n")

    if "night_m2" not in results or args.rerun and not args.rerun_late or args.rerun_early:
        results["night_m2"] = timed_night("month 2", after1, root / "run_m2", landing, 2, args, log)
        answer(root / "run_m2", landing, 2, args, log)  # the history goes on from this night
        results_file.write_text(json.dumps(results, indent=1, default=str))

    afterH = root / f"after_m{H}"
    if not (afterH / "_ok").exists():
        load_history(root, afterH, landing, H, args, log, results, results_file)
    if "training" not in results or args.retrain:
        results["training"] = train(afterH, landing, H, args, log)
        results_file.write_text(json.dumps(results, indent=1, default=str))
    if args.history_only:
        return results

    # the first night after the monthly training is timed on its own key; it must run before an
    # ordinary night, whose priming scores the base with the new model
    key = f"night_m{H + 1}" + ("_after_training" if args.after_training else "")
    if key not in results or (args.rerun or args.rerun_late) and not args.rerun_early:
        earlier = results.get(key, {}).get("stages", {}).get("pandas")
        night_label = f"month {H + 1}" + (" (first night after the training)" if args.after_training else "")
        n = max(1, args.repeat)
        runs = [timed_night(night_label + (f" (run {i + 1} of {n})" if n > 1 else ""), afterH, root / f"run_m{H + 1}",
                            landing, H + 1, args, log, extra=() if args.no_pandas or i else ("pandas",))
                for i in range(n)]
        results[key] = median_run(runs)
        if args.no_pandas and earlier:
            # the baseline reads the same staged month and does not depend on this code: keep the
            # earlier run's timing of it rather than spend its minutes again
            results[key]["stages"]["pandas"] = {**earlier, "carried_over": True}
    results["machine"] = machine(args)
    results["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    results_file.write_text(json.dumps(results, indent=1, default=str))
    keep_results(label, results)
    if not args.keep_runs:
        shutil.rmtree(root / "run_m2", ignore_errors=True)
    return results


def bench_single_month(label: str, args) -> dict:
    """``--single-month``: for a province too large for pipelines.synth on this machine (3M roster persons x
    13 months peaked at 20.8 GB of 23.5 GiB in the generator; larger ones do not fit) -- one month of
    deliveries from bench/ingest_bench.py's vectorised generator (roster persons + twice as many other
    residents), after a setup night with the reference feeds. Times the first real month (data month 2026-09), stage by stage, like a night above."""
    import ingest_bench

    roster = int(label.rstrip("k")) * 1000
    root = Path(args.cache) / label
    root.mkdir(parents=True, exist_ok=True)
    log = root / "bench.log"
    results = {"size": label, "families": roster * 2 // 5, "history_months": 0, "timed_month": 1,
               "generator": f"bench/ingest_bench.py build(roster={roster:,}, residents={2 * roster:,}), one month"}
    prov = root / "onemonth"
    if args.rebuild or not (prov / "_ok").exists():
        shutil.rmtree(prov, ignore_errors=True)
        print(f"[{label}] generating one month (ingest_bench), load {loadavg()}", flush=True)
        t = time.perf_counter()
        cmd = [sys.executable, "-c", "import sys, resource; sys.path.insert(0, %r); sys.path.insert(0, %r); "
               "import ingest_bench; from pathlib import Path; c = ingest_bench.build(Path(%r), %d, %d); "
               "print('ROWS', sum(c.values())); print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)"
               % (str(REPO), str(REPO / "bench"), str(prov / "landing"), roster, 2 * roster)]
        with open(log, "a") as lf:
            subprocess.run(cmd, check=True, stdout=lf, stderr=subprocess.STDOUT)
        (prov / "_ok").write_text("ok\n")
        results["generate"] = {"seconds": round(time.perf_counter() - t, 1), "load_after": loadavg()}
    landing = prov / "landing"
    results["landing_bytes"] = _du(landing)
    base = root / "after_setup"
    if not (base / "_ok").exists():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        print(f"  setup night as_of {ingest_bench.AS_OF_REF} (reference feeds), load {loadavg()}", flush=True)
        results["setup"] = child("night", base, landing, ingest_bench.AS_OF_REF, args, log=log)
        (base / "_ok").write_text("ok\n")
    run = root / "run_m1"
    copy_run(base, run)
    as_of = ingest_bench.AS_OF
    print(f"  night month 1: data month {ingest_bench.PERIOD}, as_of {as_of}, load {loadavg()}", flush=True)
    stages, t = {}, time.perf_counter()
    for stage in night_stages():
        stages[stage] = child(stage, run, landing, as_of, args, log=log)
    results["night_m1"] = {"month": 1, "period": ingest_bench.PERIOD, "as_of": as_of.isoformat(), "stages": stages,
                           "wall_s": round(time.perf_counter() - t, 1),
                           "warehouse_bytes": (run / "warehouse.duckdb").stat().st_size,
                           "analyst_bytes": (run / "analyst.duckdb").stat().st_size if (run / "analyst.duckdb").exists() else 0}
    results["machine"] = machine(args)
    results["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    (root / "results.json").write_text(json.dumps(results, indent=1, default=str))
    keep_results(label, results)
    return results


def keep_results(label: str, results: dict) -> None:
    """A copy of a finished size's results in the repository (``bench/results/<size>.json``), so
    docs/performance.md can be re-rendered, and its numbers checked, without the cache."""
    kept = REPO / "bench" / "results"
    kept.mkdir(exist_ok=True)
    (kept / f"{label}.json").write_text(json.dumps(results, indent=1, default=str) + "\n")


# --- report -------------------------------------------------------------------------------------------

def machine(args=None) -> dict:
    import duckdb
    import great_expectations as gx
    import pandas
    import psutil
    import pyarrow

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"nproc": os.cpu_count(), "ram_gib": round(psutil.virtual_memory().total / 2**30, 1), "cpu": cpu,
            "python": platform.python_version(), "duckdb": duckdb.__version__, "gx": gx.__version__,
            "pandas": pandas.__version__, "pyarrow": pyarrow.__version__, "kernel": platform.release(),
            **_duckdb_resources(args)}


def _duckdb_resources(args) -> dict:
    """The DuckDB threads and memory_limit the stages ran with (the Settings defaults unless given)."""
    from dataclasses import fields

    from pipelines.config import Settings

    default = {f.name: f.default for f in fields(Settings)}
    return {"duckdb_threads": getattr(args, "threads", None) or default["duckdb_threads"],
            "duckdb_memory_limit": getattr(args, "memory_limit", None) or default["duckdb_memory_limit"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd")
    st = sub.add_parser("_stage", help="(internal) run one stage in this process")
    st.add_argument("stage")
    for a in ("--run", "--landing", "--as-of", "--hmac", "--result"):
        st.add_argument(a, required=True)
    st.add_argument("--month", type=int, default=0)
    st.add_argument("--full", action="store_true", help="analyst stage: a full build")
    st.add_argument("--threads", type=int)
    st.add_argument("--memory-limit")
    ap.add_argument("--sizes", default="100k", help="comma list of " + ", ".join(SIZES))
    ap.add_argument("--cache", default=str(DEFAULT_CACHE))
    ap.add_argument("--rebuild", action="store_true", help="regenerate the province and the cached warehouses")
    ap.add_argument("--rerun", action="store_true", help="re-time the nights even if results are cached")
    ap.add_argument("--history-months", type=int, default=12, help="months of history before the timed month")
    ap.add_argument("--history-step", type=int, default=0,
                    help="months per history night (default 0: months 3..H in one catch-up night)")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--memory-limit")
    ap.add_argument("--keep-runs", action="store_true")
    ap.add_argument("--history-only", action="store_true",
                    help="stop once the history warehouse is cached (time the late night later, on an idle machine)")
    ap.add_argument("--no-answers", action="store_true",
                    help="no simulated feedback between nights (every case stays open and is escalated)")
    ap.add_argument("--after-training", action="store_true",
                    help="time the first night after the monthly training (it re-scores the recent months and "
                         "re-evaluates the ELIG rules on them) instead of an ordinary night")
    ap.add_argument("--retrain", action="store_true", help="train the models on the history warehouse again")
    ap.add_argument("--rerun-late", action="store_true", help="re-time only the late night (month H+1)")
    ap.add_argument("--rerun-early", action="store_true",
                    help="re-time only month 2 (after a machine change: the two nights are compared)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="time the late night this many times; the run with the median total is kept, every total listed")
    ap.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline (it reads 13 months into memory)")
    ap.add_argument("--no-write-doc", action="store_true")
    ap.add_argument("--doc-only", action="store_true")
    ap.add_argument("--single-month", action="store_true",
                    help="one month from bench/ingest_bench.py's generator instead of pipelines.synth (for 3000k)")
    args = ap.parse_args(argv)

    if args.cmd == "_stage":
        out = _stage(args)
        Path(args.result).write_text(json.dumps(out, default=str))
        return 0

    if not args.doc_only:
        for label in args.sizes.split(","):
            (bench_single_month if args.single_month else bench_size)(label.strip(), args)
    if not args.no_write_doc:
        import nightly_report

        nightly_report.write(Path(args.cache), REPO / "docs" / "performance.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
