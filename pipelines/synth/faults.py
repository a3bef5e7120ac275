"""The delivery calendar and the delivery faults.

A monthly feed's data for period P arrives in the first days of P+1 (folder date P+1-01..06);
quarterly snapshots and school terms likewise after their month; grid visits every 2-4 days;
reference data just before the first deliveries. Then the things that go wrong, each listed in
``faults.csv``:

* ``redelivery`` — a second folder with a later date for the same period, some rows corrected;
* ``corrupt_sha256`` / ``corrupt_rows`` — a file that does not match its manifest; the department
  sends a valid re-delivery a few days later (so nothing the ground truth needs is lost);
* ``no_manifest`` — an upload that never finished (a truncated file, no manifest); the complete
  delivery follows in a new folder;
* ``late`` — a period delivered after the next period's delivery;
* ``claim_reversal`` — settlements reversed (冲销) within the same delivery (ordinary data).
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pipelines.synth.common import month_first, month_str, stream
from pipelines.synth.deliveries import FeedFiles
from pipelines.synth.population import Province
from pipelines.synth.writers import sha256_bytes, write_file, write_manifest

MONTHLY = ("mca_roster", "hrss_employment", "nhsa_claims", "samr_business", "mps_hukou_events",
           "mps_hukou_members", "mps_vehicles", "cdpf_disability", "mem_disaster")
ALL_FEEDS = ("ref_regions", "ref_standards") + MONTHLY + ("moe_students", "mohurd_housing", "bank_deposits",
                                                         "grid_visits")


@dataclass
class Delivery:
    feed_id: str
    period: str
    date: dt.date
    produced_at: str
    build: Callable[[], list]
    fault: str | None = None
    note: str = ""

    @property
    def delivery_id(self) -> str:
        return f"{self.feed_id}/{self.date.isoformat()}"


@dataclass
class Fault:
    fault: str
    feed_id: str
    delivery_id: str
    note: str


@dataclass
class Plan:
    deliveries: list[Delivery] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


def _produced(rng, date: dt.date, hour: int) -> str:
    return f"{date.isoformat()}T{hour:02d}:{int(rng.integers(0, 60)):02d}:{int(rng.integers(0, 60)):02d}+08:00"


def plan_deliveries(pv: Province, ff: FeedFiles) -> Plan:
    rng = stream(pv.seed, "deliveries")
    cal, T = pv.cal, pv.T
    plan = Plan()
    hour = {f: 1 + i % 5 for i, f in enumerate(ALL_FEEDS)}
    base_day = {f: int(rng.integers(1, 4)) for f in ALL_FEEDS}

    def day_for(feed: str) -> int:
        return min(6, base_day[feed] + int(rng.integers(0, 3)))

    def add(feed, period_m, date, build, fault=None, note="") -> Delivery:
        d = Delivery(feed, month_str(period_m), date, _produced(rng, date, hour[feed]), build, fault, note)
        plan.deliveries.append(d)
        return d

    # choose the months that go wrong (spread over the period; all within the data)
    t_redeliver = T // 3
    t_corrupt = T // 2
    t_rows = max(0, T // 2 - 1) if T > 2 else None
    t_partial = max(0, T // 4)
    t_late = T - 3 if T >= 3 else None

    # reference data: in force from the first month any delivery describes
    first_m = min([cal.start] + cal.quarter_months + cal.term_months)
    ref_date = month_first(first_m + 1) - dt.timedelta(days=3)
    add("ref_regions", first_m, ref_date, ff.ref_regions)
    add("ref_standards", first_m, ref_date, ff.ref_standards)

    # monthly feeds
    days = {(f, t): day_for(f) for f in MONTHLY for t in range(T)}
    for t in range(T):
        m = cal.abs(t)
        nxt = month_first(m + 1)
        for feed in MONTHLY:
            date = nxt + dt.timedelta(days=days[(feed, t)] - 1)
            if feed == "mca_roster":
                bom = t % 2 == 1
                if t == t_redeliver:
                    r1 = stream(pv.seed, f"redeliver{t}")
                    first = add(feed, m, date, lambda t=t, b=bom, r=r1: ff.mca_roster(t, bom=b, alter=0.01, rng=r))
                    d2 = nxt + dt.timedelta(days=days[(feed, t)] + 3)
                    second = add(feed, m, d2, lambda t=t: ff.mca_roster(t, bom=True))
                    plan.faults.append(Fault("redelivery", feed, second.delivery_id,
                                             f"corrects {first.delivery_id} (names and benefits of ~1% of rows); "
                                             f"same period {month_str(m)}, later folder date"))
                    continue
                add(feed, m, date, lambda t=t, b=bom: ff.mca_roster(t, bom=b))
            elif feed == "hrss_employment":
                if t == t_corrupt:
                    bad = add(feed, m, date, lambda t=t: ff.hrss_employment(t), fault="corrupt_sha256")
                    d2 = nxt + dt.timedelta(days=days[(feed, t)] + 4)
                    good = add(feed, m, d2, lambda t=t: ff.hrss_employment(t))
                    plan.faults.append(Fault("corrupt_sha256", feed, bad.delivery_id,
                                             "manifest sha256 does not match the file; must be rejected"))
                    plan.faults.append(Fault("redelivery", feed, good.delivery_id,
                                             f"valid re-delivery of {month_str(m)} after the corrupt {bad.delivery_id}"))
                    continue
                add(feed, m, date, lambda t=t: ff.hrss_employment(t))
            elif feed == "nhsa_claims":
                if t == t_partial:
                    part = add(feed, m, date, lambda t=t: ff.nhsa_claims(t, truncate=True), fault="no_manifest")
                    d2 = nxt + dt.timedelta(days=days[(feed, t)] + 1)
                    add(feed, m, d2, lambda t=t: ff.nhsa_claims(t))
                    plan.faults.append(Fault("no_manifest", feed, part.delivery_id,
                                             "upload never finished: truncated file, no manifest.json; the complete "
                                             f"delivery of {month_str(m)} follows in a later folder"))
                    continue
                add(feed, m, date, lambda t=t: ff.nhsa_claims(t))
            elif feed == "mps_vehicles":
                lower = t % 3 == 2
                if t == t_rows:
                    bad = add(feed, m, date, lambda t=t, lw=lower: ff.mps_vehicles(t, lower=lw), fault="corrupt_rows")
                    d2 = nxt + dt.timedelta(days=days[(feed, t)] + 2)
                    good = add(feed, m, d2, lambda t=t, lw=lower: ff.mps_vehicles(t, lower=lw))
                    plan.faults.append(Fault("corrupt_rows", feed, bad.delivery_id,
                                             "manifest row count does not match the file; must be rejected"))
                    plan.faults.append(Fault("redelivery", feed, good.delivery_id,
                                             f"valid re-delivery of {month_str(m)} after {bad.delivery_id}"))
                    continue
                add(feed, m, date, lambda t=t, lw=lower: ff.mps_vehicles(t, lower=lw))
            elif feed == "samr_business":
                if t == t_late:
                    # arrives after the next month's delivery
                    nd = month_first(m + 2) + dt.timedelta(days=days[(feed, t + 1)] + 1)
                    late = add(feed, m, nd, lambda t=t: ff.samr_business(t))
                    plan.faults.append(Fault("late", feed, late.delivery_id,
                                             f"{month_str(m)} delivered after the {month_str(m + 1)} delivery"))
                    continue
                add(feed, m, date, lambda t=t: ff.samr_business(t))
            elif feed == "cdpf_disability":
                add(feed, m, date, lambda t=t: ff.cdpf_disability(t, lower=t % 2 == 0))
            else:
                add(feed, m, date, lambda t=t, f=feed: getattr(ff, f)(t))

    # quarterly snapshots and terms (including the one in force when the data starts)
    for i, m in enumerate(cal.quarter_months):
        date = month_first(m + 1) + dt.timedelta(days=day_for("mohurd_housing") - 1)
        add("mohurd_housing", m, date, lambda m=m, i=i: ff.mohurd_housing(m, style=i))
        date = month_first(m + 1) + dt.timedelta(days=day_for("bank_deposits") - 1)
        add("bank_deposits", m, date, lambda m=m: ff.bank_deposits(m))
    for m in cal.term_months:
        date = month_first(m + 1) + dt.timedelta(days=day_for("moe_students") - 1)
        add("moe_students", m, date, lambda m=m: ff.moe_students(m))

    # grid visits: a delivery every 2-4 days, never spanning two months
    v = pv.rec["visits"]
    grid_rng = stream(pv.seed, "grid")
    for t in range(T):
        m = cal.abs(t)
        first = np.datetime64(month_first(m), "D")
        nd = cal.ndays(t)
        start = 0
        while start < nd:
            end = min(nd - 1, start + int(grid_rng.integers(1, 4)))
            lo, hi = first + start, first + end
            idx = np.flatnonzero((v["date"] >= lo) & (v["date"] <= hi))
            if len(idx):
                date = (hi + 1).astype(object)
                add("grid_visits", m, date, lambda idx=idx, day=hi + 1: ff.grid_visits(idx, day))
            start = end + 1

    # claim reversals: listed against the delivery that carries them
    c = pv.rec["claims"]
    rev_t = np.unique(c["t"][c["rev"] >= 0])
    valid = {(d.feed_id, d.period): d for d in plan.deliveries if d.fault is None}
    for t in rev_t:
        d = valid[("nhsa_claims", cal.period(int(t)))]
        n = int(((c["rev"] >= 0) & (c["t"] == t)).sum())
        plan.faults.append(Fault("claim_reversal", "nhsa_claims", d.delivery_id,
                                 f"{n} settlement(s) reversed in the same month (negative amounts, reversal_of)"))
    plan.deliveries.sort(key=lambda d: (d.date, d.feed_id, d.produced_at))
    return plan


@dataclass
class WriteStats:
    rows: dict = field(default_factory=dict)
    bytes: dict = field(default_factory=dict)
    deliveries: dict = field(default_factory=dict)
    files: int = 0


def write_landing(landing: Path, plan: Plan) -> WriteStats:
    if landing.exists():
        shutil.rmtree(landing)
    stats = WriteStats()
    for d in plan.deliveries:
        folder = landing / d.feed_id / d.date.isoformat()
        if folder.exists():
            raise RuntimeError(f"two deliveries of {d.feed_id} on {d.date}")
        folder.mkdir(parents=True)
        entries = []
        for name, data, rows in d.build():
            write_file(folder / name, data)
            sha = sha256_bytes(data)
            if d.fault == "corrupt_sha256":
                sha = sha256_bytes(data + b"\n")
            if d.fault == "corrupt_rows":
                rows = rows + 7
            entries.append({"name": name, "rows": rows, "sha256": sha})
            stats.files += 1
            stats.bytes[d.feed_id] = stats.bytes.get(d.feed_id, 0) + len(data)
            if d.fault is None:
                stats.rows[d.feed_id] = stats.rows.get(d.feed_id, 0) + rows
        stats.deliveries[d.feed_id] = stats.deliveries.get(d.feed_id, 0) + 1
        if d.fault == "no_manifest":
            continue
        write_manifest(folder, {"feed_id": d.feed_id, "period": d.period, "produced_at": d.produced_at,
                                "files": entries})
    return stats


def nights(plan: Plan) -> list[dt.date]:
    return sorted({d.date + dt.timedelta(days=1) for d in plan.deliveries})
