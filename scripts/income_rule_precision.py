"""Today's income rules against true income, on a synthetic province whose income is partly hidden.

    uv run python scripts/income_rule_precision.py                       # 1,500 roster families, 13 months
    uv run python scripts/income_rule_precision.py --households 300 --keep --out /tmp/irp
    uv run python scripts/income_rule_precision.py --province DIR        # an existing province
    uv run python scripts/income_rule_precision.py --province DIR --warehouse FILE --out WORK
                                                   # re-evaluate a warehouse the province already ran into

Generates a province (``pipelines.synth``), runs one night over all of it (ingest, core, indicators; no cases or extracts), then scores
ELIG_DIBAO, ELIG_EDGE and EXP_HARDSHIP (``--indicators`` to choose) against ``truth_income.parquet``:

* **alert load**: warnings per 1,000 household-months, on ``partial`` household-months (some member's
  income unknown in some month of the rule's window: observed income is only a floor) and on ``full``
  ones, over the months the indicator was evaluated;
* **precision against true income**: a warning is correct when the household's true per-capita income,
  averaged over the rule's window, is below the line the rule tests — the 低保 standard (ELIG_DIBAO),
  the edge line of the household's city (ELIG_EDGE), or for EXP_HARDSHIP the standard after medical,
  education and disaster costs (true income net of them);
* **found**: of the household-months whose true income is below that line (and which the rule could
  warn: not excluded by category, evaluated), how many got a warning.

With ``--warehouse`` (e.g. the 1M nightly benchmark's ``after_m12/warehouse.duckdb``, whose history took
hours to load) the warehouse is copied into the work directory, its core is rebuilt with the current SQL
(every month, when the core SQL changed) and the chosen rules' warnings are evaluated afresh for every month (the copy's warnings of
those rules are dropped first, so a warning an earlier version raised and a case kept does not count):
the before and after of a rule change on the same data, without replaying the history.

The numbers are the pipeline's own: household composition, standards and costs from ``core``, the
warnings from ``mart.warnings``; only the income truth comes from the generator.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.evaluate import INCOME_RULES  # noqa: E402

def run_pipeline(province: Path, work: Path, indicators: list[str]):
    """One night over the whole landing zone: ingest, core and the chosen indicators."""
    from pipelines.config import load_settings
    from pipelines.nightly import run_night

    nights = [dt.date.fromisoformat(x) for x in (province / "nights.txt").read_text().split()]
    settings = load_settings(env={}, landing=province / "landing", warehouse=work / "wh" / "warehouse.duckdb",
                             outbox=work / "outbox", feedback=work / "feedback", show_progress=False)
    settings = settings.with_(extra={"allow_ephemeral_hmac_key": True})
    t0 = time.perf_counter()
    run_night(settings, nights[-1], skip=("cases", "feedback", "extracts", "analyst", "report"))
    return settings, time.perf_counter() - t0


def reevaluate(warehouse: Path, work: Path, indicators: list[str]):
    """A copy of ``warehouse`` with core brought up to the current SQL and ``indicators`` evaluated afresh."""
    import duckdb

    from pipelines.core import build_core
    from pipelines.indicators import compute_indicators
    from pipelines.rules import load_rules

    copy = work / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    t0 = time.perf_counter()
    con = duckdb.connect(str(copy))
    try:
        con.execute("delete from mart.warnings where indicator_code in (select unnest(?::varchar[]))", [indicators])
        con.execute("delete from mart.indicator_runs where indicator_code in (select unnest(?::varchar[]))", [indicators])
        build_core(con)  # the months whose SQL or inputs changed since the copy's last build: all, after a SQL change
        compute_indicators(con, load_rules(), indicators=indicators)
    finally:
        con.close()
    return copy, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=1500)
    ap.add_argument("--months", type=int, default=13)
    ap.add_argument("--seed", type=int, default=20261)
    ap.add_argument("--province", type=Path, help="score an existing province")
    ap.add_argument("--warehouse", type=Path, help="re-evaluate a copy of this warehouse (needs --province)")
    ap.add_argument("--out", type=Path, help="work directory (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--indicators", default=",".join(INCOME_RULES))
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    args = ap.parse_args(argv)
    indicators = [x.strip() for x in args.indicators.split(",") if x.strip()]
    unknown = set(indicators) - set(INCOME_RULES)
    if unknown:
        ap.error(f"unknown indicator(s) {sorted(unknown)}; known: {sorted(INCOME_RULES)}")
    if args.warehouse and not args.province:
        ap.error("--warehouse needs --province (the province whose truth_income.parquet scores it)")

    import duckdb

    from pipelines.evaluate import income_rule_report, render_income_rules

    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="income_rules_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        if args.province:
            province = args.province
        else:
            from pipelines.synth import generate

            province = work / "province"
            generate(out=province, households=args.households, months=args.months, seed=args.seed)
        t_gen = time.perf_counter() - t0
        if args.warehouse:
            warehouse, t_run = reevaluate(args.warehouse, work, indicators)
        else:
            settings, t_run = run_pipeline(province, work, indicators)
            warehouse = settings.warehouse
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            results = income_rule_report(con, province / "truth_income.parquet", indicators)
            n, partial = con.execute(
                "select count(*), count(*) filter (where observed_coverage = 'partial') from core.household_month "
                "join read_parquet(?) using (household_id, period)", [str(province / "truth_income.parquet")]
            ).fetchone()
        finally:
            con.close()
        meta = {"households": args.households, "months": args.months, "seed": args.seed, "household_months": n,
                "partial_share": partial / n if n else 0.0, "generate_s": round(t_gen, 1), "run_s": round(t_run, 1)}
        print(render_income_rules(results, meta))
        print(f"\n(generated in {t_gen:.0f} s, pipeline {t_run:.0f} s; work dir {work})")
        if args.json:
            args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8")
    finally:
        if not args.keep and not args.out:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
