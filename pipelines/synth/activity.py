"""Routine, event-free activity: what departments record about ordinary households every month.

Everything here is sized so that it never moves a household near an indicator threshold: small
outpatient claims (medical aid covering most of it for assisted families), school costs mostly
covered by aid, motorcycles and tricycles, small individual businesses, minor disasters without
house damage, grade 三/四 disability certificates. Records are columnar (:class:`Cols`).
"""

from __future__ import annotations

import numpy as np

from pipelines.synth.common import NEVER, Cols, parse_month, stream
from pipelines.synth.population import (DIBAO, EDGE, EXPENSE, NON_ROSTER, RELAPSE, OTHER, TEKUN, Province)

STAGES = ("preschool", "primary", "junior", "senior", "vocational", "college", "graduate")
PRESCHOOL, PRIMARY, JUNIOR, SENIOR, VOCATIONAL, COLLEGE, GRADUATE = range(7)
UPPER_STAGES = (SENIOR, VOCATIONAL, COLLEGE, GRADUATE)
VISIT_TYPES = ("outpatient", "inpatient", "chronic_special")
OUTPATIENT, INPATIENT, CHRONIC = range(3)
VEHICLE_CLASSES = ("car", "truck", "motorcycle", "tricycle", "other")
CAR, TRUCK, MOTORCYCLE, TRICYCLE = range(4)
VEHICLE_EVENTS = ("register", "transfer_in", "transfer_out", "scrap")
REGISTER, TRANSFER_IN, TRANSFER_OUT, SCRAP = range(4)
DAMAGE = ("collapsed", "severe", "moderate", "none")
COLLAPSED, SEVERE, MODERATE, NO_DAMAGE = range(4)
DISASTER_TYPES = ("flood", "typhoon", "earthquake", "drought", "fire", "landslide", "other")
HUKOU_EVENTS = ("birth", "death", "move_in", "move_out", "marriage", "divorce")
BIRTH, DEATH, MOVE_IN, MOVE_OUT, MARRIAGE, DIVORCE = range(6)
ROLES = ("grid_worker", "village_assistant", "social_worker")
DISABILITY_TYPES_ZH = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
GRADES_ZH = ("", "一级", "二级", "三级", "四级")

EDU_CAP_CENTS = 1400_00        # routine net school cost per household and term (rule needs >= 3,000)
MIDTERM_SINCE = "2026-03"      # term 2026-1: the first term delivered twice (start and mid-term)
MIDTERM_SINCE_M = parse_month(MIDTERM_SINCE)
NON_COMPULSORY = (PRESCHOOL, SENIOR, VOCATIONAL, COLLEGE, GRADUATE)
AID_CATEGORIES = (DIBAO, TEKUN, EDGE, EXPENSE, RELAPSE)
OOP_CAP_CENTS = 120_00         # routine outpatient out-of-pocket per settlement

VISIT_NOTES = {
    "no_change": ["入户走访，家庭情况无明显变化", "电话回访，家庭成员情况稳定", "走访核实，生活基本正常",
                  "入户走访，家庭情况无变化。\n下次走访：下季度"],
    "illness": ["家中有人患病，已提醒办理门诊慢特病备案", "成员住院治疗，费用较高，需跟进", "户主身体不好，长期服药"],
    "job_loss": ["主要劳动力失业在家，暂无收入", "务工人员返乡，未找到工作", "家庭收入明显减少，已登记就业需求"],
    "disability": ["成员新办残疾证，需申请两项补贴", "家中有重度残疾人，需照护"],
    "house_damage": ["房屋受灾倒塌，暂住亲戚家", "房屋严重受损，需危房改造", "受灾后房屋损坏"],
    "death": ["户主已去世，家庭情况需重新核对", "家庭成员去世，已告知办理户籍注销", "特困人员已去世，待核减"],
    "new_member": ["家中新生儿出生，待办理增员", "家庭新增人口"],
}


def _pick(rng, pool: np.ndarray, n: int) -> np.ndarray:
    if len(pool) == 0 or n <= 0:
        return np.zeros(0, np.int64)
    return rng.choice(pool, size=min(n, len(pool)), replace=False)


def _days_in(pv: Province, t: np.ndarray | int, rng, lo: int = 1, hi_margin: int = 0) -> np.ndarray:
    """Random dates within data month(s) t."""
    t = np.atleast_1d(np.asarray(t))
    first = np.array([pv.cal.first_day(int(x)) for x in range(pv.T)])
    nd = np.array([pv.cal.ndays(int(x)) for x in range(pv.T)])
    span = np.maximum(nd[t] - hi_margin - lo + 1, 1)
    return first[t] + (lo - 1 + np.floor(rng.random(len(t)) * span).astype(np.int64)).astype("timedelta64[D]")


def build_routine(pv: Province) -> None:
    pv.rec["claims"] = routine_claims(pv)
    pv.rec["students"] = students(pv)
    pv.rec["vehicles"] = routine_vehicles(pv)
    pv.rec["business"] = routine_business(pv)
    pv.rec["disasters"] = routine_disasters(pv)
    pv.rec["hukou_events"] = routine_hukou_events(pv)
    routine_certificates(pv)
    pv.rec["visits"] = routine_visits(pv)


# --- medical claims ------------------------------------------------------------------------------

def claims_table(p, t, day, vtype, cata, total, fund, crit, aid, rev=None, cid=None) -> Cols:
    n = len(p)
    total, fund, crit, aid = (np.asarray(x, np.int64) for x in (total, fund, crit, aid))
    oop = total - fund - crit - aid
    return Cols(p=np.asarray(p, np.int64), t=np.asarray(t, np.int64), date=np.asarray(day, "datetime64[D]"),
                vtype=np.asarray(vtype, np.int8), cata=np.asarray(cata, bool),
                total=np.asarray(total, np.int64), fund=np.asarray(fund, np.int64),
                crit=np.asarray(crit, np.int64), aid=np.asarray(aid, np.int64), oop=np.asarray(oop, np.int64),
                rev=np.full(n, -1, np.int64) if rev is None else np.asarray(rev, np.int64),
                cid=np.full(n, -1, np.int64) if cid is None else np.asarray(cid, np.int64),
                routine=np.ones(n, bool))


def routine_claims(pv: Province) -> Cols:
    """Small outpatient claims for roster persons; steady 门诊特定病种 costs in 支出型困难 families."""
    rng = stream(pv.seed, "claims")
    T = pv.T
    roster_p = np.flatnonzero(pv.p_hh < pv.F)
    age = pv.age_years(pv.cal.first_day(0))[roster_p]
    prob = np.where(age >= 60, 0.22, np.where(age < 18, 0.10, 0.08))
    hit = rng.random((len(roster_p), T)) < prob[:, None]
    pi, ti = np.nonzero(hit)
    p = roster_p[pi]
    n = len(p)
    total = np.clip(np.rint(rng.lognormal(np.log(150), 0.6, n)), 30, 600).astype(np.int64) * 100
    total += rng.integers(0, 100, n)                      # fen, not whole yuan
    fund = (total * rng.uniform(0.5, 0.7, n)).astype(np.int64)
    cat = pv.h_cat[pv.p_hh[p]]
    aid_share = np.select([cat == TEKUN, cat == DIBAO, cat == EDGE],
                          [np.ones(n), rng.uniform(0.6, 0.9, n), rng.uniform(0.4, 0.7, n)], 0.0)
    aid = ((total - fund) * aid_share).astype(np.int64)
    oop = total - fund - aid
    excess = np.maximum(oop - OOP_CAP_CENTS, 0)
    fund += excess                                        # the cap is paid by the fund
    day = _days_in(pv, ti, rng)
    parts = [claims_table(p, ti, day, np.full(n, OUTPATIENT), np.zeros(n, bool), total, fund,
                          np.zeros(n, np.int64), aid)]

    # 支出型困难 families: one member with steady monthly chronic-special costs (they are the reason
    # the family is on the roster; they are excluded from EXP_HARDSHIP, and stay far from EXP_MED).
    fam = np.flatnonzero(pv.h_cat[: pv.F] == EXPENSE)
    if len(fam):
        size = np.bincount(pv.p_hh, minlength=pv.H)[fam]
        std_lo, _ = pv.std_bounds()
        member = pv.h_head[fam] + (rng.random(len(fam)) * size).astype(np.int64)
        monthly_oop = np.minimum(0.12 * std_lo[fam] * size, 300_00) * rng.uniform(0.9, 1.1, len(fam))
        pp = np.repeat(member, T)
        tt = np.tile(np.arange(T), len(fam))
        oop_c = np.repeat(monthly_oop, T).astype(np.int64)
        tot = (oop_c / rng.uniform(0.25, 0.4, len(tt))).astype(np.int64)
        aid = np.zeros(len(tt), np.int64)
        fund = tot - oop_c
        parts.append(claims_table(pp, tt, _days_in(pv, tt, rng), np.full(len(tt), CHRONIC),
                                  np.zeros(len(tt), bool), tot, fund, np.zeros(len(tt), np.int64), aid))
    return Cols.concat(parts)


# --- education -----------------------------------------------------------------------------------

def students(pv: Province) -> Cols:
    """One row per student and term: roster students plus non-roster aid applicants."""
    rng = stream(pv.seed, "students")
    P = pv.P
    u_stage = rng.random(P)          # senior vs vocational; college or not (stable per person)
    u_board = rng.random(P)
    u_tuit = rng.random(P)
    u_aid = rng.random(P)
    # students not on the roster who applied for aid: more in the countryside
    applicant = (pv.p_hh >= pv.F) & (rng.random(P) < np.where(pv.h_urban()[pv.p_hh], 0.35, 0.4))
    u_pend = stream(pv.seed, "aid_pending").random(P)
    roster_p = pv.p_hh < pv.F
    cat = pv.h_cat[pv.p_hh]
    rural = ~pv.h_urban()[pv.p_hh]
    waived = np.isin(cat, [DIBAO, TEKUN, EDGE])
    college_p = np.where(roster_p, 0.3, 0.5)
    parts = []
    for m in pv.cal.term_months:
        t = pv.cal.t_of(m)
        month = m % 12 + 1
        when = np.datetime64(f"{m // 12:04d}-{month:02d}-01")
        age = pv.age_years(when)
        alive = (pv.p_death_t > max(t, 0)) & (pv.p_from <= max(t, 0))
        stage = np.full(P, -1)
        stage[(age >= 3) & (age < 6)] = PRESCHOOL
        stage[(age >= 6) & (age < 12)] = PRIMARY
        stage[(age >= 12) & (age < 15)] = JUNIOR
        stage[(age >= 15) & (age < 18)] = np.where(u_stage[(age >= 15) & (age < 18)] < 0.78, SENIOR, VOCATIONAL)
        col = (age >= 18) & (age < 22) & (pv.p_ucol < college_p)
        stage[col] = COLLEGE
        keep = alive & (stage >= 0) & (roster_p | applicant)
        idx = np.flatnonzero(keep)
        st = stage[idx]
        tu = np.select([st == PRESCHOOL, st == SENIOR, st == COLLEGE],
                       [600 + u_tuit[idx] * 600, np.where(waived[idx], 0, 800 + u_tuit[idx] * 400),
                        2500 + u_tuit[idx] * 500], 0)
        boards = (u_board[idx] < np.where(rural[idx], 0.45, 0.15)) & (st != PRESCHOOL)
        bo = np.where(boards | (st == COLLEGE), 300 + u_board[idx] * 600, 0)
        bo = np.where(st == COLLEGE, 600 + u_board[idx] * 300, bo)
        aid = np.select([st == PRESCHOOL, np.isin(st, [PRIMARY, JUNIOR]), np.isin(st, [SENIOR, VOCATIONAL]),
                         st == COLLEGE],
                        [tu * (0.6 + 0.4 * u_aid[idx]), bo, 1000 + 0 * bo, 1650 + u_aid[idx] * 850], 0)
        aid = np.where(roster_p[idx], aid, aid * 0.5)
        tu_c = (np.rint(tu) * 100).astype(np.int64)
        bo_c = (np.rint(bo) * 100).astype(np.int64)
        aid_c = np.minimum((np.rint(aid) * 100).astype(np.int64), tu_c + bo_c)
        # cap each household's routine net cost for the term
        net = tu_c + bo_c - aid_c
        hh = pv.p_hh[idx]
        tot = np.bincount(hh, weights=net, minlength=pv.H)
        scale = np.where(tot[hh] > EDU_CAP_CENTS, EDU_CAP_CENTS / np.maximum(tot[hh], 1), 1.0)
        new_net = (np.floor(net * scale / 100) * 100).astype(np.int64)
        aid_c = tu_c + bo_c - new_net
        if m >= MIDTERM_SINCE_M:
            # from the first term with a mid-term delivery, the start-of-term delivery shows some
            # entitled students' aid as not yet granted (0), where the household's cost stays small
            pend = entitled(pv, idx, st, bo_c) & (u_pend[idx] < 0.35) & (aid_c > 0)
            tot_after = np.bincount(hh, weights=new_net + np.where(pend, aid_c, 0), minlength=pv.H)
            pend &= tot_after[hh] <= EDU_CAP_CENTS
            aid_c = np.where(pend, 0, aid_c)
        parts.append(Cols(p=idx.astype(np.int64), m=np.full(len(idx), m, np.int64), stage=st.astype(np.int8),
                          tuition=tu_c, boarding=bo_c, aid=aid_c))
    return Cols.concat(parts)


def entitled(pv: Province, p: np.ndarray, stage: np.ndarray, boarding: np.ndarray) -> np.ndarray:
    """Students entitled to education aid: of a roster family in an assisted category, at a
    non-compulsory stage or boarding."""
    h = pv.p_hh[p]
    return (h < pv.F) & np.isin(pv.h_cat[h], AID_CATEGORIES) & (np.isin(stage, NON_COMPULSORY) | (boarding > 0))


def midterm_aid(pv: Province) -> None:
    """``students["aid_mid"]``: the aid shown by the mid-term delivery (about 60 days into a term,
    from the first term of ``MIDTERM_SINCE``): most entitled students have been granted aid (their
    tuition and boarding, up to 3,300 yuan a term, and a living allowance from the senior stage on:
    aid may exceed the fees), some have not. Aid only grows; students of an injected event's household
    keep their start-of-term aid (the truth is computed on it)."""
    s = pv.rec["students"]
    rng = stream(pv.seed, "midterm")
    n = len(s["p"])
    full = s["tuition"] + s["boarding"]
    # fees and boarding covered (up to 3,300 yuan), plus the national grant's living allowance at the
    # senior and higher stages (so a student whose fees are waived still receives aid)
    living = np.select([np.isin(s["stage"], [SENIOR, VOCATIONAL]), np.isin(s["stage"], [COLLEGE, GRADUATE])],
                       [1000_00, 1650_00], 0)
    granted = entitled(pv, s["p"], s["stage"], s["boarding"]) & ~pv.h_event[pv.p_hh[s["p"]]] \
        & (s["m"] >= MIDTERM_SINCE_M) & (rng.random(n) < 0.85)
    s["aid_mid"] = np.where(granted, np.maximum(s["aid"], np.minimum(full, 3300_00) + living), s["aid"])


# --- vehicles, businesses ------------------------------------------------------------------------

def vehicles_table(p, t, vclass, first_reg, event, date, routine=True) -> Cols:
    n = len(p)
    return Cols(p=np.asarray(p, np.int64), t=np.asarray(t, np.int64), vclass=np.asarray(vclass, np.int8),
                first=np.asarray(first_reg, "datetime64[D]"), event=np.asarray(event, np.int8),
                date=np.asarray(date, "datetime64[D]"), routine=np.full(n, routine))


def _roster_adults(pv: Province, t: int, age_lo=18, age_hi=70, cats=None) -> np.ndarray:
    age = pv.age_years(pv.cal.first_day(t))
    ok = (pv.p_hh < pv.F) & (age >= age_lo) & (age < age_hi) & (pv.p_death_t > t) & (pv.p_from <= t)
    if cats is not None:
        ok &= np.isin(pv.h_cat[pv.p_hh], cats)
    return np.flatnonzero(ok)


def routine_vehicles(pv: Province) -> Cols:
    rng = stream(pv.seed, "vehicles")
    parts = []
    n_reg = max(1, int(round(0.003 * pv.F)))
    n_scrap = max(1, int(round(0.001 * pv.F)))
    for t in range(pv.T):
        pool = _roster_adults(pv, t, 18, 65)
        p = _pick(rng, pool, n_reg)
        date = _days_in(pv, np.full(len(p), t), rng)
        vc = rng.choice([MOTORCYCLE, TRICYCLE], len(p), p=[0.7, 0.3])
        parts.append(vehicles_table(p, np.full(len(p), t), vc, date, np.full(len(p), REGISTER), date))
        p = _pick(rng, pool, n_scrap)
        date = _days_in(pv, np.full(len(p), t), rng)
        first = date - rng.integers(2000, 5000, len(p)).astype("timedelta64[D]")
        parts.append(vehicles_table(p, np.full(len(p), t), np.full(len(p), MOTORCYCLE), first,
                                    np.full(len(p), SCRAP), date))
    return Cols.concat(parts)


def business_table(credit, p, t, role, etype, capital, status, date, routine=True) -> Cols:
    n = len(p)
    return Cols(credit=np.asarray(credit, "U18"), p=np.asarray(p, np.int64), t=np.asarray(t, np.int64),
                role=np.asarray(role, np.int8), etype=np.asarray(etype, np.int8),
                capital=np.asarray(capital, np.int64), status=np.asarray(status, np.int8),
                date=np.asarray(date, "datetime64[D]"), routine=np.full(n, routine))


def routine_business(pv: Province) -> Cols:
    from pipelines.synth.population import uscc_codes

    rng = stream(pv.seed, "business")
    parts = []
    n_new = max(1, int(round(0.002 * pv.F)))
    n_cancel = max(1, int(round(0.001 * pv.F)))
    for t in range(pv.T):
        pool = _roster_adults(pv, t, 20, 60, [DIBAO, EDGE, RELAPSE, OTHER, EXPENSE])
        for status, n in ((0, n_new), (1, n_cancel)):
            p = _pick(rng, pool, n)
            region = pv.h_county()[pv.p_hh[p]]
            codes = uscc_codes(rng, region, "92")
            capital = (rng.integers(3, 50, len(p)) * 1000 * 100).astype(np.int64)
            date = _days_in(pv, np.full(len(p), t), rng)
            parts.append(business_table(codes, p, np.full(len(p), t), np.zeros(len(p)), np.zeros(len(p)),
                                        capital, np.full(len(p), status), date))
    return Cols.concat(parts)


# --- disasters -----------------------------------------------------------------------------------

def disasters_table(did, dtype, occurred, p, t, damage, loss, aid, routine=True) -> Cols:
    n = len(p)
    return Cols(did=np.asarray(did, "U20"), dtype=np.asarray(dtype, np.int8),
                date=np.asarray(occurred, "datetime64[D]"), p=np.asarray(p, np.int64), t=np.asarray(t, np.int64),
                damage=np.asarray(damage, np.int8), loss=np.asarray(loss, np.int64), aid=np.asarray(aid, np.int64),
                routine=np.full(n, routine))


def disaster_type_for(month: int, rng) -> int:
    if month in (6, 7, 8):
        return int(rng.choice([0, 1, 5], p=[0.6, 0.2, 0.2]))
    if month in (12, 1, 2):
        return int(rng.choice([4, 6], p=[0.7, 0.3]))
    return int(rng.choice([3, 5, 6, 0], p=[0.3, 0.3, 0.2, 0.2]))


def routine_disasters(pv: Province) -> Cols:
    """One minor disaster a month in one town: no or moderate house damage, small losses, households
    that are far from EXP_HARDSHIP (non-roster, or categories the rule excludes)."""
    rng = stream(pv.seed, "disasters")
    parts = []
    town = pv.regions.village_town[pv.h_village]
    ok_cat = np.isin(pv.h_cat, [NON_ROSTER, DIBAO, TEKUN, EXPENSE])
    k = max(1, int(round(0.0015 * pv.H)))
    for t in range(pv.T):
        m = pv.cal.abs(t)
        tw = int(rng.integers(0, town.max() + 1))
        pool = np.flatnonzero((town == tw) & ok_cat)
        if len(pool) == 0:
            pool = np.flatnonzero(ok_cat)
        hs = _pick(rng, pool, k)
        p = pv.h_head[hs]
        n = len(p)
        day = _days_in(pv, np.full(1, t), rng, 1, 5)[0]
        damage = np.where(rng.random(n) < 0.6, NO_DAMAGE, MODERATE)
        loss = (rng.integers(3, 40, n) * 100 * 100).astype(np.int64)
        aid = (np.floor(loss * rng.uniform(0, 0.2, n) / 10000) * 10000).astype(np.int64)
        did = f"MEM{m // 12:04d}{m % 12 + 1:02d}{1:03d}"
        parts.append(disasters_table(np.full(n, did), np.full(n, disaster_type_for(m % 12 + 1, rng)),
                                     np.full(n, day), p, np.full(n, t), damage, loss, aid))
    return Cols.concat(parts)


# --- hukou events, certificates, visits ----------------------------------------------------------

def hukou_events_table(p, h, etype, date, t, routine=True) -> Cols:
    n = len(p)
    return Cols(p=np.asarray(p, np.int64), h=np.asarray(h, np.int64), etype=np.asarray(etype, np.int8),
                date=np.asarray(date, "datetime64[D]"), t=np.asarray(t, np.int64), routine=np.full(n, routine))


def routine_hukou_events(pv: Province) -> Cols:
    """Young adults moving their hukou out (to study or work elsewhere) and marriages, in non-roster
    households; none of them changes who earns what."""
    rng = stream(pv.seed, "hukou")
    parts = []
    nonroster = pv.p_hh >= pv.F
    no_income = (pv.hr_status == 0).all(axis=1) & (pv.p_cert_grade == 0) & (pv.hid_amt == 0)
    n_out = max(1, int(round(0.0004 * (pv.H - pv.F))))
    n_mar = max(1, int(round(0.0003 * (pv.H - pv.F))))
    used = np.zeros(pv.P, bool)
    for t in range(pv.T):
        age = pv.age_years(pv.cal.first_day(t))
        head = np.zeros(pv.P, bool)
        head[pv.h_head] = True
        pool = np.flatnonzero(nonroster & no_income & ~head & (age >= 18) & (age < 26) & ~used
                              & (pv.p_out_t == NEVER) & (pv.p_death_t == NEVER))
        p = _pick(rng, pool, n_out)
        used[p] = True
        pv.p_out_t[p] = t
        parts.append(hukou_events_table(p, pv.p_hh[p], np.full(len(p), MOVE_OUT),
                                        _days_in(pv, np.full(len(p), t), rng), np.full(len(p), t)))
        pool = np.flatnonzero(nonroster & (age >= 22) & (age < 36) & ~used & (pv.p_out_t == NEVER))
        p = _pick(rng, pool, n_mar)
        used[p] = True
        parts.append(hukou_events_table(p, pv.p_hh[p], np.full(len(p), MARRIAGE),
                                        _days_in(pv, np.full(len(p), t), rng), np.full(len(p), t)))
    return Cols.concat(parts)


def routine_certificates(pv: Province) -> None:
    """A few new grade 三/四 certificates each month (not severe: no POP_DISABILITY)."""
    rng = stream(pv.seed, "certs")
    n = max(1, int(round(0.0004 * pv.P)))
    for t in range(pv.T):
        pool = np.flatnonzero((pv.p_cert_grade == 0) & (pv.p_death_t == NEVER) & (pv.p_from <= t))
        p = _pick(rng, pool, n)
        pv.p_cert_grade[p] = rng.choice([3, 4], len(p))
        pv.p_cert_type[p] = rng.integers(0, 7, len(p))
        pv.p_cert_issued[p] = _days_in(pv, np.full(len(p), t), rng)
        pv.p_cert_cancel_t[p] = NEVER


def visits_table(h, date, role, findings, note, t, p=None) -> Cols:
    """Field visits; ``p`` is the member the finding concerns (-1: none, e.g. ``no_change``)."""
    n = len(h)
    return Cols(h=np.asarray(h, np.int64), date=np.asarray(date, "datetime64[D]"), role=np.asarray(role, np.int8),
                findings=np.asarray(findings, object), note=np.asarray(note, object), t=np.asarray(t, np.int64),
                p=np.full(n, -1, np.int64) if p is None else np.asarray(p, np.int64))


def routine_visits(pv: Province) -> Cols:
    rng = stream(pv.seed, "visits")
    parts = []
    n_roster = max(3, int(round(0.06 * pv.F)))
    n_other = max(1, int(round(0.003 * (pv.H - pv.F))))
    urban = pv.h_urban()
    for t in range(pv.T):
        hs = np.concatenate([_pick(rng, np.arange(pv.F), n_roster), _pick(rng, np.arange(pv.F, pv.H), n_other)])
        n = len(hs)
        # a routine visit finds nothing: a finding (illness, job loss, ...) is a referral (GRID_FINDING),
        # so findings come only with injected events (pipelines.synth.events); the draw is kept so the
        # stream stays as it was
        rng.random(n)
        kind = np.full(n, "no_change", dtype=object)
        notes = np.array([VISIT_NOTES[k][int(i)] for k, i in
                          zip(kind, rng.integers(0, 3, n))], dtype=object)
        nl = rng.random(n) < 0.03
        notes[nl & (kind == "no_change")] = VISIT_NOTES["no_change"][3]
        role = np.where(rng.random(n) < 0.1, 2, np.where(urban[hs], 0, 1))
        rng.random(n)   # (the member a finding would concern)
        parts.append(visits_table(hs, _days_in(pv, np.full(n, t), rng), role, kind, notes,
                                  np.full(n, t), np.full(n, -1, np.int64)))
    return Cols.concat(parts)


def visit_for(pv: Province, rng, h: int, t: int, finding: str, person: int = -1) -> Cols:
    """A follow-up visit after an event, within the event month or the next one."""
    tt = min(t + int(rng.integers(0, 2)), pv.T - 1)
    date = _days_in(pv, np.array([tt]), rng)
    if tt == t:
        date = np.maximum(date, pv.cal.first_day(t) + np.timedelta64(14, "D"))
        date = np.minimum(date, pv.cal.last_day(t))
    note = VISIT_NOTES[finding][int(rng.integers(0, len(VISIT_NOTES[finding])))]
    role = 0 if pv.h_urban()[h] else 1
    return visits_table([h], date, [role], np.array([finding], object), np.array([note], object), [tt],
                        [person if finding != "no_change" else -1])
