"""Life events injected at known months, each leaving its traces in the feeds that would see it,
and "near misses": things in ordinary households that look alarming but must raise nothing.

An :class:`Event` names the households it explains and the indicator rows that follow directly
from what was written (a death event -> POP_DEATH in that month). Indicators that depend on sums
over months (INC_DROP, EXP_*, ELIG_*, income EXIT_REVIEW) are computed afterwards by
:mod:`pipelines.synth.truth` from the data actually written.

Counts scale with the number of roster families (at least 2 of each kind). Event months leave room
for baselines: anything needing an income history happens at month index >= 4.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipelines.synth import activity as act
from pipelines.synth.common import NEVER, Cols, month_str, parse_month, stream
from pipelines.synth.population import (CHILD, DIBAO, EDGE, EMPLOYED, EXPENSE, FLEXIBLE, GRANDCHILD, HEAD,
                                        NON_ROSTER, NONE, NOROW, OTHER, OTHER_REL, PARENT, R_FLEX, RELAPSE, RETIRED,
                                        SPOUSE, TEKUN, UNEMPLOYED, Province, append_persons, person_ids, _names)

# events per roster family (at least MIN_EACH of each kind)
RATES = {
    "job_loss": 0.012, "catastrophic_illness": 0.006, "chronic_illness": 0.005, "college_entry": 0.004,
    "disaster_collapse": 0.004, "death_breadwinner": 0.003, "death_tekun": 0.002, "severe_disability": 0.004,
    "birth": 0.004, "exit_car": 0.002, "exit_company": 0.002, "exit_property": 0.002, "exit_deposits": 0.002,
    "dup_enroll": 0.0015, "review_overdue": 0.003, "hidden_poor": 0.003, "income_collapse": 0.002,
    # v2 (pipelines.synth.events Injector.v2_events)
    "child_orphaned": 0.002, "child_grandparents": 0.002, "great_grandparent_death": 0.0015,
    "long_unemployment": 0.003, "disaster_reported_daily": 0.002,
    "tekun_candidate": 0.003, "relapse_new_risk": 0.003,
}
NEAR_MISS_RATE = 0.002
MIN_EACH = 2


@dataclass
class Event:
    event_id: str
    event_type: str
    t: int
    households: list[int]
    person: int
    note: str
    # (indicator, household, month index, departments) that follow directly: required = 1
    direct: list = field(default_factory=list)
    # plausible consequences the rules may or may not raise: required = 0 unless computed otherwise
    possible: list = field(default_factory=list)
    # rows for households that are not in ``households`` (e.g. a newborn's hukou remainder): as given
    extra: list = field(default_factory=list)


@dataclass
class NearMiss:
    kind: str
    household: int
    person: int
    t: int
    note: str


class Picker:
    """Draws households for events; each household takes part in at most one event or near miss."""

    def __init__(self, pv: Province, rng):
        self.pv = pv
        self.rng = rng
        self.used = pv.h_event

    def pick(self, mask: np.ndarray, n: int) -> np.ndarray:
        pool = np.flatnonzero(mask & ~self.used)
        if len(pool) == 0 or n <= 0:
            return np.zeros(0, np.int64)
        hs = np.sort(self.rng.choice(pool, size=min(n, len(pool)), replace=False))
        self.used[hs] = True
        return hs


class Injector:
    def __init__(self, pv: Province):
        self.pv = pv
        self.rng = stream(pv.seed, "events")
        self.picker = Picker(pv, self.rng)
        self.T = pv.T
        self.F = pv.F
        amount0 = pv.hr_base[:, 0] + pv.hr_pension[:, 0] + pv.hr_ub[:, 0]
        self.amount0 = amount0
        self.income0 = np.bincount(pv.p_hh, weights=amount0, minlength=pv.H)
        self.hidden0 = np.bincount(pv.p_hh, weights=pv.hid_amt, minlength=pv.H)
        # persons are stored by household (head first); births are appended later
        self.first = pv.h_head.astype(np.int64)
        self.end = np.r_[pv.h_head[1:], pv.P].astype(np.int64)
        order = np.lexsort((amount0, pv.p_hh))
        last = np.ones(len(order), bool)
        last[:-1] = pv.p_hh[order][1:] != pv.p_hh[order][:-1]
        self.main = np.full(pv.H, -1, np.int64)
        self.main[pv.p_hh[order][last]] = order[last]
        self.share = np.divide(amount0[self.main], self.income0, out=np.zeros(pv.H), where=self.income0 > 0)
        self.size0 = np.bincount(pv.p_hh, minlength=pv.H)
        self.std = pv.std_matrix()
        self.age0 = pv.age_years(pv.cal.first_day(0))
        self.roster = np.arange(pv.H) < pv.F
        self.seq = 0
        self.cid = 10_000_000  # claim keys for event claims (routine claims get theirs later)
        self.new_visits: list[Cols] = []
        self.new_claims: list[Cols] = []
        self.counts: dict[str, int] = {}

    # -- helpers --------------------------------------------------------------------------------
    def n_for(self, kind: str) -> int:
        return max(MIN_EACH, int(round(RATES[kind] * self.F)))

    def months(self, lo: int, hi: int, n: int) -> np.ndarray:
        """n event months drawn in [lo, hi] (month indices), or empty when the range is empty."""
        hi = min(hi, self.T - 1)
        if hi < lo:
            return np.zeros(0, np.int64)
        return self.rng.integers(lo, hi + 1, n)

    def new_event(self, kind: str, t: int, hs: list[int], person: int, note: str) -> Event:
        self.seq += 1
        ev = Event(f"EV{self.seq:05d}", kind, int(t), [int(h) for h in hs], int(person), note)
        self.pv.events.append(ev)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return ev

    def day(self, t: int, lo: int = 3, hi: int = 25) -> np.datetime64:
        return self.pv.cal.first_day(t) + np.timedelta64(int(self.rng.integers(lo - 1, hi)), "D")

    def visit(self, h: int, t: int, finding: str, p: float = 0.7, person: int = -1) -> None:
        if self.rng.random() < p:
            self.new_visits.append(act.visit_for(self.pv, self.rng, h, t, finding, person))

    def members(self, h: int) -> np.ndarray:
        """Members listed for the whole period (no move-out, no death, not newborn)."""
        pv = self.pv
        if h < self.F:
            return pv.rp["p"][pv.rp["f"] == h]
        return np.flatnonzero((pv.p_hh == h) & (pv.p_out_t == NEVER) & (pv.p_death_t == NEVER) & (pv.p_from == 0))

    def make_visible(self, h: int) -> None:
        """The event is visible: every hidden income of the household goes on record (the hidden
        earner becomes an insured flexible worker, an elderly person's support is paid as pension), so
        its observed income is its true income and the income rules' truth holds against both."""
        pv = self.pv
        allm = np.arange(self.first[h], self.end[h])          # the household's members at the start
        mem = allm[pv.hid_amt[allm] > 0]
        for p in mem:
            amt = int(pv.hid_amt[p])
            if pv.hr_status[p, 0] == RETIRED:
                pv.hr_pension[p, :] += amt
            else:
                pv.hr_status[p, :] = FLEXIBLE
                jit = self.rng.uniform(0.98, 1.02, self.T)
                pv.hr_base[p, :] = (np.rint(amt * jit / 100) * 100).astype(np.int64)
                pv.p_role[p] = R_FLEX
            pv.hid_amt[p] = 0
            pv.hid_kind[p] = 0
        if len(mem):
            self.amount0[mem] = pv.hr_base[mem, 0] + pv.hr_pension[mem, 0] + pv.hr_ub[mem, 0]
            self.income0[h] = (pv.hr_base[allm, 0] + pv.hr_pension[allm, 0] + pv.hr_ub[allm, 0]).sum()
            self.hidden0[h] = 0

    def add_claims(self, p, t, vtype, cata, total, fund, crit, aid, rev=None, dates=None) -> np.ndarray:
        """Event settlements (collected, appended to the claims once in :meth:`finish`)."""
        n = len(p)
        cid = np.arange(self.cid, self.cid + n)
        self.cid += n
        day = np.array([self.day(int(x), 2, 26) for x in t], dtype="datetime64[D]") if dates is None else dates
        c = act.claims_table(p, t, day, vtype, cata, total, fund, crit, aid, rev=rev, cid=cid)
        c["routine"] = np.zeros(n, bool)
        self.new_claims.append(c)
        return cid

    # -- the events -------------------------------------------------------------------------------
    def job_loss(self) -> None:
        pv, n = self.pv, self.n_for("job_loss")
        main = self.main
        ok_main = (main >= 0)
        st0 = np.where(ok_main, pv.hr_status[np.maximum(main, 0), 0], 0)
        age_main = np.where(ok_main, self.age0[np.maximum(main, 0)], 99)
        base_ok = ok_main & np.isin(st0, [EMPLOYED, FLEXIBLE]) & (self.share >= 0.6) & (age_main < 57)
        roster_ok = self.roster & np.isin(pv.h_cat, [DIBAO, EDGE, EXPENSE, RELAPSE, OTHER]) & \
            ((pv.h_cat != DIBAO) | (pv.h_ratio >= 0.62))
        n_non = max(1, n * 3 // 10)
        hs = np.concatenate([self.picker.pick(base_ok & roster_ok, n - n_non),
                             self.picker.pick(base_ok & ~self.roster, n_non)])
        for h, t in zip(hs, self.months(4, self.T - 1, len(hs))):
            p = main[h]
            base = pv.hr_base[p, :t].mean()
            if pv.hr_status[p, 0] == EMPLOYED and self.rng.random() < 0.6:
                ub = np.rint(min(0.35 * base, 1900_00) / 100) * 100
                pv.hr_status[p, t:], pv.hr_base[p, t:], pv.hr_ub[p, t:] = UNEMPLOYED, 0, ub
                note = f"breadwinner registered unemployed in {month_str(pv.cal.abs(t))}, benefit {ub / 100:.0f} yuan"
            else:
                # roster families stay visible through the roster; a non-roster household is only
                # visible through its members' records, so its breadwinner keeps a 无 row
                new = NONE if (h >= self.F or self.rng.random() < 0.7) else NOROW
                pv.hr_status[p, t:], pv.hr_base[p, t:] = new, 0
                note = f"breadwinner's {'employment' if pv.hr_status[p, 0] == EMPLOYED else 'flexible work'} " \
                       f"ended in {month_str(pv.cal.abs(t))} (status {'无' if new == NONE else 'no record'})"
            ev = self.new_event("job_loss", t, [h], p, note)
            if pv.h_cat[h] not in (DIBAO, TEKUN):
                ev.possible += [("ELIG_DIBAO", h, t, "MCA")] + ([("ELIG_EDGE", h, t, "MCA")] if h >= self.F else [])
            ev.possible.append(("EXP_HARDSHIP", h, t, "MCA"))
            self.visit(h, t, "job_loss", 0.6 if h < self.F else 0.2, person=p)

    def catastrophic_illness(self) -> None:
        pv, n = self.pv, self.n_for("catastrophic_illness")
        ok = np.isin(pv.h_cat, [DIBAO, EDGE, EXPENSE, RELAPSE, OTHER, NON_ROSTER])
        n_non = max(1, n * 3 // 10)
        hs = np.concatenate([self.picker.pick(ok & self.roster, n - n_non), self.picker.pick(ok & ~self.roster, n_non)])
        for h, t in zip(hs, self.months(4, self.T - 1, len(hs))):
            self.make_visible(h)     # EXP_HARDSHIP weighs the costs against income: observed = true income
            mem = self.members(h)
            p = int(self.rng.choice(mem))
            months = np.arange(t, min(t + 3, self.T))
            total = np.array([self.rng.uniform(80_000, 300_000)] + [self.rng.uniform(10_000, 30_000)] * (len(months) - 1))
            total = (np.rint(total) * 100).astype(np.int64)
            fund = (total * 0.55).astype(np.int64)
            crit = (total * 0.18).astype(np.int64)
            aid_share = {DIBAO: 0.10, EDGE: 0.05}.get(int(pv.h_cat[h]), 0.0)
            aid = (total * aid_share).astype(np.int64)
            vt = np.where(np.arange(len(months)) == 0, act.INPATIENT,
                          self.rng.choice([act.INPATIENT, act.OUTPATIENT], len(months)))
            self.add_claims(np.full(len(months), p), months, vt, np.ones(len(months), bool), total, fund, crit, aid)
            oop = (total - fund - crit - aid)[0] / 100
            ev = self.new_event("catastrophic_illness", t, [h], p,
                                f"catastrophic inpatient care from {month_str(pv.cal.abs(t))}, first OOP {oop:.0f} yuan")
            ev.possible.append(("EXP_HARDSHIP", h, t, "MCA"))
            self.visit(h, t, "illness", 0.6 if h < self.F else 0.1, person=p)

    def chronic_illness(self) -> None:
        pv, n = self.pv, self.n_for("chronic_illness")
        hs = self.picker.pick(self.roster & np.isin(pv.h_cat, [DIBAO, EDGE, RELAPSE, OTHER]), n)
        for h, t in zip(hs, self.months(4, self.T - 2, len(hs))):
            self.make_visible(h)     # rule A weighs the cost against income: observed = true income
            mem = self.members(h)
            p = int(self.rng.choice(mem))
            monthly = 0.55 * self.size0[h] * self.std[h].max() + 0.6 * self.income0[h]
            months = np.arange(t, self.T)
            oop = (np.rint(monthly * self.rng.uniform(0.97, 1.03, len(months)) / 100) * 100).astype(np.int64)
            total = (oop / 0.35).astype(np.int64)
            fund = total - oop
            z = np.zeros(len(months), np.int64)
            self.add_claims(np.full(len(months), p), months, np.full(len(months), act.CHRONIC),
                            np.zeros(len(months), bool), total, fund, z, z)
            ev = self.new_event("chronic_illness", t, [h], p,
                                f"chronic special-disease care from {month_str(pv.cal.abs(t))}, "
                                f"about {monthly / 100:.0f} yuan out of pocket a month")
            ev.possible.append(("EXP_HARDSHIP", h, t, "MCA"))
            self.visit(h, t, "illness", 0.5, person=p)

    def college_entry(self) -> None:
        pv, n = self.pv, self.n_for("college_entry")
        terms = [m for m in pv.cal.term_months if 1 <= pv.cal.t_of(m) <= self.T - 1]
        autumn = [m for m in terms if m % 12 == 8]
        if not terms:
            return
        m_ev = autumn[0] if autumn else terms[0]
        t = pv.cal.t_of(m_ev)
        when = pv.cal.first_day(t)
        age_ev = pv.age_years(when)
        stu = pv.rec["students"]
        # a child turning ~18 by the term, in a low-income roster family
        cand_p = (pv.p_hh < self.F) & np.isin(pv.p_rel, [CHILD, GRANDCHILD]) & (age_ev >= 17.6) & (age_ev < 19.5) \
            & (self.age0 < 18) & (pv.p_death_t == NEVER)
        fam_ok = np.zeros(pv.H, bool)
        fam_ok[pv.p_hh[cand_p]] = True
        fam_ok &= np.isin(pv.h_cat, [DIBAO, EDGE, RELAPSE, OTHER]) & (self.income0 + self.hidden0 <= 2200_00)
        hs = self.picker.pick(fam_ok, n)
        for h in hs:
            self.make_visible(h)     # the rules weigh the cost against income: observed = true income
            p = int(np.flatnonzero(cand_p & (pv.p_hh == h))[0])
            tu = int(self.rng.integers(50, 66)) * 100 * 100
            bo = int(self.rng.integers(12, 19)) * 100 * 100
            aid = int(self.rng.integers(0, 6)) * 100 * 100
            keep = stu["p"] != p
            rows = []
            for m in pv.cal.term_months:
                if m < m_ev:
                    rows.append((m, act.SENIOR, 0, 500_00, 500_00))
                else:
                    rows.append((m, act.COLLEGE, tu, bo, aid))
            add = Cols(p=np.full(len(rows), p, np.int64), m=np.array([r[0] for r in rows], np.int64),
                       stage=np.array([r[1] for r in rows], np.int8), tuition=np.array([r[2] for r in rows], np.int64),
                       boarding=np.array([r[3] for r in rows], np.int64), aid=np.array([r[4] for r in rows], np.int64))
            stu = Cols.concat([stu.take(keep), add])
            cost = (tu + bo - aid) / 100
            ev = self.new_event("college_entry", t, [h], p,
                                f"child starts college in term {m_ev // 12}-{2 if m_ev % 12 == 8 else 1}: "
                                f"net cost {cost:.0f} yuan for the term")
            ev.possible.append(("EXP_HARDSHIP", h, t, "MCA"))
        pv.rec["students"] = stu

    def disaster_collapse(self) -> None:
        pv, n = self.pv, self.n_for("disaster_collapse")
        rural = ~pv.h_urban()
        n_non = max(1, n * 4 // 10)
        ok = rural & (pv.h_cat != TEKUN)
        hs = np.concatenate([self.picker.pick(ok & self.roster, n - n_non), self.picker.pick(ok & ~self.roster, n_non)])
        for i, (h, t) in enumerate(zip(hs, self.months(2, self.T - 1, len(hs)))):
            self._house_destroyed(int(h), int(t), 101 + i)

    def _house_destroyed(self, h: int, t: int, seq: int, kind: str = "disaster_collapse") -> None:
        """A disaster collapses or severely damages the household head's house in month t (record
        ``MEM<yyyymm><seq>``); the housing snapshots rate it D from then on."""
        pv = self.pv
        self.make_visible(h)     # EXP_HARDSHIP weighs the loss against income: observed = true income
        m = pv.cal.abs(t)
        damage = act.COLLAPSED if self.rng.random() < 0.75 else act.SEVERE
        loss = int(self.rng.integers(30, 150)) * 1000 * 100
        aid = int(self.rng.integers(3, 20)) * 1000 * 100
        dtype = self.rng.choice([0, 5, 2]) if m % 12 + 1 in (5, 6, 7, 8, 9) else self.rng.choice([4, 5, 2])
        did = f"MEM{m // 12:04d}{m % 12 + 1:02d}{seq:03d}"
        head = pv.h_head[h]
        pv.rec["disasters"] = Cols.concat([pv.rec["disasters"], act.disasters_table(
            [did], [dtype], [self.day(t, 1, 20)], [head], [t], [damage], [loss], [aid], routine=False)])
        pv.overrides.setdefault("dilap", []).append((int(h), t, 4))
        dmg = act.DAMAGE[damage]
        ev = self.new_event(kind, t, [h], head, f"{act.DISASTER_TYPES[dtype]}: house {dmg}, loss {loss / 100:.0f} yuan")
        ev.direct.append(("DISASTER", h, t, "MEM;MCA;MOHURD"))
        ev.possible.append(("EXP_HARDSHIP", h, t, "MCA"))
        self.visit(h, t, "house_damage", 0.8, person=int(head))

    def _kill(self, p: int, t: int) -> np.datetime64:
        pv = self.pv
        date = self.day(t, 4, 24)
        pv.p_death_t[p] = t
        pv.p_death_date[p] = date
        pv.hr_status[p, t:] = NOROW
        pv.hr_base[p, t:] = pv.hr_ub[p, t:] = pv.hr_pension[p, t:] = 0
        ev = act.hukou_events_table([p], [pv.p_hh[p]], [act.DEATH], [date], [t], routine=False)
        pv.rec["hukou_events"] = Cols.concat([pv.rec["hukou_events"], ev])
        return date

    def _leave_roster(self, h: int, p: int, t: int) -> None:
        """A roster member who died in month t is removed from the next snapshot; when it was the head,
        a surviving member becomes head (the spouse, else the eldest)."""
        pv = self.pv
        if h >= self.F:
            return
        rp = pv.rp
        mine = np.flatnonzero((rp["f"] == h) & (rp["p"] == p) & (rp["t1"] >= t))
        was_head = bool((rp["rel"][mine] == HEAD).any())
        rp["t1"][mine] = np.minimum(rp["t1"][mine], t)
        if not was_head:
            return
        others = np.flatnonzero((rp["f"] == h) & (rp["p"] != p) & (rp["t1"] > t))
        if not len(others):
            return
        sp = others[rp["rel"][others] == SPOUSE]
        j = sp[0] if len(sp) else others[np.argmin(pv.p_birth[rp["p"][others]])]
        new = Cols(f=np.array([h]), p=rp["p"][[j]], rel=np.array([HEAD], np.int8),
                   t0=np.array([t + 1]), t1=np.array([rp["t1"][j]]))
        rp["t1"][j] = t
        pv.rp = Cols.concat([rp, new])

    def death_breadwinner(self) -> None:
        pv, n = self.pv, self.n_for("death_breadwinner")
        main = self.main
        ok = (main >= 0) & (self.size0 >= 2) & (self.share >= 0.6)
        ok &= np.where(main >= 0, self.age0[np.maximum(main, 0)] < 65, False)
        ok &= np.isin(pv.h_cat, [DIBAO, EDGE, EXPENSE, RELAPSE, OTHER, NON_ROSTER]) & (pv.h_ratio > 0)
        n_non = max(1, n * 3 // 10)
        hs = np.concatenate([self.picker.pick(ok & self.roster, n - n_non), self.picker.pick(ok & ~self.roster, n_non)])
        for h, t in zip(hs, self.months(4, self.T - 2, len(hs))):
            p = int(main[h])
            date = self._kill(p, t)
            if pv.p_cert_grade[p]:
                pv.p_cert_cancel_t[p] = t + 1
            self._leave_roster(h, p, t)
            ev = self.new_event("death_breadwinner", t, [h], p,
                                f"main earner died on {date}; income stops"
                                + ("; removed from the roster from the next snapshot" if h < self.F else ""))
            ev.direct.append(("POP_DEATH", h, t, "MCA"))
            if pv.h_cat[h] not in (DIBAO, TEKUN):
                ev.possible += [("ELIG_DIBAO", h, t, "MCA")] + ([("ELIG_EDGE", h, t, "MCA")] if h >= self.F else [])
            ev.possible += [("INC_DROP", h, t, "MCA;HRSS"), ("EXP_HARDSHIP", h, t, "MCA")]
            self.visit(h, t, "death", 0.6 if h < self.F else 0.1, person=p)

    def death_tekun(self) -> None:
        pv, n = self.pv, self.n_for("death_tekun")
        hs = self.picker.pick(self.roster & (pv.h_cat == TEKUN), n)
        for h, t in zip(hs, self.months(1, self.T - 2, len(hs))):
            p = int(pv.h_head[h])
            date = self._kill(p, t)
            ev = self.new_event("death_tekun_benefit_continues", t, [h], p,
                                f"特困 recipient died on {date}; still on the roster with benefit afterwards")
            ev.direct += [("POP_DEATH", h, t, "MCA"), ("BENEFIT_AFTER_DEATH", h, t + 1, "MCA")]
            self.visit(h, t, "death", 0.3, person=p)

    def severe_disability(self) -> None:
        pv, n = self.pv, self.n_for("severe_disability")
        nonearner = ((pv.hr_status[:, :] == NOROW).all(axis=1) | (pv.hr_status == NONE).all(axis=1)) \
            & (pv.hid_amt == 0)
        cand = (pv.p_cert_grade == 0) & nonearner & (pv.p_death_t == NEVER) & (pv.p_out_t == NEVER)
        fam_ok = np.zeros(pv.H, bool)
        fam_ok[pv.p_hh[cand]] = True
        n_non = max(1, n * 3 // 10)
        hs = np.concatenate([self.picker.pick(fam_ok & self.roster, n - n_non),
                             self.picker.pick(fam_ok & ~self.roster, n_non)])
        for h, t in zip(hs, self.months(1, self.T - 1, len(hs))):
            p = int(self.rng.choice(np.flatnonzero(cand & (pv.p_hh == h))))
            grade = int(self.rng.choice([1, 2]))
            pv.p_cert_grade[p] = grade
            pv.p_cert_type[p] = int(self.rng.integers(0, 7))
            pv.p_cert_issued[p] = self.day(t, 2, 26)
            pv.p_cert_cancel_t[p] = NEVER
            ev = self.new_event("severe_disability", t, [h], p,
                                f"{act.GRADES_ZH[grade]} {act.DISABILITY_TYPES_ZH[pv.p_cert_type[p]]} certificate "
                                f"issued on {pv.p_cert_issued[p]}")
            ev.direct.append(("POP_DISABILITY", h, t, "CDPF"))
            self.visit(h, t, "disability", 0.5, person=p)

    def birth(self) -> None:
        pv, n = self.pv, self.n_for("birth")
        age = self.age0
        mother = (~pv.p_male) & (age >= 21) & (age < 40) & np.isin(pv.p_rel, [HEAD, SPOUSE, CHILD])
        has_mother = np.zeros(pv.H, bool)
        has_mother[pv.p_hh[mother]] = True
        n_non = max(1, n * 3 // 10)
        hs = np.concatenate([self.picker.pick(has_mother & self.roster & (pv.h_cat == DIBAO), n - n_non),
                             self.picker.pick(has_mother & ~self.roster & (pv.h_ratio >= 3.4), n_non)])
        months = self.months(1, self.T - 2, len(hs))
        if len(hs) == 0:
            return
        dates = np.array([self.day(int(t), 1, 27) for t in months], dtype="datetime64[D]")
        rels = np.array([CHILD if pv.p_rel[np.flatnonzero(mother & (pv.p_hh == h))[0]] in (HEAD, SPOUSE)
                         else GRANDCHILD for h in hs], np.int8)
        male = self.rng.random(len(hs)) < 0.52
        county = pv.regions.village_county[pv.h_village[hs]]
        ids = person_ids(county, dates, male)
        given = _names(self.rng, np.arange(len(hs)), rels)
        surname = np.array([str(pv.p_name[pv.h_head[h]])[:1] for h in hs])
        names = np.array([s[0] + g[1:] if s else "" for s, g in zip(surname, given)])
        names = np.where(hs < self.F, names, "")
        new = append_persons(pv, p_hh=hs, p_rel=rels, p_male=male, p_birth=dates, p_id=ids, p_name=names,
                             p_from=months)
        add = Cols(f=hs[hs < self.F].astype(np.int64), p=new[hs < self.F], rel=rels[hs < self.F],
                   t0=months[hs < self.F] + 1, t1=np.full((hs < self.F).sum(), self.T - 1, np.int64))
        pv.rp = Cols.concat([pv.rp, add])
        pv.rec["hukou_events"] = Cols.concat([pv.rec["hukou_events"], act.hukou_events_table(
            new, hs, np.full(len(hs), act.BIRTH), dates, months, routine=False)])
        for h, t, p, d in zip(hs, months, new, dates):
            ev = self.new_event("birth", t, [h], p, f"birth on {d}"
                                + ("; added to the roster from the next snapshot" if h < self.F else ""))
            ev.direct.append(("POP_BIRTH", h, t, "MCA"))
            if h < self.F:
                # until the roster adds the baby, the newborn is a hukou member without a roster family:
                # a pipeline may see it as its own one-person hukou household for that month
                hid = "H" + str(pv.h_hukou[h])
                note = "newborn listed in hukou before the roster adds it (one-person hukou remainder)"
                ev.extra += [(ind, hid, int(t), "MCA", 0, note) for ind in ("ELIG_DIBAO", "ELIG_EDGE", "POP_BIRTH")]
            self.visit(h, t, "new_member", 0.5 if h < self.F else 0.1, person=int(p))

    def _adult_member(self, h: int) -> int:
        pv = self.pv
        mem = self.members(h)
        ad = mem[self.age0[mem] >= 18]
        return int(self.rng.choice(ad)) if len(ad) else int(pv.h_head[h])

    def exit_car(self) -> None:
        pv, n = self.pv, self.n_for("exit_car")
        hs = self.picker.pick(self.roster & (pv.h_cat == DIBAO), n)
        parts = []
        for h, t in zip(hs, self.months(1, self.T - 1, len(hs))):
            p = self._adult_member(h)
            date = self.day(t)
            vc = act.CAR if self.rng.random() < 0.8 else act.TRUCK
            evt = act.REGISTER if self.rng.random() < 0.7 else act.TRANSFER_IN
            first = date if evt == act.REGISTER else date - np.timedelta64(int(self.rng.integers(700, 3000)), "D")
            parts.append(act.vehicles_table([p], [t], [vc], [first], [evt], [date], routine=False))
            ev = self.new_event("exit_car", t, [h], p, f"{act.VEHICLE_EVENTS[evt]} of a {act.VEHICLE_CLASSES[vc]} "
                                f"on {date} in a dibao family")
            ev.direct.append(("EXIT_REVIEW", h, t, "MCA"))
        pv.rec["vehicles"] = Cols.concat([pv.rec["vehicles"]] + parts)

    def exit_company(self) -> None:
        from pipelines.synth.population import uscc_codes

        pv, n = self.pv, self.n_for("exit_company")
        hs = self.picker.pick(self.roster & (pv.h_cat == DIBAO), n)
        parts = []
        for h, t in zip(hs, self.months(1, self.T - 1, len(hs))):
            p = self._adult_member(h)
            company = self.rng.random() < 0.75
            capital = int(self.rng.integers(10, 200)) * 10_000 * 100 if company else \
                int(self.rng.integers(12, 30)) * 10_000 * 100
            code = uscc_codes(self.rng, pv.h_county()[[h]], "91" if company else "92")
            role = 0 if (not company or self.rng.random() < 0.6) else 1
            parts.append(act.business_table(code, [p], [t], [role], [1 if company else 0], [capital], [0],
                                            [self.day(t)], routine=False))
            ev = self.new_event("exit_company", t, [h], p,
                                f"{'company' if company else 'individual business'} registered with capital "
                                f"{capital / 100:.0f} yuan ({'legal_rep' if role == 0 else 'investor'})")
            ev.direct.append(("EXIT_REVIEW", h, t, "MCA"))
        pv.rec["business"] = Cols.concat([pv.rec["business"]] + parts)

    def _quarter_months(self) -> list[int]:
        qs = self.pv.cal.quarter_months
        return [m for m in qs[1:] if 0 <= self.pv.cal.t_of(m) <= self.T - 1]

    def exit_property(self) -> None:
        pv, n = self.pv, self.n_for("exit_property")
        qs = self._quarter_months()
        if not qs:
            return
        hs = self.picker.pick(self.roster & (pv.h_cat == DIBAO), n)
        for h in hs:
            m = int(self.rng.choice(qs))
            t = pv.cal.t_of(m)
            p = int(pv.h_head[h])
            area = int(self.rng.integers(60, 140)) * 100
            pv.overrides.setdefault("prop", []).append((p, t, 1, area))
            ev = self.new_event("exit_property", t, [h], p,
                                f"one more registered property ({area / 100:.0f} m2) in the {month_str(m)} snapshot")
            ev.direct.append(("EXIT_REVIEW", h, t, "MCA"))

    def exit_deposits(self) -> None:
        pv, n = self.pv, self.n_for("exit_deposits")
        qs = self._quarter_months()
        if not qs:
            return
        hs = self.picker.pick(self.roster & (pv.h_cat == DIBAO), n)
        for h in hs:
            m = int(self.rng.choice(qs))
            t = pv.cal.t_of(m)
            p = int(pv.h_head[h])
            amount = int(np.rint(self.rng.uniform(32, 60) * self.std[h].max() * self.size0[h] / 100)) * 100
            pv.overrides.setdefault("dep", []).append((p, t, amount))
            ev = self.new_event("exit_deposits", t, [h], p,
                                f"deposits of {amount / 100:.0f} yuan in the {month_str(m)} bank snapshot")
            ev.direct.append(("EXIT_REVIEW", h, t, "MCA"))

    def dup_enroll(self) -> None:
        pv, n = self.pv, self.n_for("dup_enroll")
        age = self.age0
        # a person without any income (hidden income would count in both families)
        nonearner = ((pv.hr_status == NOROW).all(axis=1) | (pv.hr_status == NONE).all(axis=1)) & (pv.hid_amt == 0)
        cand = (pv.p_hh < self.F) & nonearner & (age >= 25) & (pv.p_rel != HEAD) & (pv.p_prop == 0)
        fam_ok = np.zeros(pv.H, bool)
        fam_ok[pv.p_hh[cand]] = True
        fam_ok &= (pv.h_cat == DIBAO)
        county = pv.h_county()
        for t in self.months(1, self.T - 1, n):
            a = self.picker.pick(fam_ok, 1)
            if len(a) == 0:
                return
            a = int(a[0])
            b = self.picker.pick(self.roster & (pv.h_cat == DIBAO) & (county != county[a]), 1)
            if len(b) == 0:
                self.picker.used[a] = False
                return
            b = int(b[0])
            p = int(np.flatnonzero(cand & (pv.p_hh == a))[0])
            pv.rp = Cols.concat([pv.rp, Cols(f=np.array([b]), p=np.array([p]), rel=np.array([OTHER_REL], np.int8),
                                             t0=np.array([t]), t1=np.array([self.T - 1]))])
            ev = self.new_event("dup_enroll", t, [a, b], p,
                                f"person enrolled in two families ({county[a]} and {county[b]}) from "
                                f"{month_str(pv.cal.abs(t))}")
            ev.direct += [("DUP_ENROLL", a, t, "MCA"), ("DUP_ENROLL", b, t, "MCA")]

    def review_overdue(self) -> None:
        pv, n = self.pv, self.n_for("review_overdue")
        lo, hi = -4, self.T - 7
        if hi < lo or self.T < 3:
            return
        # v2: 在保对象 only (dibao, tekun); 低保边缘 families are not on this review cycle
        hs = self.picker.pick(self.roster & np.isin(pv.h_cat, [DIBAO, TEKUN]), n)
        for h in hs:
            e0 = int(self.rng.integers(max(lo, 1 - 6), hi + 1))
            m = pv.cal.abs(e0)
            date = np.datetime64(f"{m // 12:04d}-{m % 12 + 1:02d}-{int(self.rng.integers(12, 19)):02d}")
            pv.h_econ_freeze[h] = date
            t = e0 + 6
            ev = self.new_event("review_overdue", t, [h], int(pv.h_head[h]),
                                f"economic checks and home visits stop after {date}")
            ev.direct.append(("REVIEW_OVERDUE", h, t, "MCA"))

    def _set_poor_income(self, h: int, t_from: int, target: float) -> int:
        """From ``t_from`` on, the household earns ``target`` cents a month, shared by its working-age
        adults as insured flexible workers (on record, so its coverage is ``full``). Returns the head."""
        pv = self.pv
        mem = np.flatnonzero((pv.p_hh == h) & (pv.p_from == 0))
        adults = mem[(self.age0[mem] >= 18) & ~pv.p_college[mem]]
        keep = int(pv.h_head[h])
        w = self.rng.uniform(0.5, 1.0, len(adults)) * np.where(adults == keep, 1.8, 1.0)
        T = self.T
        for p, share in zip(adults, w / w.sum()):
            jit = self.rng.uniform(0.98, 1.02, T - t_from)
            pv.hr_status[p, t_from:] = FLEXIBLE
            pv.hr_base[p, t_from:] = (np.rint(target * share * jit / 100) * 100).astype(np.int64)
            pv.hr_pension[p, t_from:] = pv.hr_ub[p, t_from:] = 0
            pv.p_employer[p] = -1
        return keep

    def _poor_pool(self) -> np.ndarray:
        """Households not on the roster whose every member is a child under 16 for all the months or a
        working-age adult (no teenager or student outside the school feed, no one near 60): once they
        earn through insured flexible work, all of their income is known."""
        pv = self.pv
        a = pv.age_years(pv.cal.first_day(0))
        odd = ((a >= 16 - self.T / 12 - 0.1) & (a < 18)) | pv.p_college | (a >= 59) | (pv.p_from > 0)
        bad = np.bincount(pv.p_hh, weights=odd.astype(float), minlength=pv.H) > 0
        return ~self.roster & ~bad

    def hidden_poor(self) -> None:
        """Non-roster households that are poor from the start (主动发现)."""
        pv, n = self.pv, self.n_for("hidden_poor")
        hs = self.picker.pick(self._poor_pool(), n)
        for i, h in enumerate(hs):
            self.make_visible(h)
            std = self.std[h]
            size = self.size0[h]
            dibao = i % 5 < 3
            r = self.rng.uniform(0.2, 0.7) if dibao else self.rng.uniform(1.15, 1.32)
            ref = std.min() if dibao else std[:3].max()
            keep = self._set_poor_income(h, 0, r * ref * size)
            pv.h_ratio[h] = r
            ev = self.new_event("hidden_poor", 2 if self.T > 2 else 0, [h], keep,
                                f"not on the roster; per-capita income about {r:.2f}x the 低保 standard from the start")
            ind = "ELIG_DIBAO" if dibao else "ELIG_EDGE"
            ev.possible.append((ind, h, min(2, self.T - 1), "MCA"))
            if self.rng.random() < 0.5:
                self.visit(h, int(self.rng.integers(0, self.T)), "no_change", 1.0)

    def income_collapse(self) -> None:
        """Non-roster households whose earnings collapse (job losses) at a known month."""
        pv, n = self.pv, self.n_for("income_collapse")
        true_pc = (self.income0 + self.hidden0) / np.maximum(self.size0, 1)
        ok = self._poor_pool() & (self.income0 > 0) & (true_pc >= 2.0 * self.std.max(axis=1))
        hs = self.picker.pick(ok, n)
        for i, (h, t) in enumerate(zip(hs, self.months(4, self.T - 3, len(hs)))):
            self.make_visible(h)
            size = self.size0[h]
            dibao = i % 2 == 0
            r = self.rng.uniform(0.3, 0.7) if dibao else self.rng.uniform(1.15, 1.30)
            ref = self.std[h].min() if dibao else self.std[h, t:].max()
            keep = self._set_poor_income(h, t, r * ref * size)
            ev = self.new_event("hidden_poor", t, [h], keep,
                                f"not on the roster; earnings collapse in {month_str(pv.cal.abs(t))} to about "
                                f"{r:.2f}x the 低保 standard per capita")
            ev.possible.append(("ELIG_DIBAO" if dibao else "ELIG_EDGE", h, t, "MCA"))
            self.visit(h, t, "job_loss", 0.3, person=keep)

    # -- catalog v2: TEKUN_CANDIDATE, RELAPSE_RISK ------------------------------------------------------
    def _catastrophic_stay(self, h: int, t: int, p: int) -> float:
        """One catastrophic inpatient settlement of member ``p`` in month ``t`` (a hardship signal; its
        out of pocket, 8,000-20,000 yuan after the funds, is an EXP_MED spike). Returns the OOP in yuan."""
        total = int(self.rng.integers(60, 120)) * 1000 * 100
        fund, crit = int(total * 0.55), int(total * 0.18)
        aid = int(total * {DIBAO: 0.10, EDGE: 0.05}.get(int(self.pv.h_cat[h]), 0.0))
        self.add_claims([p], [t], [act.INPATIENT], [True], [total], [fund], [crit], [aid])
        return (total - fund - crit - aid) / 100

    def tekun_candidate(self) -> None:
        """Dibao families of elderly people only (every member 60 or older through the months): one of
        them is hospitalised with a catastrophic illness -- the family may qualify for 特困 support."""
        pv, n = self.pv, self.n_for("tekun_candidate")
        age_end = pv.age_years(pv.cal.first_day(0))
        old = (age_end >= 60.2) & (pv.p_death_t == NEVER) & (pv.p_out_t == NEVER) & (pv.p_from == 0)
        young = np.bincount(pv.p_hh, weights=(~old).astype(float), minlength=pv.H) > 0
        hs = self.picker.pick(self.roster & (pv.h_cat == DIBAO) & ~young, n)
        for h, t in zip(hs, self.months(2, self.T - 1, len(hs))):
            p = int(self.rng.choice(self.members(h)))
            oop = self._catastrophic_stay(h, t, p)
            self.new_event("tekun_candidate", t, [h], p,
                           f"elderly dibao family, catastrophic inpatient care in {month_str(pv.cal.abs(t))} "
                           f"({oop:.0f} yuan out of pocket)")

    def relapse_new_risk(self) -> None:
        """Rural families on the relapse watch (monitored for other risks than illness): a member is
        hospitalised with a catastrophic illness after the watch began -- a new risk (因病)."""
        from pipelines.synth.checks import WATCH_SINCE, since_index

        pv, n = self.pv, self.n_for("relapse_new_risk")
        t0 = since_index(pv, WATCH_SINCE)
        # (families without students: their mid-term school aid stays as the routine grants it)
        pupils = np.zeros(pv.H, bool)
        pupils[pv.p_hh[pv.rec["students"]["p"]]] = True
        hs = self.picker.pick(self.roster & (pv.h_cat == RELAPSE) & ~pv.h_urban() & ~pupils, n)
        for h, t in zip(hs, self.months(max(t0, 2), self.T - 1, len(hs))):
            p = int(self.rng.choice(self.members(h)))
            oop = self._catastrophic_stay(h, t, p)
            pv.watch_risks[int(h)] = "产业失败"
            self.new_event("relapse_new_risk", t, [h], p,
                           f"relapse-watch family (risk 产业失败), catastrophic inpatient care in "
                           f"{month_str(pv.cal.abs(t))} ({oop:.0f} yuan out of pocket): a new risk")

    def income_near_misses(self) -> None:
        """Near misses of the catalog v2 income rules (must raise nothing): a farming household whose
        income the feeds do not see and that shows no hardship signal; a rural elderly couple on the
        basic pension; a household found in hardship and then checked above the edge line the same month
        (a referral check on registered business income); a household whose only signal is its own
        listing on the relapse watch."""
        from pipelines.synth.checks import REFERRAL, WATCH_SINCE, since_index
        from pipelines.synth.population import K_BUSINESS, K_FARM, K_MIGRANT, K_PROPERTY, R_BASIC

        pv, nm = self.pv, self.pv.near_misses
        n = max(1, int(round(NEAR_MISS_RATE * self.F)))
        v = pv.rec["visits"]
        hard = np.array([str(f) not in ("no_change", "new_member") for f in v["findings"]], bool)
        # a near miss shows nothing but what it is about: no routine visit finds its household in hardship
        # (a hardship signal would make the catalog v2 rules look at it)
        earlier = np.zeros(pv.H, bool)
        earlier[[x.household for x in nm]] = True
        keep = ~(hard & earlier[v["h"]])
        pv.rec["visits"] = v = v.take(keep)
        hard = hard[keep]
        visited = np.zeros(pv.H, bool)
        visited[v["h"][hard]] = True
        age = pv.age_years(pv.cal.first_day(0))      # (persons born during the months included)
        mem = np.flatnonzero(pv.p_from == 0)
        hh = pv.p_hh[mem]
        std_lo = self.std.min(axis=1) / 100.0
        obs = self.income0 / 100.0 / np.maximum(self.size0, 1)
        quiet = ~self.roster & ~visited & (obs < 0.5 * std_lo)
        rural = ~pv.h_urban()

        def count(mask):
            return np.bincount(hh, weights=mask[mem].astype(float), minlength=pv.H)

        # a farming household: every adult farms or works away off the record
        farmer = np.isin(pv.hid_kind, [K_FARM, K_MIGRANT])
        adults = (age >= 18)
        farm_hh = quiet & rural & (count(farmer) >= 1) & (count(adults & ~farmer) == 0)
        for h in self.picker.pick(farm_hh, n):
            nm.append(NearMiss("farmer_unknown_income", int(h), int(pv.h_head[h]), 0,
                               "farming household: income unknown to the feeds (无 rows), no hardship signal"))
        # a rural elderly couple on the 城乡居民基础养老金
        basic = (pv.p_role == R_BASIC) & (age >= 62)
        couple = quiet & rural & (self.size0 == 2) & (count(basic) == 2)
        for h in self.picker.pick(couple, n):
            nm.append(NearMiss("elderly_basic_pension", int(h), int(pv.h_head[h]), 0,
                               "rural elderly couple on the basic pension (150-300 yuan each), no hardship signal"))
        # found in hardship (registered unemployed), checked above the edge line later the same month
        reg = np.isin(pv.hid_kind, [K_BUSINESS, K_PROPERTY])
        reg_pc = np.bincount(pv.p_hh, weights=np.where(reg, pv.hid_amt, 0) / 100.0, minlength=pv.H) \
            / np.maximum(self.size0, 1)
        std_hi = self.std.max(axis=1) / 100.0
        from pipelines.synth.truth import edge_multipliers

        edge = edge_multipliers(pv) * std_hi
        idle = (age >= 18) & (age < 55) & np.isin(pv.hr_status[:, 0], [NOROW, NONE]) & (pv.p_from == 0)
        checked = quiet & (obs + reg_pc >= 1.3 * edge) & (count(idle) >= 1)
        t_lo = max(since_index(pv, WATCH_SINCE), 2)
        for h, t in zip(self.picker.pick(checked, n), self.months(t_lo, self.T - 1, n)):
            p = int(np.flatnonzero(idle & (pv.p_hh == h))[0])
            pv.hr_status[p, t:] = UNEMPLOYED
            day = pv.cal.first_day(t) + np.timedelta64(int(self.rng.integers(4, 20)), "D")
            pv.planned_checks.append((int(h), int(t), day, REFERRAL, 0))
            nm.append(NearMiss("checked_above_edge", int(h), p, int(t),
                               f"registered unemployed in {month_str(pv.cal.abs(t))}, then checked on {day} "
                               "(check_only: registered business income above the edge line)"))
        # on the relapse watch from a month of the data, nothing else
        t0 = since_index(pv, WATCH_SINCE)
        pens = count(np.isin(pv.p_role, [R_BASIC]) | (pv.hr_pension[:, 0] > 0))
        ok = ~self.roster & rural & ~visited & (pens == 0) & (pv.h_ratio * std_hi >= 1.6 * edge)
        for h, t in zip(self.picker.pick(ok, 1 if self.T - 1 > t0 + 1 else 0), self.months(t0 + 1, self.T - 1, 1)):
            pv.planned_watch.append((int(h), int(t)))
            nm.append(NearMiss("relapse_listing_only", int(h), int(pv.h_head[h]), int(t),
                               "listed on the relapse watch during the months; no other hardship signal"))

    # -- near misses ------------------------------------------------------------------------------
    def near_misses(self) -> None:
        pv = self.pv
        n = max(MIN_EACH, int(round(NEAR_MISS_RATE * self.F)))
        nm = pv.near_misses
        # a settlement and its reversal (冲销) in the same month, then the corrected small settlement
        hs = self.picker.pick(self.roster & np.isin(pv.h_cat, [EDGE, RELAPSE, OTHER, EXPENSE]), n)
        for h, t in zip(hs, self.months(1, self.T - 1, len(hs))):
            p = int(self.rng.choice(self.members(h)))
            tot = int(self.rng.integers(80, 160)) * 100 * 100
            fund = tot // 2
            d0 = np.array([self.day(int(t), 2, pv.cal.ndays(int(t)) - 4)], dtype="datetime64[D]")
            cid = self.add_claims([p], [t], [act.INPATIENT], [False], [tot], [fund], [0], [0], dates=d0)
            self.add_claims([p], [t], [act.INPATIENT], [False], [-tot], [-fund], [0], [0], rev=cid, dates=d0 + 2)
            self.add_claims([p], [t], [act.OUTPATIENT], [False], [800_00], [600_00], [0], [140_00], dates=d0 + 3)
            nm.append(NearMiss("claim_reversal", int(h), p, int(t),
                               f"settlement of {tot / 100:.0f} yuan reversed the same month, re-settled at 800"))
        # a motorcycle in a dibao family
        hs = self.picker.pick(self.roster & (pv.h_cat == DIBAO), n)
        parts = []
        for h, t in zip(hs, self.months(1, self.T - 1, len(hs))):
            p = self._adult_member(h)
            d = self.day(t)
            parts.append(act.vehicles_table([p], [t], [act.MOTORCYCLE], [d], [act.REGISTER], [d], routine=False))
            nm.append(NearMiss("motorcycle_dibao", int(h), p, int(t), "motorcycle registered in a dibao family"))
        pv.rec["vehicles"] = Cols.concat([pv.rec["vehicles"]] + parts)
        # a grade 四级 certificate issued this month
        cand = (pv.p_cert_grade == 0) & (pv.p_death_t == NEVER) & (pv.p_out_t == NEVER) & (pv.p_from == 0)
        fam = np.zeros(pv.H, bool)
        fam[pv.p_hh[cand]] = True
        hs = self.picker.pick(fam, n)
        for h, t in zip(hs, self.months(1, self.T - 1, len(hs))):
            p = int(self.rng.choice(np.flatnonzero(cand & (pv.p_hh == h))))
            pv.p_cert_grade[p], pv.p_cert_type[p] = 4, int(self.rng.integers(0, 7))
            pv.p_cert_issued[p] = self.day(t)
            nm.append(NearMiss("grade4_certificate", int(h), p, int(t), "四级 certificate issued (not severe)"))
        # a 50-yuan prescription in a household without income (nor pension)
        no_income = (self.income0 == 0) & (self.hidden0 == 0)
        hs = self.picker.pick(self.roster & (no_income if no_income[: self.F].any() else (pv.h_ratio == 0)), n)
        for h, t in zip(hs, self.months(1, self.T - 1, len(hs))):
            p = int(self.rng.choice(self.members(h)))
            self.add_claims([p], [t], [act.OUTPATIENT], [False], [80_00], [30_00], [0], [0])
            nm.append(NearMiss("small_prescription", int(h), p, int(t), "50 yuan out of pocket, household has no income"))
        # a disaster without house damage and a small loss
        hs = self.picker.pick(np.isin(pv.h_cat, [NON_ROSTER, DIBAO, TEKUN]), n)
        parts = []
        for i, (h, t) in enumerate(zip(hs, self.months(1, self.T - 1, len(hs)))):
            m = pv.cal.abs(t)
            loss = int(self.rng.integers(5, 30)) * 100 * 100
            parts.append(act.disasters_table([f"MEM{m // 12:04d}{m % 12 + 1:02d}{801 + i:03d}"],
                                             [act.disaster_type_for(m % 12 + 1, self.rng)], [self.day(t)],
                                             [pv.h_head[h]], [t], [act.NO_DAMAGE], [loss], [0], routine=False))
            nm.append(NearMiss("minor_disaster", int(h), int(pv.h_head[h]), int(t),
                               f"disaster without house damage, loss {loss / 100:.0f} yuan"))
        pv.rec["disasters"] = Cols.concat([pv.rec["disasters"]] + parts)

    # -- v2: children left without care (CHILD_NO_CARE) and the near misses of the v2 indicators ----
    # Drawn from their own random stream (``events_v2``) after every other event and near miss, so the
    # households and months of those stay as they were. CHILD_NO_CARE's truth rows are computed from
    # the records (pipelines.synth.referrals), like those of every death.
    def v2_events(self) -> None:
        self.rng = stream(self.pv.seed, "events_v2")
        self.picker = Picker(self.pv, self.rng)
        self.long_unemployment()
        self.disaster_reported_daily()
        self.child_orphaned()
        self.child_grandparents()
        self.great_grandparent_death()
        self.parent_moves_out()
        self.cert_renewal()

    def _death_consequences(self, ev: Event, h: int, t: int) -> None:
        pv = self.pv
        if pv.h_cat[h] not in (DIBAO, TEKUN):
            ev.possible += [("ELIG_DIBAO", h, t, "MCA")] + ([("ELIG_EDGE", h, t, "MCA")] if h >= self.F else [])
        ev.possible += [("INC_DROP", h, t, "MCA;HRSS"), ("EXP_HARDSHIP", h, t, "MCA")]

    def disaster_reported_daily(self) -> None:
        """A house destroyed in a month whose disasters are reported daily (catalog v2, from
        ``DISASTER_DAILY_SINCE``): the warning is due the night its record arrives, before the
        month's roster (DISASTER evaluated on arrival)."""
        from pipelines.synth.faults import DISASTER_DAILY_SINCE

        pv, n = self.pv, self.n_for("disaster_reported_daily")
        lo = max(2, parse_month(DISASTER_DAILY_SINCE) - pv.cal.start)
        hs = self.picker.pick(~pv.h_urban() & (pv.h_cat != TEKUN), n)
        for i, (h, t) in enumerate(zip(hs, self.months(lo, self.T - 1, len(hs)))):
            self._house_destroyed(int(h), int(t), 151 + i, kind="disaster_reported_daily")

    def long_unemployment(self) -> None:
        """A roster member of working age without any income registers as unemployed (no benefit) and
        stays registered: AID_EMPLOYMENT from the third month (its truth row comes from the records,
        pipelines.synth.referrals). Income and coverage do not change (a
        registered unemployed person without benefit is as unknown as one without a record)."""
        pv, n = self.pv, self.n_for("long_unemployment")
        end = pv.cal.last_day(self.T - 1)
        idle = ((pv.hr_status == NOROW) | (pv.hr_status == NONE)).all(axis=1) & (pv.hid_amt == 0)
        cand = idle & (pv.p_hh < self.F) & (self.pv.age_years(pv.cal.first_day(0)) >= 20) & (self.pv.age_years(end) < 55) \
            & (pv.p_death_t == NEVER) & ~pv.p_college
        fam = np.zeros(pv.H, bool)
        fam[pv.p_hh[cand]] = True
        hs = self.picker.pick(fam & self.roster, n)
        for h, t in zip(hs, self.months(1, self.T - 3, len(hs))):
            p = int(self.rng.choice(np.flatnonzero(cand & (pv.p_hh == h))))
            pv.hr_status[p, t:] = UNEMPLOYED
            self.new_event("long_unemployment", t, [h], p,
                           f"registered unemployed (no benefit) from {month_str(pv.cal.abs(t))}")

    def child_orphaned(self) -> None:
        """A single parent (18-59) dies and leaves only children under 18: CHILD_NO_CARE urgent."""
        pv, n = self.pv, self.n_for("child_orphaned")
        end = pv.cal.last_day(self.T - 1)
        head = pv.h_head
        ok = (self.size0 >= 2) & ((self.income0 > 0) | (self.hidden0 > 0)) & np.isin(pv.p_rel[head], [HEAD])
        ok &= (self.age0[head] >= 19) & (self.age0[head] < 58) & (pv.p_death_t[head] == NEVER)
        # every other member a child for the whole period, listed throughout
        minor = (self.pv.age_years(end) < 17.5) & (pv.p_death_t == NEVER) & (pv.p_out_t == NEVER) & (pv.p_from == 0)
        is_head = np.zeros(pv.P, bool)
        is_head[head] = True
        grown = np.bincount(pv.p_hh, weights=(~minor & ~is_head).astype(float), minlength=pv.H) > 0
        ok &= ~grown[: pv.H]
        n_non = max(1, n * 3 // 10)
        hs = np.concatenate([self.picker.pick(ok & self.roster, n - n_non), self.picker.pick(ok & ~self.roster, n_non)])
        for h, t in zip(hs, self.months(4, self.T - 2, len(hs))):
            self.make_visible(h)
            p = int(head[h])
            date = self._kill(p, t)
            if pv.p_cert_grade[p]:
                pv.p_cert_cancel_t[p] = t + 1
            self._leave_roster(h, p, t)
            ev = self.new_event("child_orphaned", t, [h], p,
                                f"single parent died on {date}; only children under 18 remain")
            ev.direct.append(("POP_DEATH", h, t, "MCA"))
            self._death_consequences(ev, h, t)
            self.visit(h, t, "death", 0.5, person=p)

    def child_grandparents(self) -> None:
        """Both parents (18-59) die in the same month (an accident); the children stay with their
        grandparents, all 60 or older: CHILD_NO_CARE medium (the town assesses who can care)."""
        pv, n = self.pv, self.n_for("child_grandparents")
        start, end = pv.cal.first_day(0), pv.cal.last_day(self.T - 1)
        age_s, age_e = self.pv.age_years(start), self.pv.age_years(end)
        alive = (pv.p_death_t == NEVER) & (pv.p_out_t == NEVER) & (pv.p_from == 0)
        rel = pv.p_rel

        def count(mask):
            return np.bincount(pv.p_hh, weights=mask.astype(float), minlength=pv.H)[: pv.H]

        parents = alive & np.isin(rel, [HEAD, SPOUSE]) & (age_s >= 19) & (age_e < 59)
        elders = alive & (rel == PARENT) & (age_s >= 60.5)
        kids = alive & np.isin(rel, [CHILD, GRANDCHILD]) & (age_e < 17.5)
        size = np.bincount(pv.p_hh, weights=alive.astype(float), minlength=pv.H)[: pv.H]
        ok = (count(parents) == 2) & (count(elders) >= 1) & (count(kids) >= 1)
        ok &= count(parents) + count(elders) + count(kids) == size
        ok &= ((self.income0 > 0) | (self.hidden0 > 0))
        n_non = max(1, n // 2)
        hs = np.concatenate([self.picker.pick(ok & self.roster, n - n_non), self.picker.pick(ok & ~self.roster, n_non)])
        for h, t in zip(hs, self.months(4, self.T - 2, len(hs))):
            self.make_visible(h)
            both = np.flatnonzero(parents & (pv.p_hh == h))
            date = min(self._kill(int(p), t) for p in both)
            for p in both:
                if pv.p_cert_grade[p]:
                    pv.p_cert_cancel_t[p] = t + 1
                self._leave_roster(h, int(p), t)
            ev = self.new_event("child_grandparents", t, [h], int(both[0]),
                                f"both parents died on {date}; the children stay with their grandparents (60+)")
            ev.direct.append(("POP_DEATH", h, t, "MCA"))
            self._death_consequences(ev, h, t)

    def great_grandparent_death(self) -> None:
        """A great-grandmother (85+) dies in a 低保 household of grandparents (60+) raising a grandchild:
        POP_DEATH only -- an older member's death while the household's adults remain is not a child
        left without care (the CHILD_NO_CARE near miss of the indicator system)."""
        pv, n = self.pv, self.n_for("great_grandparent_death")
        start, end = pv.cal.first_day(0), pv.cal.last_day(self.T - 1)
        age_s, age_e = self.pv.age_years(start), self.pv.age_years(end)
        alive = (pv.p_death_t == NEVER) & (pv.p_out_t == NEVER) & (pv.p_from == 0)

        def count(mask):
            return np.bincount(pv.p_hh, weights=mask.astype(float), minlength=pv.H)[: pv.H]

        elders = alive & np.isin(pv.p_rel, [HEAD, SPOUSE]) & (age_s >= 60.5)
        kids = alive & (pv.p_rel == GRANDCHILD) & (age_e < 17.5)
        size = np.bincount(pv.p_hh, weights=alive.astype(float), minlength=pv.H)[: pv.H]
        ok = self.roster & (pv.h_cat == DIBAO) & (count(elders) >= 1) & (count(kids) >= 1)
        ok &= count(elders) + count(kids) == size
        hs = self.picker.pick(ok, n)
        if not len(hs):
            return
        months = self.months(2, self.T - 2, len(hs))
        births = np.array([start - np.timedelta64(int(self.rng.integers(85 * 365, 95 * 365)), "D") for _ in hs],
                          dtype="datetime64[D]")
        county = pv.regions.village_county[pv.h_village[hs]]
        male = np.zeros(len(hs), bool)
        taken = {}
        for c, b in zip(county, births):
            key = f"{c}{str(b).replace('-', '')}0"
            prefix = key[:14]
            taken[key] = int(np.count_nonzero(np.char.startswith(pv.p_id, prefix) & ~pv.p_male))
        ids = person_ids(county, births, male, taken_seq=taken)
        names = np.array([str(pv.p_name[pv.h_head[h]])[:1] + "氏" for h in hs])
        new = append_persons(pv, p_hh=hs, p_rel=np.full(len(hs), PARENT, np.int8), p_male=male, p_birth=births,
                             p_id=ids, p_name=names, p_from=np.zeros(len(hs), np.int64))
        pv.rp = Cols.concat([pv.rp, Cols(f=hs.astype(np.int64), p=new, rel=np.full(len(hs), PARENT, np.int8),
                                         t0=np.zeros(len(hs), np.int64), t1=np.full(len(hs), self.T - 1, np.int64))])
        for h, p, t in zip(hs, new, months):
            date = self._kill(int(p), int(t))
            self._leave_roster(int(h), int(p), int(t))
            ev = self.new_event("great_grandparent_death", t, [h], int(p),
                                f"great-grandmother died on {date}; her grandchildren's grandparents (60+) remain "
                                f"(not a child left without care)")
            ev.direct.append(("POP_DEATH", h, t, "MCA"))

    def parent_moves_out(self) -> None:
        """Near miss: a parent's hukou moves out, the child stays with the other adults; no death, no
        CHILD_NO_CARE (nor anything else: the one who leaves earns nothing on record or off it)."""
        pv = self.pv
        n = max(MIN_EACH, int(round(NEAR_MISS_RATE * self.F)))
        end = pv.cal.last_day(self.T - 1)
        alive = (pv.p_death_t == NEVER) & (pv.p_out_t == NEVER) & (pv.p_from == 0)
        idle = ((pv.hr_status == NOROW) | (pv.hr_status == NONE)).all(axis=1) & (pv.hid_amt == 0)
        age_s = self.pv.age_years(pv.cal.first_day(0))
        mover = alive & idle & (pv.p_rel == SPOUSE) & (age_s >= 22) & (self.pv.age_years(end) < 59) & (pv.p_cert_grade == 0)
        kids = alive & (pv.p_rel == CHILD) & (self.pv.age_years(end) < 17.5)

        def has(mask):
            return np.bincount(pv.p_hh, weights=mask.astype(float), minlength=pv.H)[: pv.H] > 0

        certs = has(pv.p_cert_grade > 0)
        hs = self.picker.pick(~self.roster & has(mover) & has(kids) & ~certs, n)
        for h, t in zip(hs, self.months(1, self.T - 1, len(hs))):
            p = int(np.flatnonzero(mover & (pv.p_hh == h))[0])
            pv.p_out_t[p] = t
            pv.rec["hukou_events"] = Cols.concat([pv.rec["hukou_events"], act.hukou_events_table(
                [p], [h], [act.MOVE_OUT], [self.day(t)], [t], routine=False)])
            pv.near_misses.append(NearMiss("parent_moves_out", int(h), p, int(t),
                                           "a parent's hukou moves out; the child stays (not a child without care)"))

    def cert_renewal(self) -> None:
        """Near miss: a 一/二级 certificate held for years is renewed (换证): the snapshot shows the new
        发证日期 from that month, which is not a first certificate (POP_DISABILITY); the holder, off the
        roster, already receives the nursing subsidy (no AID_DISABILITY)."""
        from pipelines.synth.deliveries import subsidy_draws

        pv = self.pv
        n = max(MIN_EACH, int(round(NEAR_MISS_RATE * self.F)))
        u_nursing, _ = subsidy_draws(pv)
        held = (pv.p_cert_grade > 0) & (pv.p_cert_grade <= 2) & (pv.p_cert_issued < pv.cal.first_day(0) - 400) \
            & (pv.p_cert_cancel_t == NEVER) & (pv.p_death_t == NEVER) & (pv.p_out_t == NEVER) & (u_nursing < 0.88)
        fam = np.zeros(pv.H, bool)
        fam[pv.p_hh[held]] = True
        others = np.bincount(pv.p_hh, weights=((pv.p_cert_grade > 0) & ~held).astype(float), minlength=pv.H)[: pv.H]
        hs = self.picker.pick(fam & ~self.roster & (others == 0), n)
        for h, t in zip(hs, self.months(2, self.T - 1, len(hs))):
            p = int(np.flatnonzero(held & (pv.p_hh == h))[0])
            date = self.day(t, 2, 26)
            pv.overrides.setdefault("cert_renewal", []).append((p, int(t), date))
            pv.near_misses.append(NearMiss("cert_renewal", int(h), p, int(t),
                                           f"{act.GRADES_ZH[pv.p_cert_grade[p]]} certificate of {pv.p_cert_issued[p]} "
                                           f"renewed on {date} (not a first certificate)"))

    def finish(self) -> None:
        """Drop what cannot exist after a death (claims, school rows) and collect follow-up visits."""
        pv = self.pv
        c = pv.rec["claims"] = Cols.concat([pv.rec["claims"]] + self.new_claims)
        dead_t = pv.p_death_t[c["p"]]
        keep = c["t"] < dead_t
        same = c["t"] == dead_t
        keep |= same & (c["date"] < pv.p_death_date[c["p"]])
        pv.rec["claims"] = c.take(keep)
        s = pv.rec["students"]
        dt_ = pv.p_death_t[s["p"]]
        pv.rec["students"] = s.take((s["m"] - pv.cal.start) < dt_)
        pv.rec["visits"] = Cols.concat([pv.rec["visits"]] + self.new_visits)


ORDER = ("review_overdue", "dup_enroll", "death_tekun", "exit_property", "exit_deposits", "exit_car", "exit_company",
         "college_entry", "death_breadwinner", "job_loss", "catastrophic_illness", "chronic_illness",
         "disaster_collapse", "severe_disability", "birth", "hidden_poor", "income_collapse", "tekun_candidate",
         "relapse_new_risk")


def inject_events(pv: Province) -> dict[str, int]:
    inj = Injector(pv)
    for kind in ORDER:
        getattr(inj, kind)()
    inj.near_misses()
    inj.v2_events()
    inj.income_near_misses()
    inj.finish()
    return inj.counts
