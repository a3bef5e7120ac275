"""Catalog v2 sources of verified income: economic checks (民政 家庭经济状况核对) and the relapse-watch
list of agriculture and rural affairs (农业农村 防止返贫监测对象).

* ``mca_econ_checks`` (monthly from ``CHECKS_SINCE``): one row per completed check.
  - ``review``: every roster family is checked on the dates its roster rows show as
    ``last_econ_check_date`` (every 3 months); every second one, six-monthly, is the periodic review
    with the town's home-visit assessment (``assessed``), the ones between are the information-based
    check alone (``check_only``).
  - ``application``: ordinary households not on the roster apply — most of them truly below the
    edge line, some not (rejected on the check). Applications are not followed by an enrolment within
    the generated months.
  - ``referral``: a town refers households that look poor to the feeds (observed per-capita income
    below the standard) — most of them are not poor at all: the assessed check finds their hidden
    income. That is the signal a model of hidden income learns from.
  An ``assessed`` check reports the household's true income (all sources, assistance benefits
  excluded; the mean of up to 12 months, with a 2% assessment noise); a ``check_only`` check sees only
  registered income (wages and pensions on record, business and rent on tax records). The outcome
  compares the check's per-capita income with the 低保 standard and the edge line of the household's
  city in force on the check date; assets are the province's deposits, properties and cars.
* ``moa_relapse_watch`` (monthly snapshots from ``WATCH_SINCE``): the rural roster families of category
  ``relapse_watch``, plus rural households not on the roster (some identified during the months), each
  with last year's survey income (人均纯收入, transfers included) consistent with its true income.

Checks and listings only touch households the pipeline already sees that month (present in the hukou
extract), and never an injected event's household except through the roster's own reviews.
"""

from __future__ import annotations

import numpy as np

from pipelines.synth import activity as act
from pipelines.synth.common import NEVER, Cols, parse_month, stream
from pipelines.synth.population import HEAD, RELAPSE, Province
from pipelines.synth.truth import HouseholdMonths, roster_check_dates

CHECKS_SINCE = "2026-01"
WATCH_SINCE = "2026-01"
REASONS = ("application", "review", "referral")
APPLICATION, REVIEW, REFERRAL = range(3)
BASES = ("check_only", "assessed")
OUTCOMES = ("below_dibao", "below_edge", "above_edge")
WATCH_TYPES = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
RISKS = ("因病", "因残", "因学", "因灾", "因意外", "因失业", "产业失败", "其他")
APPLY_RATE = 0.003      # applications per non-roster household and month
REFER_RATE = 0.004      # referrals per non-roster household and month
WATCH_SHARE = 0.02      # rural non-roster households on the relapse watch
ASSESS_NOISE = 0.02


def since_index(pv: Province, since: str) -> int:
    return max(0, parse_month(since) - pv.cal.start)


def _pairs_by_hh_month(hm: HouseholdMonths, T: int, need: np.ndarray):
    """The membership pairs of the (household, month)s in ``need`` ((H, T) bool), sorted by
    (household, month)."""
    mh, mp, mt = hm.members
    keep = need[mh, mt]
    mh, mp, mt = mh[keep], mp[keep], mt[keep]
    key = mh.astype(np.int64) * T + mt
    order = np.argsort(key, kind="stable")
    key = key[order]
    return key, mp[order]


def build_checks(pv: Province, hm: HouseholdMonths) -> None:
    """``pv.rec["checks"]`` (one row per check) and ``pv.rec["check_members"]`` (check row, person)."""
    T, H, F = pv.T, pv.H, pv.F
    t0 = since_index(pv, CHECKS_SINCE)
    rng = stream(pv.seed, "checks")
    rows: list[tuple] = []
    if t0 >= T:
        pv.rec["checks"] = _checks_cols([])
        pv.rec["check_members"] = Cols(ci=np.zeros(0, np.int64), p=np.zeros(0, np.int64))
        return
    true = hm.true_income
    present = hm.size > 0
    # any member dead by month t: no further checks of that family
    dead_t = np.full(H, NEVER, np.int64)
    dead = pv.p_death_t < NEVER
    np.minimum.at(dead_t, pv.p_hh[dead], pv.p_death_t[dead])
    dp = pv.p_death_t[pv.rp["p"]]
    np.minimum.at(dead_t, pv.rp["f"][dp < NEVER], dp[dp < NEVER])

    # reviews of roster families, on the roster's own check dates
    for t in range(t0, T):
        econ, _ = roster_check_dates(pv, t)
        first, last = pv.cal.first_day(t), pv.cal.last_day(t)
        m = pv.cal.abs(t)
        fam = np.flatnonzero((econ >= first) & (econ <= last) & present[:F, t] & (dead_t[:F] > t))
        assessed = (m - pv.h_econ_phase[fam]) % 6 == 0
        for f, a in zip(fam, assessed):
            rows.append((econ[f], REVIEW, int(f), t, int(a)))

    # applications and referrals of ordinary households not on the roster
    ordinary = (np.arange(H) >= F) & ~pv.h_event
    checked = np.zeros(H, bool)
    n_other = max(1, H - F)
    n_app = max(1, int(round(APPLY_RATE * n_other)))
    n_ref = max(1, int(round(REFER_RATE * n_other)))
    with np.errstate(invalid="ignore", divide="ignore"):
        pc_true = np.where(present, true / np.maximum(hm.size, 1), np.nan)
        pc_obs = np.where(present, hm.income / np.maximum(hm.size, 1), np.nan)
    edge = hm.edge_mult[:, None] * hm.std
    for t in range(t0, T):
        pool = ordinary & present[:, t] & ~checked
        lo = max(0, t - 2)
        poor = pool & (_nanmean(pc_true[:, lo:t + 1]) < 1.1 * edge[:, t])
        k_poor = int(round(0.6 * n_app))
        a = _choose(rng, np.flatnonzero(poor), k_poor)
        checked[a] = True
        b = _choose(rng, np.flatnonzero(pool & ~checked), n_app - len(a))
        checked[b] = True
        for h in np.concatenate([a, b]):
            rows.append((None, APPLICATION, int(h), t, int(rng.random() < 0.85)))
        looks_poor = ordinary & present[:, t] & ~checked & (pc_obs[:, t] < hm.std[:, t])
        c = _choose(rng, np.flatnonzero(looks_poor), n_ref)
        checked[c] = True
        for h in c:
            rows.append((None, REFERRAL, int(h), t, int(rng.random() < 0.6)))

    # checks the events planned (a near miss: checked above the edge line after a hardship signal)
    for h, t, day, reason, basis in pv.planned_checks:
        if t0 <= t < T and present[h, t]:
            rows.append((day, reason, int(h), int(t), int(basis)))

    # the rows, vectorised: date, members, income, assets, outcome
    if not rows:
        pv.rec["checks"] = _checks_cols([])
        pv.rec["check_members"] = Cols(ci=np.zeros(0, np.int64), p=np.zeros(0, np.int64))
        return
    reason = np.array([r[1] for r in rows], np.int8)
    h = np.array([r[2] for r in rows], np.int64)
    t = np.array([r[3] for r in rows], np.int64)
    basis = np.array([r[4] for r in rows], np.int8)
    date = np.array([r[0] if r[0] is not None else np.datetime64("NaT") for r in rows], "datetime64[D]")
    nat = np.isnat(date)
    firsts = np.array([pv.cal.first_day(x) for x in range(T)])
    ndays = np.array([pv.cal.ndays(x) for x in range(T)])
    date[nat] = firsts[t[nat]] + np.floor(rng.random(nat.sum()) * ndays[t[nat]]).astype("timedelta64[D]")
    cols, members, pv.h_insurance = check_rows(pv, hm, reason, h, t, basis, date, rng)
    order = np.lexsort((cols["h"], cols["reason"], cols["date"]))
    inv = np.empty(len(order), np.int64)
    inv[order] = np.arange(len(order))
    pv.rec["checks"] = cols.take(order)
    mo = np.lexsort((members["p"], inv[members["ci"]]))
    pv.rec["check_members"] = Cols(ci=inv[members["ci"]][mo], p=members["p"][mo])


def build_check_book(pv: Province, hm: HouseholdMonths) -> tuple[Cols, Cols] | None:
    """The check centre's book: what an ``assessed`` referral check (转介核对) of each household would
    report in each month from ``CHECKS_SINCE`` in which the pipeline sees it (dated the month's last day).
    ``(rows, members)`` as :func:`check_rows`. The generated feed holds only the checks the province
    asked for on its own; a replay (``pipelines.demo.simulate_checks``) takes from the book the checks that
    its offices' answers to the pipeline's own referrals imply. None before ``CHECKS_SINCE``."""
    t0 = since_index(pv, CHECKS_SINCE)
    if t0 >= pv.T or pv.h_insurance is None:
        return None
    hh, tt = np.nonzero(hm.size[:, t0:] > 0)
    tt = tt + t0
    order = np.lexsort((hh, tt))
    hh, tt = hh[order].astype(np.int64), tt[order].astype(np.int64)
    lasts = np.array([pv.cal.last_day(x) for x in range(pv.T)])
    rows, members, _ = check_rows(pv, hm, np.full(len(hh), REFERRAL, np.int8), hh, tt,
                                  np.ones(len(hh), np.int8), lasts[tt], stream(pv.seed, "check_book"),
                                  insurance=pv.h_insurance)
    return rows, members


def check_rows(pv: Province, hm: HouseholdMonths, reason: np.ndarray, h: np.ndarray, t: np.ndarray,
               basis: np.ndarray, date: np.ndarray, rng, insurance: np.ndarray | None = None):
    """What the check centre reports for checks of household ``h`` in month ``t`` on ``date`` (arrays):
    ``(rows, members, insurance)`` -- the rows (:func:`_checks_cols` columns; a household without a member
    that month has no row), the members counted (row index ``ci``, person ``p``) and the insurance cash
    value per household (drawn from ``rng`` when not given: one draw per province, shared by every check
    of a household)."""
    H, T = pv.H, pv.T
    need = np.zeros((H, T), bool)
    need[h, t] = True
    key, persons = _pairs_by_hh_month(hm, T, need)
    k = h * T + t
    lo, hi = np.searchsorted(key, k), np.searchsorted(key, k, side="right")
    size = hi - lo
    keep = size > 0
    reason, h, t, basis, date, lo, size = (x[keep] for x in (reason, h, t, basis, date, lo, size))
    n = len(h)
    ci = np.repeat(np.arange(n), size)
    mem = persons[np.repeat(lo, size) + (np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size))]
    tm = t[ci]
    # income: assessed = what the town's assessment finds (truth.assessed_income: the members' income over
    # up to 12 months) with assessment noise; check_only = the registered part (observed + business and rent)
    assessed = hm.assessed[h, t] * (1 + ASSESS_NOISE * rng.standard_normal(n))
    income = np.maximum(np.rint(np.where(basis == 1, assessed, hm.income[h, t] + hm.registered[h, t])), 0.0)
    # assets of the members as of the check month (event overrides included)
    dep = pv.p_dep[mem] + pv.p_sec[mem]
    prop = pv.p_prop[mem].copy()
    for q, t_from, amount in pv.overrides.get("dep", []):
        hit = (mem == q) & (tm >= t_from)
        dep[hit] = amount + pv.p_sec[q]
    for q, t_from, dc, _ in pv.overrides.get("prop", []):
        prop[(mem == q) & (tm >= t_from)] += dc
    cars_m = _cars_on(pv, mem, date[ci])
    if insurance is None:
        insurance = np.where(rng.random(H) < 0.05, rng.integers(20, 200, H) * 100_00, 0)
    assets = np.bincount(ci, weights=dep, minlength=n) + insurance[h]
    props = np.bincount(ci, weights=prop, minlength=n).astype(np.int64)
    cars = np.maximum(np.bincount(ci, weights=cars_m, minlength=n), 0).astype(np.int64)
    std = hm.std[h, t]
    pc = income / size
    outcome = np.where(pc < std, 0, np.where(pc < hm.edge_mult[h] * std, 1, 2)).astype(np.int8)
    applicant = _applicants(pv, h, t, ci, mem)
    rows = Cols(date=date, reason=reason, h=h, t=t, basis=basis, size=size.astype(np.int64),
                income=(income * 100).astype(np.int64), assets=np.rint(assets).astype(np.int64), cars=cars,
                props=props, outcome=outcome, applicant=applicant)
    return rows, Cols(ci=ci, p=mem.astype(np.int64)), insurance


def _cars_on(pv: Province, person: np.ndarray, date: np.ndarray) -> np.ndarray:
    """Cars and trucks registered to each ``person`` on ``date`` (registrations and transfers in less
    transfers out and scrappings up to that day; may be negative for a car older than the data)."""
    v = pv.rec["vehicles"]
    car = np.isin(v["vclass"], [act.CAR, act.TRUCK])
    vp = v["p"][car].astype(np.int64)
    vd = v["date"][car].astype("datetime64[D]").astype(np.int64)
    sign = np.where(np.isin(v["event"][car], [act.REGISTER, act.TRANSFER_IN]), 1, -1)
    if len(vp) == 0 or len(person) == 0:
        return np.zeros(len(person), np.int64)
    span = int(max(vd.max(), date.astype(np.int64).max()) - min(vd.min(), date.astype(np.int64).min())) + 2
    base = min(vd.min(), date.astype(np.int64).min())
    ev = vp * span + (vd - base)
    order = np.argsort(ev, kind="stable")
    ev, cum = ev[order], np.cumsum(sign[order])
    q = person.astype(np.int64) * span + (date.astype(np.int64) - base)
    upto = np.searchsorted(ev, q, side="right")               # events of the person up to the day, and before
    start = np.searchsorted(ev, person.astype(np.int64) * span, side="left")
    total = np.where(upto > 0, cum[np.maximum(upto - 1, 0)], 0)
    before = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0)
    return total - before


def _nanmean(a: np.ndarray) -> np.ndarray:
    """Row means over the non-nan values (nan for a row without any)."""
    ok = ~np.isnan(a)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(ok, a, 0.0).sum(axis=1) / np.maximum(n, 1), np.nan)


def _choose(rng, pool: np.ndarray, n: int) -> np.ndarray:
    if n <= 0 or len(pool) == 0:
        return np.zeros(0, np.int64)
    return np.sort(rng.choice(pool, size=min(n, len(pool)), replace=False))


def _applicants(pv: Province, h: np.ndarray, t: np.ndarray, ci: np.ndarray, mem: np.ndarray) -> np.ndarray:
    """Per check: the family's roster head that month; else the hukou head if a member; else the
    oldest member."""
    n = len(h)
    out = np.full(n, -1, np.int64)
    rp = pv.rp
    heads = rp.take(np.flatnonzero(rp["rel"] == HEAD))
    for tt in np.unique(t[h < pv.F]):
        sel = (heads["t0"] <= tt) & (heads["t1"] >= tt)
        head_of = np.full(pv.F, -1, np.int64)
        head_of[heads["f"][sel]] = heads["p"][sel]
        rows = np.flatnonzero((h < pv.F) & (t == tt))
        out[rows] = head_of[h[rows]]
    is_member = np.zeros(n, bool)
    hh_head = pv.h_head[h]
    np.logical_or.at(is_member, ci, mem == hh_head[ci])
    out = np.where((out < 0) & is_member, hh_head, out)
    for i in np.flatnonzero(out < 0):
        m = mem[ci == i]
        out[i] = m[np.argmin(pv.p_birth[m])]
    return out


def _checks_cols(rows: list) -> Cols:
    z = (lambda dtype: np.zeros(0, dtype))
    return Cols(date=z("datetime64[D]"), reason=z(np.int8), h=z(np.int64), t=z(np.int64), basis=z(np.int8),
                size=z(np.int64), income=z(np.int64), assets=z(np.int64), cars=z(np.int64), props=z(np.int64),
                outcome=z(np.int8), applicant=z(np.int64))


# --- relapse watch -------------------------------------------------------------------------------------

def build_watch(pv: Province, hm: HouseholdMonths) -> None:
    """``pv.rec["watch"]``: the households under relapse-prevention monitoring, with their survey."""
    T, H, F = pv.T, pv.H, pv.F
    t0 = since_index(pv, WATCH_SINCE)
    rng = stream(pv.seed, "watch")
    if t0 >= T:
        pv.rec["watch"] = Cols(h=np.zeros(0, np.int64))
        return
    rural = ~pv.h_urban()
    present = hm.size > 0
    roster_w = np.flatnonzero((np.arange(H) < F) & (pv.h_cat == RELAPSE) & rural)
    always = present[:, t0:].all(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = _nanmean(np.where(present, hm.true_income / np.maximum(hm.size, 1) / hm.std, np.nan))
    pool = np.flatnonzero((np.arange(H) >= F) & rural & always & ~pv.h_event & (ratio >= 1.1) & (ratio <= 2.6))
    n_other = max(2, int(round(WATCH_SHARE * (rural & (np.arange(H) >= F)).sum())))
    other = _choose(rng, pool, n_other)
    n_new = max(1, len(other) // 8) if T - 1 > t0 else 0
    new = other[:n_new] if n_new else np.zeros(0, np.int64)
    # listings the events planned (a near miss: a household whose only signal is its own listing)
    planned = {int(h): int(t) for h, t in pv.planned_watch if t0 < t < T}
    other = np.concatenate([other, np.array(sorted(planned), np.int64)]).astype(np.int64)
    new = np.concatenate([new, np.array(sorted(planned), np.int64)]).astype(np.int64)
    hs = np.concatenate([roster_w, other]).astype(np.int64)
    n = len(hs)
    ident = np.where(hs < F, pv.h_enrolled[hs], np.datetime64("2021-01-01")
                     + rng.integers(0, 1800, n).astype("timedelta64[D]"))
    t_from = np.full(n, t0, np.int64)
    for i, h in enumerate(hs):
        if h in new:
            t = planned.get(int(h)) or int(rng.integers(t0 + 1, T))
            t_from[i] = t
            ident[i] = pv.cal.first_day(t) + np.timedelta64(int(rng.integers(0, 25)), "D")
    mtype = np.where(np.isin(hs, new), 2, rng.choice(3, n, p=[0.45, 0.45, 0.10])).astype(np.int8)
    eliminated = ~np.isin(hs, new) & (rng.random(n) < 0.15)
    has_cert = np.zeros(H, bool)
    has_cert[pv.p_hh[pv.p_cert_grade > 0]] = True
    # one or two risk types; 因残 where a member holds a disability certificate
    kinds = np.array([0, 2, 3, 4, 5, 6, 7])
    first = kinds[rng.choice(len(kinds), n, p=[.3, .15, .1, .1, .1, .15, .1])]
    second = kinds[rng.choice(len(kinds), n, p=[.3, .15, .1, .1, .1, .15, .1])]
    two = rng.random(n) < 0.5
    first = np.where(has_cert[hs], 1, first)
    risks = [";".join(RISKS[j] for j in sorted({int(a), int(b)} if t else {int(a)}))
             for a, b, t in zip(first, second, two)]
    # households an event gave a new risk: their listed risk types (and a listing in force) as planned
    for i, h in enumerate(hs):
        if int(h) in pv.watch_risks:
            risks[i] = pv.watch_risks[int(h)]
            eliminated[i] = False
    county = pv.h_county()[hs]
    seq = np.arange(1, n + 1)
    wid = np.array([f"JC{c}{s:05d}" for c, s in zip(county, seq)])
    subsidy = rng.integers(3, 16, n) * 100.0                   # yearly farm and ecological subsidies, yuan
    pv.rec["watch"] = Cols(h=hs, wid=wid, mtype=mtype, risks=np.array(risks, dtype=object), t_from=t_from,
                           ident=ident.astype("datetime64[D]"), eliminated=eliminated, subsidy=subsidy)
    pv.rec["watch_survey"] = _surveys(pv, hm, hs, subsidy)


def _surveys(pv: Province, hm: HouseholdMonths, hs: np.ndarray, subsidy: np.ndarray) -> dict:
    """Per survey year: (人均纯收入, 人均转移性收入) per watch row, whole yuan, from the true income of the
    generated months of that year (the first months when the year precedes the data)."""
    T = pv.T
    pension = hm.pension
    years = sorted({pv.cal.year(t) - 1 for t in range(T)} | {pv.cal.year(t) for t in range(T)})
    out = {}
    rng = stream(pv.seed, "survey")
    noise = 1 + 0.03 * rng.standard_normal(len(hs))
    for y in years:
        ts = [t for t in range(T) if pv.cal.year(t) == y] or list(range(min(3, T)))
        sz = hm.size[hs][:, ts].astype(float)
        w = sz > 0
        n = np.maximum(w.sum(axis=1), 1)
        size = np.maximum(np.where(w, sz, 0).sum(axis=1) / n, 1)
        true = np.where(w, hm.true_income[hs][:, ts], 0).sum(axis=1) / n
        pen = np.where(w, pension[hs][:, ts], 0).sum(axis=1) / n
        transfer = (12 * pen + subsidy) / size
        net = (12 * (true - pen) * noise + 12 * pen + subsidy) / size
        out[y] = (np.rint(net).astype(np.int64), np.rint(transfer).astype(np.int64))
    return out
