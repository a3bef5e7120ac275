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

Catalog v2 (``catalog="v2"``) changes the calendar and adds its own faults:

* ``mem_disaster`` is delivered every night from ``DISASTER_DAILY_SINCE`` (an empty file when nothing is
  new), each record with a ``status``; ``disaster_late_record`` (a record reported in the month after
  it happened), ``disaster_correction`` (a record corrected by a later delivery, same key),
  ``disaster_withdrawn`` (a record withdrawn by a later delivery) and ``same_day_redelivery`` (a day's
  folder rewritten in place two days later with a correction; the first version is kept under
  ``out/superseded/<feed>/<date>/`` and the night after the rewrite is in ``nights.txt``);
* ``cdpf_disability`` layout v2 from ``CDPF_V2_SINCE``; ``unannounced_column`` (a delivery with one
  more column the catalog does not announce); ``grid_visits`` layout v2 from ``GRID_V2_SINCE``.

In both catalogs: ``late_redelivery`` (a ``cdpf_disability`` period before ``CDPF_V2_SINCE`` re-delivered,
in its own v1 layout, after the first v2 delivery) and the ``moe_students`` mid-term deliveries. The two
new feeds ``mca_econ_checks`` and ``moa_relapse_watch`` are delivered with ``new_feeds`` (by default with
catalog v2; a catalog v1 reader ignores their folders).
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pipelines.synth import activity as act
from pipelines.synth.checks import CHECKS_SINCE, WATCH_SINCE
from pipelines.synth.common import month_first, month_str, parse_month, stream
from pipelines.synth.deliveries import FeedFiles
from pipelines.synth.population import Province
from pipelines.synth.writers import sha256_bytes, write_file, write_manifest

MONTHLY = ("mca_roster", "hrss_employment", "nhsa_claims", "samr_business", "mps_hukou_events",
           "mps_hukou_members", "mps_vehicles", "cdpf_disability", "mem_disaster")
NEW_FEEDS = ("mca_econ_checks", "moa_relapse_watch")
ALL_FEEDS = ("ref_regions", "ref_standards") + MONTHLY + ("moe_students", "mohurd_housing", "bank_deposits",
                                                         "grid_visits") + NEW_FEEDS
CATALOGS = ("v1", "v2")
CDPF_V2_SINCE = "2026-07"
GRID_V2_SINCE = "2026-07"
DISASTER_DAILY_SINCE = "2026-04"


@dataclass
class Delivery:
    feed_id: str
    period: str
    date: dt.date
    produced_at: str
    build: Callable[[], list]
    fault: str | None = None
    note: str = ""
    # a folder the department rewrote in place: the first version and when it was produced
    first_build: Callable[[], list] | None = None
    first_produced_at: str = ""

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
    extra_nights: list[dt.date] = field(default_factory=list)


def _produced(rng, date: dt.date, hour: int) -> str:
    return f"{date.isoformat()}T{hour:02d}:{int(rng.integers(0, 60)):02d}:{int(rng.integers(0, 60)):02d}+08:00"


def plan_deliveries(pv: Province, ff: FeedFiles, catalog: str = "v2", sizes=None,
                    new_feeds: bool = True) -> Plan:
    """Every delivery of the province, in the layouts and cadences of ``catalog`` ("v1": the feeds of
    catalog v1 as today's readers load them; "v2": catalog v2); with ``new_feeds``, also the feeds
    catalog v2 adds. ``sizes`` = (H, T) household sizes (the relapse watch's 家庭人口数)."""
    if catalog not in CATALOGS:
        raise ValueError(f"catalog must be one of {CATALOGS}, not {catalog!r}")
    v2 = catalog == "v2"
    rng = stream(pv.seed, "deliveries")
    cal, T = pv.cal, pv.T
    plan = Plan()
    t_daily = max(0, parse_month(DISASTER_DAILY_SINCE) - cal.start) if v2 else T
    cdpf_v2 = parse_month(CDPF_V2_SINCE)
    t_unannounced = (cdpf_v2 + 1 - cal.start) if v2 else None
    cdpf_dates = {}
    # what catalog v2 adds draws from its own stream: the catalog v1 calendar stays as it was
    rng2 = stream(pv.seed, "deliveries_v2")
    hour = {f: 1 + i % 5 for i, f in enumerate(ALL_FEEDS)}
    base_day = {f: int(rng.integers(1, 4)) for f in ALL_FEEDS if f not in NEW_FEEDS}
    base_day.update({f: int(rng2.integers(1, 4)) for f in NEW_FEEDS})

    def day_for(feed: str, r=rng) -> int:
        return min(6, base_day[feed] + int(r.integers(0, 3)))

    def add(feed, period_m, date, build, fault=None, note="", r=rng) -> Delivery:
        d = Delivery(feed, month_str(period_m), date, _produced(r, date, hour[feed]), build, fault, note)
        plan.deliveries.append(d)
        return d

    def add2(*a, **k) -> Delivery:
        return add(*a, **k, r=rng2)

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
                layout = 2 if v2 and m >= cdpf_v2 else 1
                extra = t == t_unannounced
                d = add(feed, m, date, lambda t=t, ly=layout, x=extra:
                        ff.cdpf_disability(t, lower=t % 2 == 0, layout=ly, unannounced=x))
                cdpf_dates[m] = date
                if extra:
                    plan.faults.append(Fault("unannounced_column", feed, d.delivery_id,
                                             "one more column (备注) than layout v2 announces; the data is valid"))
            elif feed == "mem_disaster" and t >= t_daily:
                _produced(rng, date, hour[feed])   # (the draw the monthly delivery would take)
                continue                      # delivered daily (catalog v2), below
            elif feed == "mem_disaster" and v2 and t == t_daily - 1:
                # the last monthly delivery comes on the 1st, before the first daily folder
                add(feed, m, nxt, lambda t=t: ff.mem_disaster(t))
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
        if m >= act.MIDTERM_SINCE_M:
            # the mid-term delivery, about 60 days into the term, with the aid granted since
            mid = month_first(m) + dt.timedelta(days=60 + int(rng2.integers(0, 4)))
            add2("moe_students", m, mid, lambda m=m: ff.moe_students(m, midterm=True), note="mid-term")

    # catalog v2 feeds (monthly, from their first period)
    for feed, since in (("mca_econ_checks", CHECKS_SINCE), ("moa_relapse_watch", WATCH_SINCE)):
        for t in range(max(0, parse_month(since) - cal.start), T if new_feeds else 0):
            m = cal.abs(t)
            date = month_first(m + 1) + dt.timedelta(days=day_for(feed, rng2) - 1)
            if feed == "mca_econ_checks":
                add2(feed, m, date, lambda t=t: ff.mca_econ_checks(t))
            else:
                add2(feed, m, date, lambda t=t: ff.moa_relapse_watch(t, sizes))

    # a cdpf period of layout v1 re-delivered (in v1) after the first layout v2 delivery
    late_m = cdpf_v2 - 2
    if cdpf_v2 in cdpf_dates and late_m in cdpf_dates:
        t_l = cal.t_of(late_m)
        date = cdpf_dates[cdpf_v2] + dt.timedelta(days=6)
        d = add2("cdpf_disability", late_m, date, lambda t=t_l: ff.cdpf_disability(t, lower=t % 2 == 0, layout=1))
        plan.faults.append(Fault("late_redelivery", "cdpf_disability", d.delivery_id,
                                 f"{month_str(late_m)} re-delivered after the {month_str(cdpf_v2)} delivery, "
                                 f"in the layout of its period (v1); same content"))

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
                layout = 2 if v2 and m >= parse_month(GRID_V2_SINCE) else 1
                add("grid_visits", m, date, lambda idx=idx, day=hi + 1, ly=layout: ff.grid_visits(idx, day, ly))
            start = end + 1

    if t_daily < T:
        _daily_disasters(pv, ff, plan, add2, t_daily)

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


def _daily_disasters(pv: Province, ff: FeedFiles, plan: Plan, add, t_daily: int) -> None:
    """Catalog v2: one ``mem_disaster`` delivery every night from month ``t_daily`` (folder D+1 holds
    what was reported on day D; period = the month of D), with the revisions of a live API."""
    rng = stream(pv.seed, "disaster_daily")
    cal, T = pv.cal, pv.T
    d = pv.rec["disasters"]
    idx = np.flatnonzero(d["t"] >= t_daily)
    idx = idx[np.lexsort((d["p"][idx], d["did"][idx]))]
    last_day = cal.last_day(T - 1)
    report = np.minimum(d["date"][idx] + rng.integers(0, 3, len(idx)).astype("timedelta64[D]"), last_day)
    routine = d["routine"][idx]
    by_day: dict = {}
    notes: list = []

    def put(day, rec, why=None):
        by_day.setdefault(np.datetime64(day, "D"), []).append(rec)
        if why:
            notes.append((np.datetime64(day, "D"), why))

    # one record reported late, in the month after it happened
    late = -1
    cand = np.flatnonzero(routine & (d["t"][idx] < T - 1))
    if len(cand):
        late = int(cand[np.argmax(d["date"][idx][cand])])
        t_l = int(d["t"][idx][late])
        report[late] = cal.first_day(t_l + 1) + np.timedelta64(1, "D")
    # a record first reported with another loss and corrected by a later delivery (same key)
    corr = -1
    cand = np.flatnonzero(routine & (report + np.timedelta64(4, "D") <= last_day))
    cand = cand[cand != late]
    if len(cand):
        corr = int(cand[len(cand) // 2])
    for j, i in enumerate(idx):
        rec = ff.disaster_record(int(i), status="active")
        if j == corr:
            first = ff.disaster_record(int(i), status="active", loss=int(d["loss"][i]) * 6 // 10 // 100 * 100)
            put(report[j], first)
            fix = report[j] + np.timedelta64(int(rng.integers(1, 5)), "D")
            put(fix, rec, ("disaster_correction", f"{rec['disaster_id']} / {rec['person_id']}: loss "
                                                  f"{first['loss_yuan']} corrected to {rec['loss_yuan']} yuan "
                                                  f"(first delivered for {report[j]})"))
            continue
        why = None
        if j == late:
            why = ("disaster_late_record", f"{rec['disaster_id']} / {rec['person_id']} happened on "
                                          f"{rec['occurred_on']}, reported in the next month")
        put(report[j], rec, why)
    # a record withdrawn after it was delivered (never in the monthly view of the data)
    months = [t for t in range(t_daily, T)]
    tw = months[len(months) // 2]
    pool = np.flatnonzero((np.arange(pv.H) >= pv.F) & ~pv.h_event)
    if len(pool) and cal.ndays(tw) > 12:
        h = int(pool[rng.integers(0, len(pool))])
        m = cal.abs(tw)
        day = cal.first_day(tw) + np.timedelta64(int(rng.integers(2, 8)), "D")
        w = act.disasters_table([f"MEM{m // 12:04d}{m % 12 + 1:02d}901"], [act.disaster_type_for(m % 12 + 1, rng)],
                                [day], [pv.h_head[h]], [tw], [act.NO_DAMAGE], [int(rng.integers(5, 30)) * 100_00],
                                [0], routine=False)
        put(day, ff.disaster_record(0, d=w, status="active"))
        later = day + np.timedelta64(int(rng.integers(2, 6)), "D")
        rec = ff.disaster_record(0, d=w, status="withdrawn")
        put(later, rec, ("disaster_withdrawn", f"{rec['disaster_id']} / {rec['person_id']} delivered on "
                                              f"{day + 1} and withdrawn (status withdrawn) by the delivery of "
                                              f"{later + 1}"))
    # every night a delivery, empty when nothing is new
    first_day = cal.first_day(t_daily)
    days = np.arange(first_day, last_day + np.timedelta64(1, "D"))
    rewrite_day = None
    busy = [x for x in days if len(by_day.get(x, [])) and x not in {n for n, _ in notes}]
    if busy:
        rewrite_day = busy[len(busy) // 3]
    produced = {}
    for day in days:
        recs = by_day.get(day, [])
        folder = (day + np.timedelta64(1, "D")).astype(object)
        m = int(day.astype("datetime64[M]").astype(np.int64)) + 1970 * 12
        dl = add("mem_disaster", m, folder, lambda day=day, recs=recs: ff.mem_disaster_day(day, recs))
        produced[day] = dl
        if day == rewrite_day:
            first = [dict(r) for r in recs]
            first[0]["loss_yuan"] = first[0]["loss_yuan"] + 1000
            dl.first_build = (lambda day=day, recs=first: ff.mem_disaster_day(day, recs))
            dl.first_produced_at = dl.produced_at
            again = folder + dt.timedelta(days=2)
            dl.produced_at = _produced(rng, again, 9)
            plan.extra_nights.append(again + dt.timedelta(days=1))
            plan.faults.append(Fault("same_day_redelivery", "mem_disaster", dl.delivery_id,
                                     f"the delivery for {day} was first produced at {dl.first_produced_at} (kept in "
                                     f"superseded/{dl.delivery_id}/), then rewritten in place at {dl.produced_at} "
                                     f"with a corrected loss for {first[0]['disaster_id']}"))
    for day, (fault, note) in notes:
        plan.faults.append(Fault(fault, "mem_disaster", produced[day].delivery_id, note))


@dataclass
class WriteStats:
    rows: dict = field(default_factory=dict)
    bytes: dict = field(default_factory=dict)
    deliveries: dict = field(default_factory=dict)
    files: int = 0


def _write_folder(folder: Path, d: Delivery, build, produced_at: str, stats: WriteStats | None) -> None:
    folder.mkdir(parents=True)
    entries = []
    for name, data, rows in build():
        write_file(folder / name, data)
        sha = sha256_bytes(data)
        if d.fault == "corrupt_sha256":
            sha = sha256_bytes(data + b"\n")
        if d.fault == "corrupt_rows":
            rows = rows + 7
        entries.append({"name": name, "rows": rows, "sha256": sha})
        if stats is not None:
            stats.files += 1
            stats.bytes[d.feed_id] = stats.bytes.get(d.feed_id, 0) + len(data)
            if d.fault is None:
                stats.rows[d.feed_id] = stats.rows.get(d.feed_id, 0) + rows
    if d.fault == "no_manifest":
        return
    write_manifest(folder, {"feed_id": d.feed_id, "period": d.period, "produced_at": produced_at, "files": entries})


def write_landing(landing: Path, plan: Plan) -> WriteStats:
    """Every delivery folder under ``landing``; the first version of a folder rewritten in place under
    ``landing/../superseded/``."""
    superseded = landing.parent / "superseded"
    for root in (landing, superseded):
        if root.exists():
            shutil.rmtree(root)
    stats = WriteStats()
    for d in plan.deliveries:
        folder = landing / d.feed_id / d.date.isoformat()
        if folder.exists():
            raise RuntimeError(f"two deliveries of {d.feed_id} on {d.date}")
        _write_folder(folder, d, d.build, d.produced_at, stats)
        stats.deliveries[d.feed_id] = stats.deliveries.get(d.feed_id, 0) + 1
        if d.first_build is not None:
            _write_folder(superseded / d.feed_id / d.date.isoformat(), d, d.first_build, d.first_produced_at, None)
    return stats


def nights(plan: Plan) -> list[dt.date]:
    return sorted({d.date + dt.timedelta(days=1) for d in plan.deliveries} | set(plan.extra_nights))
