"""Truth of the indicators of the indicator system v2 that follow from what the province's records
show, computed from exactly the values the generator writes (the rules of docs/indicators.md):

* AID_EDU -- an entitled student (roster family of an assisted category, at a non-compulsory stage or
  boarding) whose aid is still 0 in the term's mid-term delivery;
* AID_HOUSING -- a house rated D/C in a housing snapshot, the first time that rating shows for the
  household while it is an entitled roster family;
* AID_DISABILITY -- a certificate held 3 calendar months or more without the nursing (一/二级) or, in a
  dibao/edge family, the living subsidy, from the first period of CDPF layout v2 (which states the
  subsidies; a catalog v1 province carries the same truth, which its deliveries cannot show);
* AID_EMPLOYMENT -- a roster member aged 16-59 registered unemployed in each of the last 3 months;
* GRID_FINDING -- a field visit with a finding (illness, job loss, disability, death, house damage);
* CHILD_NO_CARE -- a death after which a child under 18 is left with no member aged 18+ (urgent), or
  the deceased was 18-59 and no member of that age remains (medium).

Most of these are routine facts of the province (a student whose aid was not granted, a C-rated
house, a holder without a subsidy), not injected events: each becomes a truth row (``required = 1``
in the first data month it holds) of the household's event when it follows from it
(``CONSEQUENCE_OF``: the D rating after a disaster, the missing subsidy of a new certificate, ...),
else of an *observed* event (``OB``-numbered). The pipeline raises the AID indicators again in later months while the
condition lasts; those are not false alarms (a truth row names the household and indicator).
"""

from __future__ import annotations

import numpy as np

from pipelines.synth import activity as act
from pipelines.synth.common import parse_month
from pipelines.synth.population import DIBAO, EDGE, RELAPSE, TEKUN, UNEMPLOYED, Province
from pipelines.synth.truth import HouseholdMonths, TruthRow, active_pairs, cert_persons, months_before

AID_HOUSING_CATEGORIES = (DIBAO, TEKUN, EDGE, RELAPSE)
LIVING_CATEGORIES = (DIBAO, EDGE)
FINDINGS = ("illness", "job_loss", "disability", "death", "house_damage")
MIN_CERT_MONTHS = 3
# injected events whose indicator must follow from the records (self-check)
EXPECTED = {"child_orphaned": "CHILD_NO_CARE", "child_grandparents": "CHILD_NO_CARE",
            "long_unemployment": "AID_EMPLOYMENT"}
ADULT, WORKING_MAX = 18, 59


# The injected events a fact may follow from: its truth row belongs to that event when the household
# has one of these; any other fact is a routine one of the province (an observed event, OB…).
CONSEQUENCE_OF = {
    "AID_EDU": ("college_entry",),
    "AID_HOUSING": ("disaster_collapse", "disaster_reported_daily"),
    "AID_DISABILITY": ("severe_disability",),
    "AID_EMPLOYMENT": ("long_unemployment", "job_loss"),
    "GRID_FINDING": None,       # every finding is an event's follow-up visit
    "CHILD_NO_CARE": None,      # every death is an event's
}


class _Rows:
    """Truth rows keyed by (indicator, household): only the first data month is kept."""

    def __init__(self, pv: Province):
        self.pv = pv
        self.first: dict[tuple[str, int], tuple[int, str, str, int]] = {}
        self.by_h = {}
        for ev in pv.events:
            for h in ev.households:
                self.by_h.setdefault(int(h), ev)

    def add(self, indicator: str, h: int, t: int, person: int, kind: str, note: str) -> None:
        key = (indicator, int(h))
        if key not in self.first or t < self.first[key][0]:
            self.first[key] = (int(t), kind, note, int(person))

    def rows(self, departments: dict[str, str]) -> list[TruthRow]:
        pv = self.pv
        out, seq = [], 0
        for (ind, h), (t, kind, note, person) in sorted(self.first.items()):
            ev = self.by_h.get(h)
            kinds = CONSEQUENCE_OF[ind]
            if ev is not None and (kinds is None or ev.event_type in kinds):
                eid, etype = ev.event_id, ev.event_type
            else:
                seq += 1
                eid, etype = f"OB{seq:05d}", kind
            out.append(TruthRow(eid, etype, pv.household_id(h), str(pv.h_family[h]), str(pv.h_hukou[h]),
                                str(pv.p_id[person]) if person >= 0 else "", ind, pv.cal.period(t),
                                departments[ind], note, 1))
        return out


DEPARTMENTS = {"AID_EDU": "MOE", "AID_HOUSING": "MOHURD", "AID_DISABILITY": "CDPF", "AID_EMPLOYMENT": "HRSS",
               "GRID_FINDING": "MCA", "CHILD_NO_CARE": "MCA"}


def _household_of(hm: HouseholdMonths, P: int, T: int) -> list[np.ndarray]:
    """Per month, each person's household (-1: none). A person in two roster families keeps one."""
    mh, mp, mt = hm.members
    out = []
    for t in range(T):
        sel = mt == t
        hh = np.full(P, -1, np.int64)
        hh[mp[sel]] = mh[sel]
        out.append(hh)
    return out


def _ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(d, "datetime64[D]")
    months = d.astype("datetime64[M]")
    return (months.astype("datetime64[Y]").astype(np.int64), months.astype(np.int64) % 12,
            (d - months.astype("datetime64[D]")).astype(np.int64))


def full_years(birth: np.ndarray, day) -> np.ndarray:
    """Completed years of age on ``day`` (one date, or one per person), as DuckDB's
    date_sub('year', birth, day) counts them."""
    by, bm, bd = _ymd(birth)
    dy, dm, dd = _ymd(np.broadcast_to(np.asarray(day, "datetime64[D]"), np.shape(birth)))
    return dy - by - ((dm < bm) | ((dm == bm) & (dd < bd))).astype(np.int64)


def referral_truth(pv: Province, hm: HouseholdMonths) -> tuple[list[TruthRow], list[str]]:
    """Truth rows of the six v2 indicators, and self-check issues. The same whatever the catalog of
    the deliveries (the province is the same): AID_DISABILITY's rows hold from the first period of the
    CDPF layout that states the subsidies, which only catalog v2 deliveries carry."""
    T = pv.T
    hh_of = _household_of(hm, pv.P, T)
    rows = _Rows(pv)
    _aid_edu(pv, hh_of, rows)
    _aid_housing(pv, hh_of, rows)
    _aid_disability(pv, hh_of, rows)
    _aid_employment(pv, rows)
    _grid_findings(pv, rows)
    issues = _child_no_care(pv, hm, hh_of, rows)
    return rows.rows(DEPARTMENTS), issues


def _aid_edu(pv: Province, hh_of: list[np.ndarray], rows: _Rows) -> None:
    s = pv.rec["students"]
    for m in pv.cal.term_months:
        t = pv.cal.t_of(m)
        if m < act.MIDTERM_SINCE_M or not 0 <= t < pv.T:
            continue
        idx = np.flatnonzero(s["m"] == m)
        p = s["p"][idx]
        h = hh_of[t][p]
        ok = (h >= 0) & (h < pv.F)
        ok &= np.isin(pv.h_cat[np.maximum(h, 0)], act.AID_CATEGORIES)
        ok &= np.isin(s["stage"][idx], act.NON_COMPULSORY) | (s["boarding"][idx] > 0)
        ok &= s["aid_mid"][idx] == 0
        for i in np.flatnonzero(ok):
            rows.add("AID_EDU", int(h[i]), t, int(p[i]), "aid_edu_not_granted",
                     f"{act.STAGES[s['stage'][idx[i]]]} student of a {pv.cal.period(t)} term without aid at mid-term")


def _aid_housing(pv: Province, hh_of: list[np.ndarray], rows: _Rows) -> None:
    from pipelines.synth.deliveries import housing_levels

    seen: dict[tuple[int, int], bool] = {}     # (person, level) shown while in an entitled family
    for m in sorted(pv.cal.quarter_months):
        t = pv.cal.t_of(m)
        if not 0 <= t < pv.T:
            continue
        pairs = pv.rp.take(active_pairs(pv, t))
        p, f = pairs["p"], pairs["f"]
        levels = housing_levels(pv, t)[p]
        ok = np.isin(pv.h_cat[f], AID_HOUSING_CATEGORIES) & (levels >= 3)
        worst: dict[int, tuple[int, int]] = {}
        for q, h, lv in zip(p[ok], f[ok], levels[ok]):
            if int(lv) > worst.get(int(h), (0, -1))[0]:
                worst[int(h)] = (int(lv), int(q))
        members: dict[int, list[int]] = {}
        for q, h in zip(p, f):
            members.setdefault(int(h), []).append(int(q))
        for h, (lv, q) in worst.items():
            if not any(seen.get((x, lv)) for x in members[h]):
                rows.add("AID_HOUSING", h, t, q, "housing_rated_" + "ABCD"[lv - 1],
                         f"house rated {'ABCD'[lv - 1]} in the {pv.cal.period(t)} housing snapshot")
        for q, lv in zip(p[ok], levels[ok]):
            seen[(int(q), int(lv))] = True


def _aid_disability(pv: Province, hh_of: list[np.ndarray], rows: _Rows) -> None:
    from pipelines.synth.deliveries import cdpf_subsidies, subsidy_draws
    from pipelines.synth.faults import CDPF_V2_SINCE

    u_nursing, u_living = subsidy_draws(pv)
    t0 = max(0, parse_month(CDPF_V2_SINCE) - pv.cal.start)
    for t in range(t0, pv.T):
        p = cert_persons(pv, t)
        pairs = pv.rp.take(active_pairs(pv, t))
        living, nursing = cdpf_subsidies(pv, t, p, u_nursing, u_living, pairs)
        valid = pv.p_cert_cancel_t[p] > t
        h = hh_of[t][p]
        cutoff = np.datetime64(months_before(pv.cal.last_day(t), MIN_CERT_MONTHS))
        held = pv.p_cert_issued[p] <= cutoff
        roster_cat = np.where((h >= 0) & (h < pv.F), pv.h_cat[np.maximum(h, 0)], -1)
        no_nursing = valid & (pv.p_cert_grade[p] <= 2) & ~nursing & held
        no_living = valid & np.isin(roster_cat, LIVING_CATEGORIES) & ~living & held
        for i in np.flatnonzero((h >= 0) & (no_nursing | no_living)):
            what = " and ".join(x for x, y in (("nursing", no_nursing[i]), ("living", no_living[i])) if y)
            rows.add("AID_DISABILITY", int(h[i]), t, int(p[i]), "disability_subsidy_missing",
                     f"certificate of {pv.p_cert_issued[p[i]]} without the {what} subsidy")


def _aid_employment(pv: Province, rows: _Rows) -> None:
    for t in range(2, pv.T):
        pairs = pv.rp.take(active_pairs(pv, t))
        p, f = pairs["p"], pairs["f"]
        unemployed = (pv.hr_status[p, t - 2:t + 1] == UNEMPLOYED).all(axis=1)
        age = full_years(pv.p_birth[p], pv.cal.last_day(t))
        for i in np.flatnonzero(unemployed & (age >= 16) & (age <= 59)):
            rows.add("AID_EMPLOYMENT", int(f[i]), t, int(p[i]), "registered_unemployed",
                     "registered unemployed for 3 months")


def _grid_findings(pv: Province, rows: _Rows) -> None:
    v = pv.rec["visits"]
    for i in range(len(v["h"])):
        codes = set(str(v["findings"][i]).split(";"))
        if codes & set(FINDINGS) and 0 <= int(v["t"][i]) < pv.T:
            rows.add("GRID_FINDING", int(v["h"][i]), int(v["t"][i]), int(v["p"][i]), "field_visit_finding",
                     f"field visit on {v['date'][i]}: {';'.join(sorted(codes & set(FINDINGS)))}")


def _child_no_care(pv: Province, hm: HouseholdMonths, hh_of: list[np.ndarray], rows: _Rows) -> list[str]:
    """Every death (each is an injected event's): the household before it (the month before, else
    the month itself), the members who remain (not dead by the end of the month, not moved out by the
    date of this death) and their ages on that date."""
    mh, mp, mt = hm.members
    T = pv.T
    key = mh.astype(np.int64) * T + mt
    order = np.argsort(key, kind="stable")
    key, members = key[order], mp[order]
    e = pv.rec["hukou_events"]
    moved = {}
    for q, d in zip(e["p"][e["etype"] == act.MOVE_OUT], e["date"][e["etype"] == act.MOVE_OUT]):
        moved[int(q)] = min(moved.get(int(q), d), d)
    fired: dict[tuple[int, int], int] = {}
    for q, d, t in zip(e["p"][e["etype"] == act.DEATH], e["date"][e["etype"] == act.DEATH],
                       e["t"][e["etype"] == act.DEATH]):
        q, t = int(q), int(t)
        if t < 1 or t >= pv.T:
            continue
        tc = t - 1 if hh_of[t - 1][q] >= 0 else t
        h = int(hh_of[tc][q])
        if h < 0:
            continue
        lo, hi = np.searchsorted(key, [h * T + tc, h * T + tc + 1])
        others = np.unique(members[lo:hi])
        others = others[others != q]
        end = pv.cal.last_day(t)
        gone = np.array([(not np.isnat(pv.p_death_date[x]) and pv.p_death_date[x] <= end)
                         or (x in moved and moved[x] <= d) for x in others], bool)
        rest = others[~gone]
        ages = full_years(pv.p_birth[rest], d)
        age_q = int(full_years(pv.p_birth[[q]], d)[0])
        children = int((ages < ADULT).sum())
        adults = int((ages >= ADULT).sum())
        working = int(((ages >= ADULT) & (ages <= WORKING_MAX)).sum())
        if children and not adults:
            level = 2
        elif children and ADULT <= age_q <= WORKING_MAX and not working:
            level = 1
        else:
            continue
        if level > fired.get((h, t), 0):
            fired[(h, t)] = level
            rows.add("CHILD_NO_CARE", h, t, q, "child_left_without_care",
                     f"death on {d}: {children} child(ren) left with "
                     + ("no adult" if level == 2 else f"{adults} member(s) aged 60+ only"))
    issues = []
    for ev in pv.events:
        expect = EXPECTED.get(ev.event_type)
        got = {ind for ind in ("CHILD_NO_CARE", "AID_EMPLOYMENT") for h in ev.households if (ind, h) in rows.first}
        if expect and expect not in got:
            issues.append(f"{ev.event_type} {ev.event_id}: no {expect} truth row")
        if ev.event_type == "great_grandparent_death" and "CHILD_NO_CARE" in got:
            issues.append(f"{ev.event_type} {ev.event_id}: CHILD_NO_CARE raised")
    return issues

