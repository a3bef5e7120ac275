"""The hardship signals of the synthetic province, as the pipeline's ``core.hardship_signal`` will find
them in the deliveries (docs/indicators.md, "Hardship signals"), and what the income rules of catalog v2
read beside the income: the economic checks' dates and assets, the relapse watch.

One row per signal: the household it concerns in its month (a death: the deceased's household of the
month before), the month index, the date, the kind, the person and the risk types it stands for on the
relapse watch. Built from the generator's own records after the events, the checks and the watch.
"""

from __future__ import annotations

import numpy as np

from pipelines.synth import activity as act
from pipelines.synth.common import Cols
from pipelines.synth.population import UNEMPLOYED, Province

KINDS = ("catastrophic_settlement", "medical_oop_3m", "severe_disability_first_certificate", "death_working_age",
         "became_unemployed", "disaster_house_damage", "grid_finding", "relapse_listing")
(CATASTROPHIC, MEDICAL_3M, DISABILITY, DEATH, UNEMPLOYMENT, DISASTER, GRID, LISTING) = range(len(KINDS))
HARD_FINDINGS = ("illness", "job_loss", "disability", "house_damage", "death")
SIGNAL_MONTHS = 6


class Members:
    """(person, month) -> household of the membership pairs (the first one when a person is listed twice)."""

    def __init__(self, members: tuple, T: int):
        mh, mp, mt = members
        key = mp.astype(np.int64) * T + mt
        order = np.argsort(key, kind="stable")
        self.key, self.h, self.T = key[order], mh[order].astype(np.int64), T

    def of(self, p: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Household of each person in each month, -1 where the person is in none."""
        p, t = np.asarray(p, np.int64), np.asarray(t, np.int64)
        out = np.full(len(p), -1, np.int64)
        ok = (t >= 0) & (t < self.T)
        k = p[ok] * self.T + t[ok]
        i = np.searchsorted(self.key, k)
        i = np.minimum(i, len(self.key) - 1)
        hit = self.key[i] == k if len(self.key) else np.zeros(len(k), bool)
        res = np.full(len(k), -1, np.int64)
        res[hit] = self.h[i[hit]]
        out[ok] = res
        return out


def age_at(pv: Province, p: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whole years from birth to ``day``, as the pipeline counts them (the year difference, less one
    when the birthday -- month and day -- is still to come)."""
    b = pv.p_birth[p].astype("datetime64[D]")
    day = np.asarray(day, "datetime64[D]")
    years = day.astype("datetime64[Y]").astype(np.int64) - b.astype("datetime64[Y]").astype(np.int64)
    bm, dm = b.astype("datetime64[M]").astype(np.int64) % 12, day.astype("datetime64[M]").astype(np.int64) % 12
    bd = (b - b.astype("datetime64[M]")).astype(np.int64)
    dd = (day - day.astype("datetime64[M]")).astype(np.int64)
    return years - ((bm > dm) | ((bm == dm) & (bd > dd))).astype(np.int64)


def build_signals(pv: Province, hm) -> Cols:
    """The hardship signals of every household (see the module docstring)."""
    T = pv.T
    mem = Members(hm.members, T)
    parts: list[tuple] = []     # (h, t, date, kind, p)

    def add(h, t, date, kind, p):
        h = np.asarray(h, np.int64)
        keep = h >= 0
        parts.append((h[keep], np.asarray(t, np.int64)[keep], np.asarray(date, "datetime64[D]")[keep],
                      np.full(keep.sum(), kind, np.int8), np.asarray(p, np.int64)[keep]))

    # medical: live settlements (not a reversal, not reversed)
    c = pv.rec["claims"]
    reversed_ids = set(c["rev"][c["rev"] >= 0].tolist())
    live = (c["rev"] < 0) & ~np.isin(c["cid"], list(reversed_ids) or [-2])
    sel = np.flatnonzero(live & c["cata"])
    add(mem.of(c["p"][sel], c["t"][sel]), c["t"][sel], c["date"][sel], CATASTROPHIC, c["p"][sel])
    # net out-of-pocket of M-2..M >= size x standard, dated by the month's latest live settlement
    pos = np.flatnonzero(live & (c["oop"] > 0))
    ch = mem.of(c["p"][pos], c["t"][pos])
    ok = ch >= 0
    last = np.full((pv.H, T), np.datetime64("NaT"), "datetime64[D]")
    flat = ch[ok] * T + c["t"][pos][ok]
    lastf = last.reshape(-1).view(np.int64)
    dates = c["date"][pos][ok].astype("datetime64[D]").view(np.int64)
    order = np.argsort(dates)
    lastf[flat[order]] = dates[order]          # the latest date wins (written last)
    cs = np.concatenate([np.zeros((pv.H, 1)), np.cumsum(hm.oop, axis=1)], axis=1)
    oop3 = cs[:, 1:] - cs[:, np.maximum(np.arange(T) - 2, 0)]
    hit = (hm.size > 0) & (oop3 >= hm.size * hm.std) & ~np.isnat(last)
    hh, tt = np.nonzero(hit)
    add(hh, tt, last[hh, tt], MEDICAL_3M, np.full(len(hh), -1))

    # a first valid grade 1/2 certificate issued in the month (one certificate per person here)
    sev = np.flatnonzero((pv.p_cert_grade >= 1) & (pv.p_cert_grade <= 2) & ~np.isnat(pv.p_cert_issued))
    issued = pv.p_cert_issued[sev]
    m = issued.astype("datetime64[M]").astype(np.int64) + 1970 * 12 - pv.cal.start
    inside = (m >= 0) & (m < T)
    sev, issued, m = sev[inside], issued[inside], m[inside]
    valid = (pv.p_cert_cancel_t[sev] > m) & (pv.p_from[sev] <= m)
    sev, issued, m = sev[valid], issued[valid], m[valid]
    add(mem.of(sev, m), m, issued, DISABILITY, sev)

    # the death of a member aged 16..59, in the household of the month before (else of the month)
    e = pv.rec["hukou_events"]
    sel = np.flatnonzero(e["etype"] == act.DEATH)
    p, t, day = e["p"][sel], e["t"][sel], e["date"][sel].astype("datetime64[D]")
    age = age_at(pv, p, day)
    h = mem.of(p, t - 1)
    h = np.where(h >= 0, h, mem.of(p, t))
    keep = (age >= 16) & (age <= 59)
    add(h[keep], t[keep], day[keep], DEATH, p[keep])

    # registered unemployed after another status (or no record) the month before
    st = pv.hr_status
    newly = np.zeros_like(st, dtype=bool)
    newly[:, 1:] = (st[:, 1:] == UNEMPLOYED) & (st[:, :-1] != UNEMPLOYED)
    pp, tt = np.nonzero(newly)
    firsts = np.array([pv.cal.first_day(x) for x in range(T)], "datetime64[D]")
    add(mem.of(pp, tt), tt, firsts[tt], UNEMPLOYMENT, pp)

    # disasters with the house collapsed or severely damaged
    d = pv.rec["disasters"]
    sel = np.flatnonzero(np.isin(d["damage"], [act.COLLAPSED, act.SEVERE]))
    add(mem.of(d["p"][sel], d["t"][sel]), d["t"][sel], d["date"][sel], DISASTER, d["p"][sel])

    # field visits with a finding other than no_change / new_member
    v = pv.rec["visits"]
    hard = np.array([str(f) in HARD_FINDINGS for f in v["findings"]], bool)
    sel = np.flatnonzero(hard)
    present = hm.size[v["h"][sel], v["t"][sel]] > 0
    sel = sel[present]
    add(v["h"][sel], v["t"][sel], v["date"][sel], GRID, v["p"][sel])

    # relapse-watch listings (not eliminated) identified in the month and shown by the snapshot of that
    # month or the next
    w = pv.rec.get("watch")
    if w is not None and len(w):
        from pipelines.synth.checks import WATCH_SINCE, since_index

        t0 = since_index(pv, WATCH_SINCE)
        ti = w["ident"].astype("datetime64[M]").astype(np.int64) + 1970 * 12 - pv.cal.start
        snap = np.minimum(ti + 1, T - 1)
        keep = (ti >= 0) & (ti < T) & (snap >= t0) & (w["t_from"] <= snap) & ~w["eliminated"]
        add(w["h"][keep], ti[keep], w["ident"][keep], LISTING, np.full(keep.sum(), -1))

    if not parts:
        return Cols(h=np.zeros(0, np.int64), t=np.zeros(0, np.int64), date=np.zeros(0, "datetime64[D]"),
                    kind=np.zeros(0, np.int8), p=np.zeros(0, np.int64), finding=np.zeros(0, object))
    out = Cols(h=np.concatenate([x[0] for x in parts]), t=np.concatenate([x[1] for x in parts]),
               date=np.concatenate([x[2] for x in parts]), kind=np.concatenate([x[3] for x in parts]),
               p=np.concatenate([x[4] for x in parts]))
    # the finding of a visit (its risk on the relapse watch)
    finding = np.full(len(out["h"]), "", object)
    gi = np.flatnonzero(out["kind"] == GRID)
    if len(gi):
        vis = v.take(sel)
        finding[gi] = np.array([str(f) for f in vis["findings"]], object)
    out["finding"] = finding
    return out


def latest_in_window(sig: Cols, H: int, T: int, mask: np.ndarray | None = None,
                     months: int = SIGNAL_MONTHS) -> np.ndarray:
    """(H, T) datetime64: the latest signal date in the ``months`` months up to each month (NaT: none)."""
    out = np.full(H * T, np.iinfo(np.int64).min, np.int64)
    sel = np.flatnonzero(mask) if mask is not None else np.arange(len(sig["h"]))
    days = sig["date"][sel].astype("datetime64[D]").view(np.int64)
    for k in range(months):
        t = sig["t"][sel] + k
        ok = t < T
        np.maximum.at(out, sig["h"][sel][ok] * T + t[ok], days[ok])
    res = out.reshape(H, T).copy()
    nat = res == np.iinfo(np.int64).min
    res = res.view("datetime64[D]")
    res[nat] = np.datetime64("NaT")
    return res


def watch_state(pv: Province, H: int, T: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, T) listed and not eliminated in the month's relapse-watch snapshot; (H,) identification
    date; (H,) its risk types (a set of codes) -- from the generator's watch list."""
    from pipelines.feeds.moa_relapse_watch import RISK_TYPE
    from pipelines.synth.checks import WATCH_SINCE, since_index

    listed = np.zeros((H, T), bool)
    ident = np.full(H, np.datetime64("NaT"), "datetime64[D]")
    risks = np.empty(H, object)
    w = pv.rec.get("watch")
    if w is None or len(w) == 0:
        return listed, ident, risks
    t0 = since_index(pv, WATCH_SINCE)
    for i, h in enumerate(w["h"]):
        if w["eliminated"][i]:
            continue
        listed[h, max(int(w["t_from"][i]), t0):] = True
        ident[h] = w["ident"][i]
        risks[h] = {RISK_TYPE[x] for x in str(w["risks"][i]).split(";") if x}
    return listed, ident, risks


def relapse_new(sig: Cols, ident: np.ndarray, risks: np.ndarray, risk_of: dict[str, str], excluded: set[str]) -> np.ndarray:
    """Per signal: a new risk of its household's relapse watch (dated after the identification, a kind
    -- a visit: its finding -- whose risk type is not yet among the household's)."""
    n = len(sig["h"])
    out = np.zeros(n, bool)
    for i in range(n):
        h = int(sig["h"][i])
        kind = KINDS[int(sig["kind"][i])]
        if kind in excluded or risks[h] is None or np.isnat(ident[h]) or not sig["date"][i] > ident[h]:
            continue
        key = str(sig["finding"][i]) if kind == "grid_finding" else kind
        risk = risk_of.get(key)
        out[i] = risk is None or risk not in risks[h]
    return out


def check_facts(pv: Province, hm) -> dict[str, np.ndarray]:
    """(H, T) what the economic checks of the 12 months up to each month's end say beside the income:
    the latest application date, the latest above_edge date, and the latest check's assets per member
    counted and its cars (NaT / nan / 0 where none)."""
    from pipelines.synth.checks import APPLICATION
    from pipelines.synth.truth import months_before

    H, T = hm.size.shape
    app = np.full((H, T), np.datetime64("NaT"), "datetime64[D]")
    above = np.full((H, T), np.datetime64("NaT"), "datetime64[D]")
    assets_pc = np.full((H, T), np.nan)
    cars = np.zeros((H, T), np.int64)
    ch = pv.rec.get("checks")
    if ch is None or len(ch) == 0:
        return {"application": app, "above_edge": above, "assets_pc": assets_pc, "cars": cars}
    order = np.lexsort((np.arange(len(ch["date"])), ch["date"]))       # oldest first: the latest wins
    for t in range(T):
        end = pv.cal.last_day(t)
        lo = np.datetime64(months_before(end, 12))
        sel = order[(ch["date"][order] > lo) & (ch["date"][order] <= end) & (ch["t"][order] <= t)]
        if not len(sel):
            continue
        h = ch["h"][sel]
        present = hm.size[h, t] > 0
        sel, h = sel[present], h[present]
        a = sel[ch["reason"][sel] == APPLICATION]
        app[ch["h"][a], t] = ch["date"][a]
        b = sel[ch["outcome"][sel] == 2]
        above[ch["h"][b], t] = ch["date"][b]
        assets_pc[h, t] = ch["assets"][sel] / 100.0 / np.maximum(ch["size"][sel], 1)
        cars[h, t] = ch["cars"][sel]
    return {"application": app, "above_edge": above, "assets_pc": assets_pc, "cars": cars}
