"""``generate()``: population -> routine activity -> baseline cleaning -> events -> truth -> landing."""

from __future__ import annotations

import csv
import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.synth import activity, checks, events, faults, income, referrals, truth
from pipelines.synth.common import Calendar, parse_month
from pipelines.synth.deliveries import FeedFiles
from pipelines.synth.population import build_population
from pipelines.synth.regions import build_regions


# The catalog the deliveries follow when ``generate()`` is not told: "v1" while the pipeline's readers
# are those of catalog v1 (they reject the v2 layouts of cdpf_disability, grid_visits and the daily
# mem_disaster with its status); "v2" once the catalog v2 readers are in.
DEFAULT_CATALOG = "v2"


@dataclass
class SynthResult:
    out: Path
    landing: Path
    truth: Path
    faults: Path
    nights: list[dt.date]
    truth_income: Path | None = None
    catalog: str = DEFAULT_CATALOG
    households: int = 0
    roster_persons: int = 0
    persons: int = 0
    hukou_households: int = 0
    months: int = 0
    start: str = ""
    seed: int = 0
    events: dict = field(default_factory=dict)
    truth_counts: dict = field(default_factory=dict)
    fault_counts: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)
    bytes: dict = field(default_factory=dict)
    deliveries: dict = field(default_factory=dict)
    near_misses: int = 0
    cleaned_households: int = 0
    issues: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    income: dict = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            f"synthetic province (seed {self.seed}) written to {self.out}",
            f"  {self.months} months from {self.start}; {self.households:,} roster families "
            f"({self.roster_persons:,} persons), {self.hukou_households:,} other hukou households; "
            f"{self.persons:,} residents in all",
            f"  deliveries: {sum(self.deliveries.values()):,} folders, "
            f"{sum(self.bytes.values()) / 1e6:,.1f} MB; nights to run: {len(self.nights)} "
            f"({self.nights[0] if self.nights else '-'} .. {self.nights[-1] if self.nights else '-'})",
            "  events: " + ", ".join(f"{k} {v}" for k, v in sorted(self.events.items())),
            "  truth rows (required / possible): " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in self.truth_counts.items()),
            "  faults: " + ", ".join(f"{k} {v}" for k, v in sorted(self.fault_counts.items())),
            f"  near misses (must raise nothing): {self.near_misses}",
        ]
        lines += self.income_lines()
        if self.issues:
            lines.append("  SELF-CHECK ISSUES: " + "; ".join(self.issues))
        else:
            lines.append("  self-check: no ordinary household comes within 20% of a threshold (the v2 income rules, "
                         "TEKUN_CANDIDATE and RELAPSE_RISK: nothing on the near misses)")
        lines.append("  " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items()))
        return "\n".join(lines)

    def income_lines(self) -> list[str]:
        """Coverage shares and today's income rules on hidden income (see truth.income_stats)."""
        st = self.income
        if not st:
            return []
        cov = st["coverage"]

        def share(key):
            v, n = cov[key]
            return f"{v:.0%} of {n:,}"

        def v2(name, a, b, below):
            return f"{name} {a:,}/{b:,}" + (f" ({below:,} truly below)" if below is not None else "")

        lines = [f"  catalog {self.catalog}; income coverage, partial household-months (observed income a floor): "
                 f"rural {share('rural_all')} (roster {share('rural_roster')}, other {share('rural_other')}), "
                 f"urban {share('urban_all')} (roster {share('urban_roster')}, other {share('urban_other')})",
                 f"  hidden income in {st['hidden_households']:,} ordinary households; {st['signals']:,} hardship signals",
                 "  the v2 income rules on households without an injected event (household-months / households; truth "
                 "rows of their own): " + ", ".join(v2(k, *v) for k, v in st["v2"].items())]
        return lines


def generate(out: Path, households: int = 2000, months: int = 13, seed: int = 20261,
             start: str = "2025-10", catalog: str | None = None, new_feeds: bool | None = None) -> SynthResult:
    """Write a synthetic province (docs/architecture.md, "Synthetic province contract").

    ``catalog`` = "v1" | "v2": the layouts and cadences of the deliveries (default ``DEFAULT_CATALOG``);
    ``new_feeds``: also deliver the feeds catalog v2 adds (``mca_econ_checks``, ``moa_relapse_watch``),
    by default with catalog v2 only. The province itself (people, incomes, events, truth, checks) is the
    same whatever the catalog."""
    catalog = catalog or DEFAULT_CATALOG
    new_feeds = (catalog == "v2") if new_feeds is None else bool(new_feeds)
    if catalog not in faults.CATALOGS:
        raise ValueError(f"catalog must be one of {faults.CATALOGS}, not {catalog!r}")
    if households < 50:
        raise ValueError("households must be at least 50 (events need room)")
    if months < 1:
        raise ValueError("months must be at least 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timings = {}
    t0 = time.perf_counter()

    def lap(name):
        nonlocal t0
        now = time.perf_counter()
        timings[name] = now - t0
        t0 = now

    cal = Calendar(parse_month(start), int(months))
    regions = build_regions(seed, cal)
    pv = build_population(seed, cal, regions, households)
    lap("population")
    activity.build_routine(pv)
    cleaned = truth.clean_baseline(pv)
    lap("activity")
    counts = events.inject_events(pv)
    activity.midterm_aid(pv)
    lap("events")
    hm = truth.household_months(pv)
    checks.build_checks(pv, hm)
    book = checks.build_check_book(pv, hm)
    checks.build_watch(pv, hm)
    truth.add_income_facts(pv, hm)
    rows, issues, hm = truth.build_truth(pv, hm)
    more, more_issues = referrals.referral_truth(pv, hm)
    rows += more
    issues += more_issues
    truth_income_path = out / "truth_income.parquet"
    income.write_truth_income(pv, hm, truth_income_path)
    lap("truth")

    ff = FeedFiles(pv)
    ff.write_check_book(book, out / "check_book.parquet")
    del book
    plan = faults.plan_deliveries(pv, ff, catalog, sizes=hm.size, new_feeds=new_feeds)
    del hm
    landing = out / "landing"
    stats = faults.write_landing(landing, plan)
    lap("write")

    truth_path = out / "truth.csv"
    with open(truth_path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(truth.TRUTH_COLUMNS)
        for r in sorted(rows, key=lambda r: (r.event_id, r.household_id, r.period, r.indicator_code)):
            w.writerow(r.as_list())
    faults_path = out / "faults.csv"
    with open(faults_path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["fault", "feed_id", "delivery_id", "note"])
        for x in plan.faults:
            w.writerow([x.fault, x.feed_id, x.delivery_id, x.note])
    with open(out / "near_misses.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["kind", "household_id", "person_id", "period", "note"])
        for nm in pv.near_misses:
            w.writerow([nm.kind, pv.household_id(nm.household), pv.p_id[nm.person], pv.cal.period(nm.t), nm.note])
    nights = faults.nights(plan)
    (out / "nights.txt").write_text("".join(f"{n.isoformat()}\n" for n in nights), encoding="utf-8")

    return SynthResult(
        out=out, landing=landing, truth=truth_path, faults=faults_path, nights=nights,
        truth_income=truth_income_path, catalog=catalog, income=pv.income_stats,
        households=pv.F, roster_persons=int((pv.p_hh < pv.F).sum()), persons=pv.P, hukou_households=pv.H - pv.F,
        months=cal.T, start=start, seed=seed, events=counts, truth_counts=truth.first_warning_summary(rows),
        fault_counts=dict(Counter(x.fault for x in plan.faults)), rows=stats.rows, bytes=stats.bytes,
        deliveries=stats.deliveries, near_misses=len(pv.near_misses), cleaned_households=cleaned, issues=issues,
        timings=timings,
    )
