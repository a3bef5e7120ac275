"""Today's income rules against true income, on a synthetic province whose income is partly hidden.

    uv run python scripts/income_rule_precision.py                       # 1,500 roster families, 13 months
    uv run python scripts/income_rule_precision.py --households 300 --keep --out /tmp/irp
    uv run python scripts/income_rule_precision.py --province DIR        # an existing province (catalog v1)

Generates a province (``pipelines.synth``, catalog v1 layouts so the pipeline's catalog v1 readers load
it), runs one night over all of it (ingest, core, indicators; no cases or extracts), then scores
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

# rule -> (window of months M-k..M, categories the rule leaves out, roster families only/none/all)
RULES = {
    "ELIG_DIBAO": (2, ("dibao", "tekun"), "all"),
    "ELIG_EDGE": (2, (), "off_roster"),
    "EXP_HARDSHIP": (11, ("dibao", "tekun", "expense_hardship"), "all"),
}


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


def score(con, truth_income: Path, indicators: list[str]) -> list[dict]:
    from pipelines.rules import load_rules

    rules = load_rules()
    con.execute("create or replace temp table ti as select household_id, period, size,"
                " true_income_yuan::double as true_income, observed_coverage from read_parquet(?)",
                [str(truth_income)])
    cities = [r[0] for r in con.execute("select distinct city_code from core.household_month").fetchall()]
    con.execute("create or replace temp table edge(city_code varchar, mult double)")
    con.executemany("insert into edge values (?, ?)", [(c, rules.edge_multiplier_for(c)) for c in cities])
    out = []
    for code in indicators:
        k, excluded, who = RULES[code]
        excl = ", ".join(f"'{c}'" for c in excluded)
        eligible = f"coalesce(m.category, '') not in ({excl})" if excluded else "true"
        rows = con.execute(
            f"""
            with hm as (
                select h.household_id, h.period, h.month_idx, h.size as core_size, h.dibao_std_yuan::double as std,
                       h.category, h.on_roster, coalesce(e.mult, {rules.edge_multiplier}) as mult,
                       coalesce(h.oop_yuan, 0)::double + coalesce(h.edu_cost_yuan, 0)::double
                         + coalesce(h.disaster_loss_yuan, 0)::double as costs,
                       ti.true_income, ti.size, ti.observed_coverage
                from core.household_month h
                left join ti using (household_id, period)
                left join edge e using (city_code)),
            evaluated as (select distinct period from mart.indicator_runs where indicator_code = '{code}'),
            cand as (
                select m.household_id, m.period, m.std, m.mult,
                       {eligible} as eligible, m.on_roster,
                       (select bool_or(w.observed_coverage = 'partial') from hm w
                         where w.household_id = m.household_id and w.month_idx between m.month_idx - {k}
                           and m.month_idx) as partial,
                       (select avg(w.true_income / w.size) from hm w
                         where w.household_id = m.household_id and w.month_idx between m.month_idx - {k}
                           and m.month_idx and w.size > 0) as true_pc,
                       (select avg((w.true_income - w.costs) / w.size) from hm w
                         where w.household_id = m.household_id and w.month_idx between m.month_idx - {k}
                           and m.month_idx and w.size > 0) as net_pc,
                       (select count(*) from hm w where w.household_id = m.household_id
                          and w.month_idx between m.month_idx - {k} and m.month_idx and w.true_income is null)
                         as untracked
                from hm m join evaluated using (period)),
            warned as (select distinct household_id, period from mart.warnings where indicator_code = '{code}')
            select c.partial, w.household_id is not null as warned,
                   case '{code}' when 'ELIG_DIBAO' then c.true_pc < c.std
                                 when 'ELIG_EDGE' then c.true_pc < c.mult * c.std
                                 else c.net_pc < c.std end as below,
                   c.eligible and ('{who}' = 'all' or not c.on_roster) as can_warn,
                   count(*)
            from cand c left join warned w using (household_id, period)
            where c.untracked = 0
            group by all
            """
        ).fetchall()
        untracked = con.execute(
            f"""select count(*) from mart.warnings w where indicator_code = '{code}' and not exists (
                    select 1 from ti where ti.household_id = w.household_id and ti.period = w.period)""").fetchone()[0]
        for cls in (True, False):
            sel = [r for r in rows if bool(r[0]) == cls]
            hm_n = sum(r[4] for r in sel)
            warned = sum(r[4] for r in sel if r[1])
            correct = sum(r[4] for r in sel if r[1] and r[2])
            below = sum(r[4] for r in sel if r[2] and r[3])
            found = sum(r[4] for r in sel if r[2] and r[3] and r[1])
            out.append({"indicator": code, "coverage": "partial" if cls else "full", "household_months": hm_n,
                        "warnings": warned, "per_1000": 1000.0 * warned / hm_n if hm_n else 0.0,
                        "correct": correct, "precision": correct / warned if warned else None,
                        "truly_below": below, "found": found, "untracked_warnings": untracked})
    return out


def render(results: list[dict], meta: dict) -> str:
    lines = [f"Income rules against true income — {meta['households']:,} roster families, {meta['months']} months, "
             f"seed {meta['seed']}; {meta['household_months']:,} household-months evaluated "
             f"({meta['partial_share']:.0%} partial).", "",
             "| indicator | coverage | household-months | warnings | per 1,000 hh-months | correct (true income) "
             "| precision | truly below | found |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        prec = f"{r['precision']:.0%}" if r["precision"] is not None else "–"
        lines.append(f"| {r['indicator']} | {r['coverage']} | {r['household_months']:,} | {r['warnings']:,} | "
                     f"{r['per_1000']:.1f} | {r['correct']:,} | {prec} | {r['truly_below']:,} | {r['found']:,} |")
    by_ind = {}
    for r in results:
        a = by_ind.setdefault(r["indicator"], [0, 0, 0])
        a[0] += r["warnings"]
        a[1] += r["correct"]
        a[2] += r["household_months"]
    lines.append("")
    for code, (w, c, n) in by_ind.items():
        lines.append(f"{code}: {w:,} warnings, {1000.0 * w / n if n else 0:.1f} per 1,000 household-months, "
                     f"precision {c / w if w else float('nan'):.0%} against true income")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=1500)
    ap.add_argument("--months", type=int, default=13)
    ap.add_argument("--seed", type=int, default=20261)
    ap.add_argument("--province", type=Path, help="score an existing province (generated with catalog v1)")
    ap.add_argument("--out", type=Path, help="work directory (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--indicators", default=",".join(RULES))
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    args = ap.parse_args(argv)
    indicators = [x.strip() for x in args.indicators.split(",") if x.strip()]
    unknown = set(indicators) - set(RULES)
    if unknown:
        ap.error(f"unknown indicator(s) {sorted(unknown)}; known: {sorted(RULES)}")

    import duckdb

    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="income_rules_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        if args.province:
            province = args.province
        else:
            from pipelines.synth import generate

            province = work / "province"
            generate(out=province, households=args.households, months=args.months, seed=args.seed, catalog="v1")
        t_gen = time.perf_counter() - t0
        settings, t_run = run_pipeline(province, work, indicators)
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        try:
            results = score(con, province / "truth_income.parquet", indicators)
            n, partial = con.execute(
                "select count(*), count(*) filter (where observed_coverage = 'partial') from core.household_month "
                "join read_parquet(?) using (household_id, period)", [str(province / "truth_income.parquet")]
            ).fetchone()
        finally:
            con.close()
        meta = {"households": args.households, "months": args.months, "seed": args.seed, "household_months": n,
                "partial_share": partial / n if n else 0.0, "generate_s": round(t_gen, 1), "run_s": round(t_run, 1)}
        print(render(results, meta))
        print(f"\n(generated in {t_gen:.0f} s, pipeline {t_run:.0f} s; work dir {work})")
        if args.json:
            args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8")
    finally:
        if not args.keep and not args.out:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
