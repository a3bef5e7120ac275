"""Ground truth: the indicator rules of docs/indicators.md as interpreted in
docs/architecture.md ("Indicator interpretation"), evaluated on exactly the values the generator
writes.

The same evaluator serves three purposes:

* **cleaning** the event-free baseline: every household must stay at least 20% away from every
  threshold (the rules are run with all thresholds loosened by 20%; a household that would fire
  loses its routine extras — small claims, school costs, minor disaster losses);
* **truth**: for each injected event, every indicator its households raise and the first data month
  in which they raise it. A month is ``required = 1`` only when the rule fires in the same month under
  slightly tightened and loosened thresholds (3%) and under the alternative readings of "window
  average per capita" (mean of monthly per-capita values vs. sums over sums); otherwise the row
  is kept with ``required = 0``;
* **self-check**: ordinary households must raise nothing; the list of exceptions is reported
  (and is empty by construction — the tests assert it).

The income rules (ELIG_DIBAO, ELIG_EDGE, EXP_HARDSHIP, EXP_MED rule A, EXP_EDU) read observed income.
Where a household has hidden income in a rule's window, observed income is only a floor and what the
rule says there is the expected flood of today's rules on ``partial`` coverage: it is left out of the
cleaning, the truth and the self-check alike (:func:`fire_matrices`), and counted in the summary
(:func:`income_stats`). Everywhere else observed income is the true income.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, replace

import numpy as np

from pipelines.synth import activity as act
from pipelines.synth import income as income_mod
from pipelines.synth.population import (DIBAO, EDGE, EMPLOYED, EXPENSE, FLEXIBLE, NONE, NOROW, REGISTERED_KINDS,
                                        TEKUN, UNEMPLOYED, Province)

ORACLE_INDICATORS = ("INC_DROP", "EXP_MED", "EXP_EDU", "EXP_HARDSHIP", "ELIG_DIBAO", "ELIG_EDGE", "EXIT_REVIEW",
                     "REVIEW_OVERDUE", "TEKUN_CANDIDATE", "RELAPSE_RISK")
DEPARTMENTS = {"EXP_MED": "NHSA;MCA", "EXP_EDU": "MOE", "EXP_HARDSHIP": "MCA", "ELIG_DIBAO": "MCA",
               "ELIG_EDGE": "MCA", "EXIT_REVIEW": "MCA", "REVIEW_OVERDUE": "MCA", "TEKUN_CANDIDATE": "MCA",
               "RELAPSE_RISK": "MOA;MCA"}
ROBUST_DELTA = 0.03
MARGIN_DELTA = 0.20
# the income rules: the parts of the indicators that compare income with a line (catalog v2: on known
# income -- verified, surveyed, full coverage -- and ELIG's path b on partial income with a signal)
INCOME_RULES = ("ELIG_DIBAO", "ELIG_EDGE", "EXP_HARDSHIP", "EXP_MED", "EXP_EDU")
# the rules that may fire on households without an injected event (verified applicants, the relapse
# watch; a routine field visit finds nothing): their verdicts become truth rows of their own
V2_RULES = INCOME_RULES + ("TEKUN_CANDIDATE", "RELAPSE_RISK")
# the rules whose truth is the household's TRUE income over the rule's window (Rules.income_window)
TRUE_INCOME_RULES = ("ELIG_DIBAO", "ELIG_EDGE", "EXP_HARDSHIP")

APPLICATION_DAYS = 60
ASSETS_STD_MULTIPLE = 24


@functools.cache
def _income_window(name: str) -> int:
    """The rule's income window (Rules.income_window), read once per rule."""
    from pipelines.rules import load_rules

    return load_rules().income_window(name)


@dataclass
class HouseholdMonths:
    """Dense (H, T) household-month facts in yuan, as the pipeline's core.household_month sees them."""

    size: np.ndarray
    income: np.ndarray
    pension: np.ndarray       # (H, T) the part of income that is pensions (HRSS)
    oop: np.ndarray
    catastrophic: np.ndarray
    edu: np.ndarray
    edu_new_upper: np.ndarray
    loss: np.ndarray
    std: np.ndarray
    tekun_std: np.ndarray
    lost_job: np.ndarray
    term_months: list[int]
    cat: np.ndarray
    roster: np.ndarray
    econ_age: np.ndarray      # days from the last economic check to the end of the month (roster)
    visit_age: np.ndarray     # days from the last home visit (nan = no date)
    econ_overdue: np.ndarray  # exact rule: last check before (end of month - 6 calendar months)
    visit_overdue: np.ndarray  # exact rule: last visit before (end of month - 12 calendar months)
    deposits_pc: np.ndarray   # (H, T) deposits+securities per capita at quarterly snapshot months, else nan
    hidden: np.ndarray = None     # (H, T) hidden income of the members, yuan (true = income + hidden)
    registered: np.ndarray = None  # (H, T) the part of it on tax records (business, rent)
    known: np.ndarray = None      # (H, T) members whose income is known (principle 5)
    full: np.ndarray = None       # (H, T) bool: every member known (observed coverage "full")
    edge_mult: np.ndarray = None  # (H,) 低保边缘 multiple of the household's city
    inc_med6: np.ndarray = None   # median household income of the previous 6 months (t >= 3), else nan
    oop_med12: np.ndarray = None  # median monthly OOP of the previous 12 months (t >= 1), else nan
    members: tuple = None         # (household, person, month) membership pairs (not subset by take)
    assessed: np.ndarray = None   # (H, T) what an assessed economic check that month finds (assessed_income)
    hidden_known: int = 0         # person-months with hidden income counted as known (must be 0)
    # catalog v2 (add_income_facts, once the checks and the relapse watch exist):
    cov: np.ndarray = None        # (H, T) coverage code (income.COVERAGE)
    accepted: np.ndarray = None   # (H, T) coverage verified / surveyed / full: the rule income is the income
    rule_income: np.ndarray = None  # (H, T) the income the rules use (yuan)
    signal_ok: np.ndarray = None  # (H, T) a hardship signal in M-5..M later than any above_edge check of 12 months
    signal_any: np.ndarray = None   # (H, T) a hardship signal in M-5..M
    in_application: np.ndarray = None  # (H, T) an application check in the 60 days up to the month's end
    asset_flag: np.ndarray = None  # (H, T) the latest check of 12 months counted a car or assets >= 24 x standard
    dependent: np.ndarray = None  # (H, T) every member aged >= 60, < 16 or holding a valid grade 1/2 certificate
    relapse: np.ndarray = None    # (H, T) on the relapse watch with a new-risk signal in M-5..M

    def __post_init__(self):
        H, T = self.income.shape
        if self.inc_med6 is None:
            self.inc_med6 = np.full((H, T), np.nan)
            self.oop_med12 = np.full((H, T), np.nan)
            for t in range(T):
                if t >= 3:
                    self.inc_med6[:, t] = np.median(self.income[:, max(0, t - 6):t], axis=1)
                if t >= 1:
                    self.oop_med12[:, t] = np.median(self.oop[:, max(0, t - 12):t], axis=1)

    @property
    def true_income(self) -> np.ndarray:
        return self.income + self.hidden

    def hidden_window(self, k: int) -> np.ndarray:
        """(H, T) bool: hidden income in any month of t-k..t (the observed income of that window is
        not the true income: the income rules are left out there, see :func:`fire_matrices`)."""
        cache = self.__dict__.setdefault("_windows", {})
        if k not in cache:
            cache[k] = self._hidden_window(k)
        return cache[k]

    def _hidden_window(self, k: int) -> np.ndarray:
        any_ = self.hidden > 0
        cs = np.concatenate([np.zeros((any_.shape[0], 1), np.int64), np.cumsum(any_, axis=1)], axis=1)
        T = any_.shape[1]
        lo = np.maximum(np.arange(T) - k, 0)
        return (cs[:, np.arange(T) + 1] - cs[:, lo]) > 0

    def take(self, rows: np.ndarray) -> "HouseholdMonths":
        """The same facts for a subset of households (rows keep their order)."""
        kw = {}
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            kw[name] = v[rows] if isinstance(v, np.ndarray) else v
        return HouseholdMonths(**kw)


def active_pairs(pv: Province, t: int) -> np.ndarray:
    """Indices of roster pairs listed in snapshot t."""
    rp = pv.rp
    return np.flatnonzero((rp["t0"] <= t) & (rp["t1"] >= t))


def cert_persons(pv: Province, t: int) -> np.ndarray:
    """Persons in the 残联 snapshot of month t (valid or cancelled certificates issued by then)."""
    return np.flatnonzero((pv.p_cert_grade > 0) & (pv.p_cert_issued <= pv.cal.last_day(t)) & (pv.p_from <= t))


def presence(pv: Province, t: int) -> np.ndarray:
    """(H,) hukou households with at least one member in any feed in month t — the scope of the
    mps_hukou_members extract, hence of who the pipeline can see as a non-roster household."""
    hh = np.zeros(pv.H, bool)
    hh[pv.p_hh[pv.hr_status[:, t] != NOROW]] = True
    hh[pv.p_hh[pv.rp["p"][active_pairs(pv, t)]]] = True
    c = pv.rec["claims"]
    hh[pv.p_hh[c["p"][c["t"] == t]]] = True
    hh[pv.p_hh[cert_persons(pv, t)]] = True
    d = pv.rec["disasters"]
    hh[pv.p_hh[d["p"][d["t"] == t]]] = True
    e = pv.rec["hukou_events"]
    hh[e["h"][e["t"] == t]] = True
    v = pv.rec["visits"]
    hh[v["h"][v["t"] == t]] = True
    s = pv.rec["students"]
    hh[pv.p_hh[s["p"][s["m"] == pv.cal.abs(t)]]] = True
    return hh


def membership(pv: Province) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(household, person, month) for every member of every household in every month: roster
    families by the roster snapshot, other households by the hukou members extract."""
    rp = pv.rp
    lens = np.maximum(rp["t1"] - rp["t0"] + 1, 0)
    h = np.repeat(rp["f"], lens)
    p = np.repeat(rp["p"], lens)
    offs = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
    t = np.repeat(rp["t0"], lens) + offs
    hs, ps, ts = [h], [p], [t]
    nonroster = pv.p_hh >= pv.F
    for tt in range(pv.T):
        listed = presence(pv, tt)
        sel = np.flatnonzero(nonroster & pv.alive_listed(tt) & listed[pv.p_hh])
        hs.append(pv.p_hh[sel]), ps.append(sel), ts.append(np.full(len(sel), tt))
    return (np.concatenate(hs).astype(np.int32), np.concatenate(ps).astype(np.int32),
            np.concatenate(ts).astype(np.int32))


def roster_check_dates(pv: Province, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Last economic check and last home visit shown in roster snapshot t, per roster family
    (checks every 3 months, visits every 6, unless an overdue-review event froze them)."""
    F = pv.F
    m = pv.cal.abs(t)

    def cycle(phase, day, every):
        last = m - np.mod(m - phase, every)
        first = np.array([np.datetime64(f"{x // 12:04d}-{x % 12 + 1:02d}-01") for x in range(m - every, m + 1)])
        return first[last - (m - every)] + (day - 1).astype("timedelta64[D]")

    econ = cycle(pv.h_econ_phase[:F], pv.h_econ_day[:F], 3)
    visit = cycle(pv.h_visit_phase[:F], pv.h_visit_day[:F], 6)
    frz = pv.h_econ_freeze[:F]
    frozen = ~np.isnat(frz)
    if frozen.any():
        fm = frz.astype("datetime64[M]").astype(np.int64) + 1970 * 12
        now = frozen & (fm <= m)
        econ = np.where(now, frz, econ)
        if now.any():
            # home visits stop too: the visit date shown is the one as of the freeze month
            idx = np.flatnonzero(now)
            for i in idx:
                mm = int(fm[i])
                last = mm - (mm - int(pv.h_visit_phase[i])) % 6
                visit[i] = np.datetime64(f"{last // 12:04d}-{last % 12 + 1:02d}-01") + \
                    np.timedelta64(int(pv.h_visit_day[i]) - 1, "D")
    visit = np.where(pv.h_visit_empty[:F], np.datetime64("NaT"), visit)
    return econ, visit


def edge_multipliers(pv: Province) -> np.ndarray:
    """(H,) the 低保边缘 multiple of each household's city, from the project's indicator rules."""
    from pipelines.rules import load_rules

    rules = load_rules()
    per_city = np.array([rules.edge_multiplier_for(c) for c in pv.regions.city_codes])
    return per_city[pv.h_city()]


def household_months(pv: Province, coverage: bool = True) -> HouseholdMonths:
    """The household-month facts; ``coverage`` = False leaves out who is known (and the registered
    part of hidden income), which only the truth and the checks need."""
    H, T, P = pv.H, pv.T, pv.P
    mh, mp, mt = membership(pv)
    flat = mh * T + mt

    def per_hh(person_month: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=person_month[mp, mt], minlength=H * T).reshape(H, T)

    size = np.bincount(flat, minlength=H * T).reshape(H, T)
    observed = pv.income_matrix()
    income = per_hh(observed / 100.0)
    pension = per_hh(pv.hr_pension / 100.0)
    std_cents = pv.std_matrix()
    hid_idx, hid_cents = income_mod.hidden_pairs(pv, mp, mt)
    hflat = flat[hid_idx]
    hidden = np.bincount(hflat, weights=hid_cents / 100.0, minlength=H * T).reshape(H, T)
    registered = known = assessed = None
    hidden_known = 0
    if coverage:
        known_p = income_mod.known_pairs(pv, mh, mp, mt, std_cents)
        reg = np.isin(pv.hid_kind[mp[hid_idx]], REGISTERED_KINDS)
        registered = np.bincount(hflat[reg], weights=hid_cents[reg] / 100.0, minlength=H * T).reshape(H, T)
        known = np.bincount(flat[known_p], minlength=H * T).reshape(H, T)
        hidden_known = int(known_p[hid_idx].sum())
        assessed = assessed_income(pv, (mh, mp, mt), size > 0, observed)

    c = pv.rec["claims"]
    pm = np.bincount(c["p"] * T + c["t"], weights=c["oop"] / 100.0, minlength=P * T).reshape(P, T)
    oop = per_hh(pm)
    pm = np.bincount(c["p"] * T + c["t"], weights=c["cata"].astype(float), minlength=P * T).reshape(P, T)
    cata = per_hh(pm) > 0

    s = pv.rec["students"]
    st = s["m"] - pv.cal.start
    cost = (s["tuition"] + s["boarding"] - s["aid"]) / 100.0
    indata = (st >= 0) & (st < T)
    pm = np.bincount(s["p"][indata] * T + st[indata], weights=cost[indata], minlength=P * T).reshape(P, T)
    edu = per_hh(pm)
    # a member starting senior/vocational/college/graduate: stage differs from the previous term or new
    prev_stage = {}
    for m in sorted(set(s["m"].tolist())):
        sel = s["m"] == m
        prev_stage[m] = dict(zip(s["p"][sel].tolist(), s["stage"][sel].tolist()))
    upper = np.isin(s["stage"], act.UPPER_STAGES)
    new_upper = np.zeros(len(s["p"]), bool)
    for i in np.flatnonzero(upper & indata):
        prev = prev_stage.get(int(s["m"][i]) - 6, {})
        new_upper[i] = prev.get(int(s["p"][i])) != int(s["stage"][i])
    pm = np.bincount(s["p"][new_upper] * T + st[new_upper], minlength=P * T).reshape(P, T).astype(float)
    edu_new_upper = per_hh(pm) > 0

    d = pv.rec["disasters"]
    pm = np.bincount(d["p"] * T + d["t"], weights=d["loss"] / 100.0, minlength=P * T).reshape(P, T)
    loss = per_hh(pm)

    stt = pv.hr_status
    was_working = np.zeros((P, T), bool)
    was_working[:, 1:] = np.isin(stt[:, :-1], [EMPLOYED, FLEXIBLE])
    lost = was_working & np.isin(stt, [UNEMPLOYED, NONE, NOROW])
    lost_job = per_hh(lost.astype(float)) > 0

    std = std_cents / 100.0
    tekun = pv.std_matrix("tekun") / 100.0
    roster = np.arange(H) < pv.F

    econ_age = np.full((H, T), np.nan)
    visit_age = np.full((H, T), np.nan)
    econ_overdue = np.zeros((H, T), bool)
    visit_overdue = np.zeros((H, T), bool)
    for t in range(T):
        e, v = roster_check_dates(pv, t)
        end = pv.cal.last_day(t)
        econ_age[: pv.F, t] = (end - e).astype(np.int64)
        va = (end - v).astype("timedelta64[D]").astype(float)
        va[np.isnat(v)] = np.nan
        visit_age[: pv.F, t] = va
        econ_overdue[: pv.F, t] = e < np.datetime64(months_before(pv.cal.last_day(t), 6))
        visit_overdue[: pv.F, t] = ~np.isnat(v) & (v < np.datetime64(months_before(pv.cal.last_day(t), 12)))

    deposits_pc = np.full((H, T), np.nan)
    dep = deposits_by_snapshot(pv)
    for m, (ps, amount) in dep.items():
        t = pv.cal.t_of(m)
        if 0 <= t < T:
            # household = the roster family of the person at t (both families for a duplicate)
            sel = (mt == t) & (mh < pv.F)
            amt = np.zeros(P)
            amt[ps] = amount
            tot = np.bincount(mh[sel], weights=amt[mp[sel]], minlength=H)
            deposits_pc[: pv.F, t] = tot[: pv.F] / np.maximum(size[: pv.F, t], 1)
    return HouseholdMonths(size=size, income=income, pension=pension, oop=oop, catastrophic=cata, edu=edu,
                           edu_new_upper=edu_new_upper, loss=loss, std=std, tekun_std=tekun, lost_job=lost_job,
                           term_months=[pv.cal.t_of(m) for m in pv.cal.term_months if 0 <= pv.cal.t_of(m) < T],
                           cat=pv.h_cat, roster=roster, econ_age=econ_age, visit_age=visit_age,
                           econ_overdue=econ_overdue, visit_overdue=visit_overdue,
                           deposits_pc=deposits_pc, hidden=hidden, registered=registered, known=known,
                           full=None if known is None else (known == size) & (size > 0),
                           edge_mult=edge_multipliers(pv), members=(mh, mp, mt), hidden_known=hidden_known,
                           assessed=assessed)


def assessed_income(pv: Province, members: tuple, present: np.ndarray, observed: np.ndarray,
                    months: int = 12) -> np.ndarray:
    """(H, T) yuan: what an ``assessed`` economic check of month t finds before its assessment noise --
    the income (all sources: on record and hidden) of the household's members of month t, averaged over
    the months t-11..t in which the household was present. As the 低保 rules count a family: its members
    as they are now, so a member who died or left is not counted any more, even for the months he still
    earned in (the household's own true income would count him), and one who joined counts with his
    earnings from before. ``observed``: the (P, T) income on record in cents (``pv.income_matrix()``)."""
    mh, mp, mt = members
    H, T = present.shape
    alive = pv.p_death_t[mp] > mt           # a member listed after his death (a roster's delay) is not counted
    total = np.zeros(len(mp))
    for d in range(months):
        w = mt - d
        ok = alive & (w >= 0)
        w = np.where(ok, w, 0)
        ok &= present[mh, w]
        total += np.where(ok, observed[mp, w] + pv.hidden_cents(mp, w), 0)
    income = np.bincount(mh * T + mt, weights=total / 100.0, minlength=H * T).reshape(H, T)
    cs = np.concatenate([np.zeros((H, 1), np.int64), np.cumsum(present, axis=1)], axis=1)
    n = cs[:, 1:] - cs[:, np.maximum(np.arange(T) + 1 - months, 0)]
    return income / np.maximum(n, 1)


def months_before(day: np.datetime64, n: int) -> dt.date:
    """The same day n calendar months earlier (clipped to the month's length)."""
    d = day.astype(object)
    m = d.year * 12 + d.month - 1 - n
    y, mo = m // 12, m % 12 + 1
    last = (dt.date(y + (mo == 12), mo % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(y, mo, min(d.day, last))


def deposits_by_snapshot(pv: Province) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per quarterly snapshot month: (persons, deposits+securities cents) with event overrides."""
    out = {}
    for m in pv.cal.quarter_months:
        t = pv.cal.t_of(m)
        dep = pv.p_dep.copy()
        for p, t_from, amount in pv.overrides.get("dep", []):
            if t >= t_from:
                dep[p] = amount
        out[m] = (np.arange(pv.P), dep + pv.p_sec)
    return out


# --- the rules -------------------------------------------------------------------------------------

def _ge(a, b, k, d):
    return a >= b * (1 + k * d)


def _le(a, b, k, d):
    return a <= b * (1 - k * d)


def _lt(a, b, k, d):
    return a < b * (1 - k * d)


def fire_matrices(hm: HouseholdMonths, k: int = 0, d: float = 0.0, alt: bool = False,
                  with_edu: bool = True) -> dict[str, np.ndarray]:
    """(H, T) booleans: the condition of each indicator holds for the household in that month.

    ``k`` = +1 tightens every threshold by ``d``, -1 loosens it; ``alt`` uses sums over sums for
    window averages per capita; ``with_edu`` = False leaves school costs out of EXP_HARDSHIP.

    The income rules (ELIG_DIBAO, ELIG_EDGE, EXP_HARDSHIP, EXP_MED rule A, EXP_EDU) are those of catalog
    v2 (principle 5): they weigh the income the rules use (``hm.rule_income``: verified, surveyed or
    observed) in months of accepted coverage (verified / surveyed / full); ELIG's path (b) weighs the
    observed income (a floor) of a household whose coverage is partial, when a hardship signal, no
    recent above_edge check, no application in process and no asset red flag allow it (no model
    scores the synthetic province). Before the checks and the relapse watch exist (the baseline
    cleaning, ``hm.accepted`` is None), a month counts as accepted where the household hides no income
    -- there the observed income is the true income -- and path (b), TEKUN_CANDIDATE and RELAPSE_RISK
    are not evaluated. ``EXP_MED_B`` (rule B alone) is returned beside the indicators."""
    H, T = hm.size.shape
    v2 = hm.accepted is not None
    edge_mult = hm.edge_mult
    inc, size, std = hm.income, hm.size, hm.std
    present = size > 0
    acc = (hm.accepted if v2 else hm.hidden == 0) & present
    ri = hm.rule_income if v2 else inc
    pc = np.divide(inc, size, out=np.zeros_like(inc), where=present)
    rpc = np.divide(ri, size, out=np.zeros_like(ri), where=present)
    out = {name: np.zeros((H, T), bool) for name in ORACLE_INDICATORS + ("EXP_MED_B",)}
    cat = hm.cat
    with np.errstate(invalid="ignore", divide="ignore"):
        for t in range(T):
            s_t, std_t = size[:, t], std[:, t]
            ok = present[:, t]
            # INC_DROP (observed income: a fall in observed income is itself the evidence)
            if t >= 3:
                base = hm.inc_med6[:, t]
                fall = (base - inc[:, t]) / np.maximum(s_t, 1)
                out["INC_DROP"][:, t] = ok & (base > 0) & _le(inc[:, t], 0.7 * base, k, d) & \
                    _ge(fall, 0.2 * std_t, k, d)
            # EXP_MED: rule A on known income (accepted coverage in M-2..M), rule B everywhere
            a = np.zeros(H, bool)
            if t >= 2:
                o3 = hm.oop[:, t - 2:t + 1].sum(axis=1)
                i3 = ri[:, t - 2:t + 1].sum(axis=1)
                known3 = acc[:, t - 2:t + 1].all(axis=1)
                a = ok & known3 & (o3 > 0) & _ge(o3, 0.5 * i3, k, d) & _ge(o3, s_t * std_t, k, d)
            b = np.zeros(H, bool)
            if t >= 1:
                med = hm.oop_med12[:, t]
                b = ok & (hm.oop[:, t] > 0) & _ge(hm.oop[:, t], 3 * med, k, d) & _ge(hm.oop[:, t], 5000.0, k, d)
            out["EXP_MED"][:, t] = ok & (a | b)
            out["EXP_MED_B"][:, t] = b
            # EXP_EDU (term-start months), on known income: coverage of M accepted, the accepted months
            # of M-6..M-1 (at least 3), their mean x the months of data reached
            if t in hm.term_months:
                cost = hm.edu[:, t]
                w = slice(max(0, t - 6), t)
                known = acc[:, w]
                n = known.sum(axis=1)
                mean_prev = np.where(n > 0, np.where(known, ri[:, w], 0).sum(axis=1) / np.maximum(n, 1), 0.0)
                window = mean_prev * np.maximum(n, min(6, t))
                cond = (hm.edu_new_upper[:, t] & _ge(cost, 2 * mean_prev, k, d)) | _ge(cost, 0.3 * window, k, d)
                out["EXP_EDU"][:, t] = ok & acc[:, t] & (n >= 3) & _ge(cost, 3000.0, k, d) & cond
            # EXP_HARDSHIP, on known income: M accepted, the accepted months of M-11..M (at least 6)
            if t >= 5:
                w = slice(max(0, t - 11), t + 1)
                costs = hm.oop[:, w] + hm.loss[:, w] + (hm.edu[:, w] if with_edu else 0)
                sz = size[:, w]
                valid = acc[:, w]
                n = valid.sum(axis=1)
                if alt:
                    tot = np.maximum(np.where(valid, sz, 0).sum(axis=1), 1)
                    net = np.where(valid, ri[:, w] - costs, 0).sum(axis=1) / tot
                    gross = np.where(valid, ri[:, w], 0).sum(axis=1) / tot
                else:
                    nn = np.maximum(n, 1)
                    net = np.where(valid, (ri[:, w] - costs) / np.maximum(sz, 1), 0).sum(axis=1) / nn
                    gross = np.where(valid, ri[:, w] / np.maximum(sz, 1), 0).sum(axis=1) / nn
                excluded = np.isin(cat, [DIBAO, TEKUN, EXPENSE])
                out["EXP_HARDSHIP"][:, t] = ok & acc[:, t] & (n >= 6) & ~excluded & _lt(net, std_t, k, d) \
                    & _ge(gross, std_t, k, d)
            # ELIG_DIBAO / ELIG_EDGE: path (a) on known income, path (b) on partial income with a signal
            if t >= 2:
                w = slice(t - 2, t + 1)
                all_present = present[:, w].all(axis=1)
                known = all_present & acc[:, w].all(axis=1)
                if alt:
                    tot = np.maximum(size[:, w].sum(axis=1), 1)
                    mean = np.where(known, ri[:, w].sum(axis=1), inc[:, w].sum(axis=1)) / tot
                else:
                    mean = np.where(known, rpc[:, w].mean(axis=1), pc[:, w].mean(axis=1))
                if v2:
                    partial_b = ~acc[:, t] & hm.signal_ok[:, t]      # path (b): coverage of M partial
                    allowed = ~hm.in_application[:, t] & ~hm.asset_flag[:, t] & (known | partial_b)
                else:
                    allowed = known
                elig = all_present & allowed
                elig_d = elig & ~np.isin(cat, [DIBAO, TEKUN]) & _lt(mean, std_t, k, d)
                out["ELIG_DIBAO"][:, t] = elig_d
                out["ELIG_EDGE"][:, t] = elig & ~hm.roster & ~elig_d & _ge(mean, std_t, k, d) \
                    & _lt(mean, edge_mult * std_t, k, d)
            # TEKUN_CANDIDATE and RELAPSE_RISK (catalog v2)
            if v2:
                base = (hm.roster & np.isin(cat, [DIBAO, EDGE])) | \
                    ((hm.cov[:, t] == income_mod.VERIFIED) & _lt(rpc[:, t], hm.tekun_std[:, t], k, d))
                out["TEKUN_CANDIDATE"][:, t] = ok & (cat != TEKUN) & base & hm.dependent[:, t] & hm.signal_any[:, t]
                out["RELAPSE_RISK"][:, t] = ok & hm.relapse[:, t]
            # EXIT_REVIEW: income part (and deposits at snapshot months)
            enrolled = np.isin(cat, [DIBAO, TEKUN, EDGE])
            reviewed = np.isin(cat, [DIBAO, TEKUN])     # REVIEW_OVERDUE v2: 在保对象 only
            ex = np.zeros(H, bool)
            if t >= 2:
                line = np.where(cat[:, None] == DIBAO, std[:, t - 2:t + 1],
                                np.where(cat[:, None] == TEKUN, hm.tekun_std[:, t - 2:t + 1],
                                         edge_mult[:, None] * std[:, t - 2:t + 1]))
                ex = _ge(pc[:, t - 2:t + 1], 1.5 * line, k, d).all(axis=1)
            dep = hm.deposits_pc[:, t]
            ex |= ~np.isnan(dep) & _ge(np.nan_to_num(dep / 100.0), 24 * std_t, k, d)
            out["EXIT_REVIEW"][:, t] = ok & enrolled & ex
            # REVIEW_OVERDUE (econ check > 6 months, home visit > 12 months; ages in days)
            if k == 0:
                overdue = hm.econ_overdue[:, t] | hm.visit_overdue[:, t]
            else:
                six = 6 * 30.44
                eo = np.nan_to_num(hm.econ_age[:, t], nan=-1)
                vo = np.nan_to_num(hm.visit_age[:, t], nan=-1)
                overdue = (_ge(eo, six, k, d) & (eo > 0)) | (_ge(vo, 2 * six, k, d) & (vo > 0))
            out["REVIEW_OVERDUE"][:, t] = ok & reviewed & hm.roster & overdue
    return out


def first_month(m: np.ndarray) -> np.ndarray:
    """First month index where true, per row; -1 if never."""
    any_ = m.any(axis=1)
    return np.where(any_, m.argmax(axis=1), -1)


VARIANTS = (
    dict(k=0, d=0.0),
    dict(k=0, d=0.0, alt=True),
    dict(k=1, d=ROBUST_DELTA),
    dict(k=-1, d=ROBUST_DELTA),
    dict(k=0, d=0.0, with_edu=False),
)


def lenient(hm: HouseholdMonths, names: tuple[str, ...] | None = None) -> np.ndarray:
    """(H,) households that would fire anything (of ``names``) with every threshold loosened by 20%."""
    hit = np.zeros(hm.size.shape[0], bool)
    for alt in (False, True):
        for name, m in fire_matrices(hm, k=-1, d=MARGIN_DELTA, alt=alt).items():
            if names is None or name in names:
                hit |= m.any(axis=1)
    return hit


def clean_baseline(pv: Province, rounds: int = 4) -> int:
    """Remove routine extras (claims, minor disasters, net school costs) from households that come
    within 20% of a threshold. Returns the number of households touched."""
    touched = np.zeros(pv.H, bool)
    for _ in range(rounds):
        hm = household_months(pv, coverage=False)
        bad = lenient(hm)
        if not bad.any():
            break
        touched |= bad
        c = pv.rec["claims"]
        pv.rec["claims"] = c.take(~(bad[pv.p_hh[c["p"]]] & c["routine"]))
        d = pv.rec["disasters"]
        pv.rec["disasters"] = d.take(~(bad[pv.p_hh[d["p"]]] & d["routine"]))
        s = pv.rec["students"]
        hit = bad[pv.p_hh[s["p"]]]
        s["aid"] = np.where(hit, s["tuition"] + s["boarding"], s["aid"])
    return int(touched.sum())


# --- truth rows and self-check ---------------------------------------------------------------------

@dataclass
class TruthRow:
    event_id: str
    event_type: str
    household_id: str
    family_id: str
    hukou_no: str
    person_id: str
    indicator_code: str
    period: str
    departments: str
    note: str
    required: int

    def as_list(self) -> list[str]:
        return [self.event_id, self.event_type, self.household_id, self.family_id, self.hukou_no, self.person_id,
                self.indicator_code, self.period, self.departments, self.note, str(self.required)]


TRUTH_COLUMNS = ["event_id", "event_type", "household_id", "family_id", "hukou_no", "person_id",
                 "indicator_code", "period", "departments", "note", "required"]


def add_income_facts(pv: Province, hm: HouseholdMonths) -> None:
    """What the income rules of catalog v2 read beside the observed income, once the economic checks and
    the relapse watch exist: coverage and the income the rules use, the hardship signals (and which
    months they allow path b, TEKUN_CANDIDATE, RELAPSE_RISK), checks in process and asset red flags, and
    households whose every member is old, young or severely disabled."""
    from pipelines.rules import load_rules
    from pipelines.synth import signals as sig_mod

    H, T = hm.size.shape
    hm.cov = income_mod.coverage_matrix(pv, hm)
    hm.accepted = hm.cov != income_mod.PARTIAL
    hm.rule_income = income_mod.rule_income_matrix(pv, hm, hm.cov)
    sig = sig_mod.build_signals(pv, hm)
    pv.rec["signals"] = sig
    latest = sig_mod.latest_in_window(sig, H, T)
    facts = sig_mod.check_facts(pv, hm)
    above = facts["above_edge"]
    hm.signal_any = ~np.isnat(latest)
    # path (b) judges the checks since the signal: only a signal dated once the checks feed exists
    from pipelines.synth.checks import CHECKS_SINCE, since_index
    checks_from = pv.cal.first_day(since_index(pv, CHECKS_SINCE))
    hm.signal_ok = hm.signal_any & (latest >= checks_from) & (np.isnat(above) | (latest > above))
    ends = np.array([pv.cal.last_day(t) for t in range(T)], "datetime64[D]")
    app = facts["application"]
    hm.in_application = ~np.isnat(app) & (app > ends[None, :] - np.timedelta64(APPLICATION_DAYS, "D"))
    with np.errstate(invalid="ignore"):
        hm.asset_flag = (facts["cars"] > 0) | (np.nan_to_num(facts["assets_pc"], nan=-1.0)
                                               >= ASSETS_STD_MULTIPLE * hm.std)
    # every member aged >= 60 or < 16 at the month's end, or holding a valid grade 1/2 certificate
    mh, mp, mt = hm.members
    age = np.empty(len(mp))
    for t in range(T):
        sel = mt == t
        age[sel] = sig_mod.age_at(pv, mp[sel], np.full(sel.sum(), ends[t]))
    cert = (pv.p_cert_grade[mp] >= 1) & (pv.p_cert_grade[mp] <= 2) & (pv.p_cert_issued[mp] <= ends[mt]) \
        & (pv.p_cert_cancel_t[mp] > mt) & (pv.p_from[mp] <= mt)
    dep = (age >= 60) | (age < 16) | cert
    not_dep = np.bincount(mh.astype(np.int64) * T + mt, weights=(~dep).astype(float), minlength=H * T).reshape(H, T)
    hm.dependent = (not_dep == 0) & (hm.size > 0)
    # the relapse watch: a new-risk signal of the last 6 months while listed
    rules = load_rules().indicator("RELAPSE_RISK").params
    risk_of = dict(x.split("=", 1) for x in rules["risk_of_signal"])
    listed, ident, risks = sig_mod.watch_state(pv, H, T)
    new = sig_mod.relapse_new(sig, ident, risks, risk_of, set(rules["excluded_signals"]))
    hm.relapse = listed & ~np.isnat(sig_mod.latest_in_window(sig, H, T, mask=new))


def truly_below(hm: HouseholdMonths, name: str, h: int, t: int) -> bool | None:
    """Whether the household's TRUE income (the generator's, hidden parts included) is below the line
    the rule tests, over the rule's window (as pipelines.evaluate.income_rule_report scores it); None for
    rules that do not weigh income against a line."""
    if name not in TRUE_INCOME_RULES:
        return None
    k = _income_window(name)
    w = slice(max(0, t - k), t + 1)
    size = hm.size[h, w]
    ok = size > 0
    true = (hm.income[h, w] + hm.hidden[h, w])[ok]      # one row (hm.true_income builds the whole matrix)
    true_pc = true / size[ok]
    std = hm.std[h, t]
    if name == "ELIG_DIBAO":
        return bool(true_pc.mean() < std)
    if name == "ELIG_EDGE":
        return bool(true_pc.mean() < hm.edge_mult[h] * std)
    costs = (hm.oop[h, w] + hm.edu[h, w] + hm.loss[h, w])[ok]
    return bool(((true - costs) / size[ok]).mean() < std)


def build_truth(pv: Province, hm: HouseholdMonths | None = None) -> tuple[list[TruthRow], list[str], HouseholdMonths]:
    """Truth rows for the injected events and for the income rules' verdicts on every household (catalog
    v2: verified applicants and the relapse watch fire without an injected event); the self-check. ``hm``: the household-month facts with the v2 facts added
    (:func:`add_income_facts`), computed here when not given."""
    if hm is None:
        hm = household_months(pv)
        add_income_facts(pv, hm)
    nominal_fire = fire_matrices(hm)
    # the robustness variants only matter where something could fire: event households and every
    # household a v2 rule fires on (nominal, or with thresholds a little loosened)
    loose = fire_matrices(hm, k=-1, d=ROBUST_DELTA)
    v2_hit = np.zeros(pv.H, bool)
    for name in V2_RULES:
        v2_hit |= nominal_fire[name].any(axis=1) | loose[name].any(axis=1)
    ev_h = np.array(sorted({h for ev in pv.events for h in ev.households} | set(np.flatnonzero(v2_hit).tolist())),
                    dtype=np.int64)
    pos = np.full(pv.H, -1, np.int64)
    pos[ev_h] = np.arange(len(ev_h))
    sub = hm.take(ev_h)
    firsts = []
    for v in VARIANTS:
        fm = fire_matrices(sub, **v)
        firsts.append({k: first_month(m) for k, m in fm.items()})
    rows: list[TruthRow] = []
    pv.income_stats = income_stats(pv, hm, nominal_fire)

    def row(ev, h, ind, t, depts, required, note=None) -> TruthRow:
        return TruthRow(ev.event_id, ev.event_type, pv.household_id(h), str(pv.h_family[h]), str(pv.h_hukou[h]),
                        str(pv.p_id[ev.person]) if ev.person >= 0 else "", ind, pv.cal.period(t), depts,
                        note or ev.note, required)

    def oracle_row(ev, h, ind) -> TruthRow | None:
        f0 = firsts[0][ind][pos[h]]
        fv = [f[ind][pos[h]] for f in firsts]
        if f0 < 0 and max(fv) < 0:
            return None
        if f0 >= 0 and all(x == f0 for x in fv):
            t, req = int(f0), 1
        else:
            t = int(f0) if f0 >= 0 else int(min(x for x in fv if x >= 0))
            req = 0
        note = ev.note if req else ev.note + " (near a threshold: may or may not be raised)"
        below = truly_below(hm, ind, h, t)
        if below is False:
            req = 0
            note = ev.note + " (true income not below the line: a referral the check answers no)"
        depts = DEPARTMENTS.get(ind, "MCA")
        if ind == "INC_DROP":
            depts = "MCA;HRSS" if hm.lost_job[h, t] else "MCA"
        return row(ev, h, ind, t, depts, req, note)

    in_event = set()
    for ev in pv.events:
        have = set()
        for h in ev.households:
            in_event.add(h)
            for ind in ORACLE_INDICATORS:
                r = oracle_row(ev, h, ind)
                if r is not None:
                    rows.append(r)
                    have.add((ind, h))
        for ind, h, t, depts in ev.direct:
            if (ind, h) in have:
                continue
            if not 0 <= t < pv.T:
                continue
            rows.append(row(ev, h, ind, t, depts, 1))
            have.add((ind, h))
        for ind, h, t, depts in ev.possible:
            if (ind, h) in have or not 0 <= t < pv.T:
                continue
            rows.append(row(ev, h, ind, t, depts, 0, ev.note + " (possible consequence)"))
            have.add((ind, h))
        for ind, hid, t, depts, req, note in ev.extra:
            if 0 <= t < pv.T:
                rows.append(TruthRow(ev.event_id, ev.event_type, hid, "", hid[1:], str(pv.p_id[ev.person]), ind,
                                     pv.cal.period(t), depts, note, req))
    # households without an injected event that a v2 rule fires on: what the checks, the relapse watch
    # and the routine field visits reveal -- one pseudo-event per household
    near = {nm.household for nm in pv.near_misses}
    seq = 0
    for h in ev_h:
        h = int(h)
        if h in in_event or h in near:
            continue
        ev = None
        for ind in V2_RULES:
            if ev is None:
                seq += 1
                ev = _IncomeEvent(pv, hm, h, seq)
            r = oracle_row(ev, h, ind)
            if r is not None:
                rows.append(r)
    rows += _referral_check_rows(pv, hm, rows, near)
    issues = self_check(pv, hm, nominal_fire)
    return rows, issues, hm


def referral_checked(hm: HouseholdMonths) -> HouseholdMonths:
    """The household-month facts as if every household were verified, each month, by an assessed economic
    check of that month (:func:`assessed_income`)."""
    present = hm.size > 0
    return replace(hm, cov=np.where(present, income_mod.VERIFIED, hm.cov).astype(np.int8),
                   accepted=present.copy(), rule_income=np.where(present, hm.assessed, hm.rule_income))


def _referral_check_rows(pv: Province, hm: HouseholdMonths, rows: list[TruthRow], near: set) -> list[TruthRow]:
    """Truth rows (not required: consequences the pipeline may raise) for what an economic check that the
    pipeline's own referrals bring may make a rule raise. Offices answer an income question by asking the
    check centre for an assessed check (转介核对; a replay adds it to the check centre's delivery, see
    pipelines.demo.simulate_checks): which households that will be, the generator cannot know, so every
    household's rules are also run on its income as such a check would find it (nominal and a little
    loosened thresholds, for the check's noise). A near miss gets no such row: nothing may be raised on it."""
    have = {(r.household_id, r.indicator_code) for r in rows}
    checked = referral_checked(hm)
    fired = [fire_matrices(checked), fire_matrices(checked, k=-1, d=ROBUST_DELTA)]
    out = []
    seq = 0
    for name in ORACLE_INDICATORS:
        if name not in fired[0]:
            continue
        m = fired[0][name] | fired[1][name]
        for h in np.flatnonzero(m.any(axis=1)):
            h = int(h)
            if h in near or (pv.household_id(h), name) in have:
                continue
            seq += 1
            t = int(np.flatnonzero(m[h])[0])
            head = int(pv.h_head[h])
            out.append(TruthRow(f"RC{seq:05d}", "referral_check", pv.household_id(h), str(pv.h_family[h]),
                                str(pv.h_hukou[h]), str(pv.p_id[head]) if head >= 0 else "", name, pv.cal.period(t),
                                DEPARTMENTS.get(name, "MCA"), "what an economic check a referral brings (转介核对) "
                                "may make the rule raise on the income it finds", 0))
    return out


class _IncomeEvent:
    """A pseudo-event for the truth rows of a household without an injected event: what makes a v2
    income rule look at it (a verified or surveyed income, a hardship signal)."""

    def __init__(self, pv: Province, hm: HouseholdMonths, h: int, seq: int):
        cov = hm.cov[h]
        kinds = []
        if (cov == income_mod.VERIFIED).any():
            kinds.append("verified income (economic check)")
        if (cov == income_mod.SURVEYED).any():
            kinds.append("surveyed income (relapse watch)")
        if hm.signal_any[h].any():
            kinds.append("hardship signal")
        self.event_id = f"IR{seq:05d}"
        self.event_type = "income_rule"
        self.person = int(pv.h_head[h])
        self.note = "no injected event; the catalog v2 income rules see: " + (", ".join(kinds) or "its known income")


def income_stats(pv: Province, hm: HouseholdMonths, nominal: dict) -> dict:
    """What the summary reports about income: coverage shares, and what the v2 income rules raise on
    households without an injected event (household-months / households) and how many of those
    household-months are truly below the line."""
    normal = ~pv.h_event
    H, T = hm.size.shape
    fired = {}
    for name in ("ELIG_DIBAO", "ELIG_EDGE", "EXP_HARDSHIP", "TEKUN_CANDIDATE", "RELAPSE_RISK"):
        m = nominal[name] & normal[:, None]
        below = None
        if name in TRUE_INCOME_RULES:
            hh, tt = np.nonzero(m)
            below = int(sum(truly_below(hm, name, int(h), int(t)) for h, t in zip(hh, tt)))
        fired[name] = (int(m.sum()), int(m.any(axis=1).sum()), below)
    stats = {
        "coverage": income_mod.coverage_shares(pv, hm),
        "v2": fired,
        "hidden_households": int(((hm.hidden > 0).any(axis=1) & normal).sum()),
        "hidden_known": hm.hidden_known,
        "signals": int(len(pv.rec["signals"]["h"])) if "signals" in pv.rec else 0,
    }
    return stats


def self_check(pv: Province, hm: HouseholdMonths, nominal: dict[str, np.ndarray]) -> list[str]:
    """What would fire on households without an injected event (must be nothing).

    The v2 income rules, TEKUN_CANDIDATE and RELAPSE_RISK may fire on ordinary households -- a verified
    applicant, a household on the relapse watch -- and
    their verdicts are truth rows of their own (:func:`build_truth`); on the near-miss households they
    must not fire. Everything else must not fire on ordinary households, nor come within 20% of a
    threshold."""
    issues = []
    if hm.hidden_known:
        issues.append(f"{hm.hidden_known} person-months with hidden income whose income counts as known")
    normal = ~pv.h_event
    others = tuple(n for n in ORACLE_INDICATORS if n not in V2_RULES) + ("EXP_MED_B",)
    for ind in others:
        m = nominal[ind]
        bad = np.flatnonzero(normal & m.any(axis=1))
        for h in bad[:5]:
            issues.append(f"{ind} fires on ordinary household {pv.household_id(h)} in "
                          f"{pv.cal.period(int(m[h].argmax()))}")
        if len(bad) > 5:
            issues.append(f"{ind}: {len(bad) - 5} more ordinary households")
    income_near = np.array(sorted({nm.household for nm in pv.near_misses}), dtype=np.int64)
    for ind in V2_RULES:
        for h in income_near[nominal[ind][income_near].any(axis=1)] if len(income_near) else []:
            issues.append(f"{ind} fires on near-miss household {pv.household_id(int(h))}")
    near = np.flatnonzero(normal & lenient(hm, others))
    if len(near):
        issues.append(f"{len(near)} ordinary households within 20% of a threshold, e.g. "
                      f"{[pv.household_id(h) for h in near[:3]]}")
    # event-type records must belong to events
    event_p = {ev.person for ev in pv.events}
    event_h = {h for ev in pv.events for h in ev.households}
    he = pv.rec["hukou_events"]
    stray = [i for i in np.flatnonzero(np.isin(he["etype"], [act.BIRTH, act.DEATH, act.MOVE_IN]))
             if int(he["p"][i]) not in event_p and int(he["h"][i]) not in event_h]
    if stray:
        issues.append(f"{len(stray)} births/deaths/move-ins outside events")
    sev = (pv.p_cert_grade > 0) & (pv.p_cert_grade <= 2) & (pv.p_cert_issued >= pv.cal.first_day(0))
    if (sev & ~pv.h_event[pv.p_hh]).any():
        issues.append("severe certificate issued to an ordinary household")
    d = pv.rec["disasters"]
    big = (d["damage"] <= act.SEVERE) | (d["loss"] >= 10_000_00)
    if (big & ~pv.h_event[pv.p_hh[d["p"]]]).any():
        issues.append("a damaging disaster in an ordinary household")
    v = pv.rec["vehicles"]
    car = np.isin(v["vclass"], [act.CAR, act.TRUCK]) & np.isin(v["event"], [act.REGISTER, act.TRANSFER_IN])
    if (car & ~pv.h_event[pv.p_hh[v["p"]]] & np.isin(pv.h_cat[pv.p_hh[v["p"]]], [DIBAO, TEKUN, EDGE])).any():
        issues.append("a car in an ordinary enrolled family")
    b = pv.rec["business"]
    firm = (b["status"] == 0) & ((b["etype"] == 1) | (b["capital"] >= 100_000_00))
    if (firm & ~pv.h_event[pv.p_hh[b["p"]]]).any():
        issues.append("a company in an ordinary family")
    # duplicate enrolment and benefit after death only through events
    rp = pv.rp
    for t in range(pv.T):
        sel = (rp["t0"] <= t) & (rp["t1"] >= t)
        ps, fs = rp["p"][sel], rp["f"][sel]
        u, cnt = np.unique(ps, return_counts=True)
        dup = u[cnt > 1]
        if len(dup) and (~pv.h_event[fs[np.isin(ps, dup)]]).any():
            issues.append(f"duplicate enrolment in an ordinary family in {pv.cal.period(t)}")
            break
    return issues


def first_warning_summary(rows: list[TruthRow]) -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = {}
    for r in rows:
        c = out.setdefault(r.indicator_code, [0, 0])
        c[0 if r.required else 1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(out.items())}
