"""Households and persons of the synthetic province, with their baseline economics.

Two kinds of households share one index ``h``:

* ``h < F``: roster families (低收入人口数据库), ``household_id = family_id``;
* ``h >= F``: other hukou households, ``household_id = "H" + hukou_no``. About twice as many
  persons as the roster, nearly all comfortably off (income well above 1.5x the 低保 standard).

Every household is also one hukou household (户号) — the hukou index equals the household index.
Incomes are set from a per-capita target ``ratio`` x the applicable 低保 standard, chosen so that a
household without an injected event stays at least 20% away from every indicator threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipelines.ids import check_chars_vec
from pipelines.synth.common import Calendar, Cols, rank_within, stream
from pipelines.synth.regions import Regions

CATEGORIES = ("dibao", "tekun", "edge", "expense_hardship", "relapse_watch", "other")
DIBAO, TEKUN, EDGE, EXPENSE, RELAPSE, OTHER = range(6)
NON_ROSTER = -1
RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "sibling", "other")
HEAD, SPOUSE, CHILD, PARENT, GRANDCHILD, SIBLING, OTHER_REL = range(7)

# hrss status codes (0 = no row that month)
NOROW, EMPLOYED, FLEXIBLE, UNEMPLOYED, RETIRED, NONE = range(6)
STATUS_ZH = ("", "在职", "灵活就业", "失业登记", "退休", "无")

# roster persons per family ~2.55; other households ~3.0 persons; other persons ~2x roster persons
CATEGORY_P = (0.48, 0.12, 0.14, 0.08, 0.10, 0.08)
NONROSTER_PERSON_RATIO = 2.0

# Per-capita income as a multiple of the 低保 standard (low bound against the highest standard of the
# covered years, high bound against the lowest one). See docs "Indicator interpretation".
RATIO_RANGE = {
    DIBAO: (0.25, 0.70),          # well below the standard (30% of dibao families have no income)
    TEKUN: (0.0, 0.0),            # single elderly, no income
    EDGE: (1.32, 1.45),           # between the standard and the 1.5x edge line
    EXPENSE: (1.35, 1.75),
    RELAPSE: (1.45, 2.20),
    OTHER: (1.35, 2.00),
    NON_ROSTER: (2.70, 6.00),
}

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰华红文玉梅建国志斌燕鹏飞辉丹萍鑫波宇浩凯健俊帆帅旭宁"
             "林莉琳晨欣悦婷雪琴云莲凤珍秀春兵林海峰亮成德福贵荣生昌祥顺兴安和平")

# Household templates: (relation, age mode, lo, hi, sex, probability).
#   age mode "abs" = absolute age; "rel" = head's age + offset; sex "M"/"F"/"any"/"opp"(opposite to head)
TEMPLATES = {
    "single_elder": [(HEAD, "abs", 65, 92, "any", 1.0)],
    "single_adult": [(HEAD, "abs", 26, 62, "any", 1.0)],
    "couple_elder": [(HEAD, "abs", 62, 84, "M", 1.0), (SPOUSE, "rel", -4, 2, "opp", 1.0)],
    "single_parent": [(HEAD, "abs", 27, 50, "any", 1.0), (CHILD, "rel", -36, -21, "any", 1.0),
                      (CHILD, "rel", -36, -21, "any", 0.5), (CHILD, "rel", -36, -21, "any", 0.15)],
    "couple_kids": [(HEAD, "abs", 28, 52, "M", 1.0), (SPOUSE, "rel", -4, 1, "opp", 1.0),
                    (CHILD, "rel", -35, -22, "any", 1.0), (CHILD, "rel", -35, -22, "any", 0.55),
                    (CHILD, "rel", -35, -22, "any", 0.12)],
    "three_gen": [(HEAD, "abs", 30, 50, "M", 1.0), (SPOUSE, "rel", -4, 1, "opp", 1.0),
                  (CHILD, "rel", -34, -22, "any", 0.85), (CHILD, "rel", -34, -22, "any", 0.3),
                  (PARENT, "rel", 23, 32, "M", 1.0), (PARENT, "rel", 20, 30, "F", 0.6)],
    "grandparent": [(HEAD, "abs", 58, 78, "any", 1.0), (SPOUSE, "rel", -4, 2, "opp", 0.5),
                    (GRANDCHILD, "rel", -64, -48, "any", 1.0), (GRANDCHILD, "rel", -64, -48, "any", 0.4)],
    "siblings": [(HEAD, "abs", 35, 60, "any", 1.0), (SIBLING, "rel", -6, 6, "any", 1.0)],
}
TEMPLATE_MIX = {
    DIBAO: {"single_elder": .12, "single_adult": .13, "couple_elder": .14, "single_parent": .20,
            "couple_kids": .22, "grandparent": .12, "three_gen": .05, "siblings": .02},
    TEKUN: {"single_elder": 1.0},
    "working": {"single_adult": .10, "couple_elder": .14, "single_parent": .12, "couple_kids": .38,
                "three_gen": .17, "grandparent": .07, "siblings": .02},
    NON_ROSTER: {"single_elder": .05, "single_adult": .12, "couple_elder": .17, "single_parent": .05,
                 "couple_kids": .40, "three_gen": .19, "siblings": .02},
}
RURAL_P = {DIBAO: .65, TEKUN: .70, EDGE: .60, EXPENSE: .55, RELAPSE: .90, OTHER: .55, NON_ROSTER: .45}


@dataclass
class Province:
    """Everything generated, as numpy columns. Events and writers read and amend it."""

    seed: int
    cal: Calendar
    regions: Regions
    F: int = 0
    H: int = 0
    # households
    h_village: np.ndarray = None
    h_cat: np.ndarray = None          # category code, -1 for non-roster
    h_ratio: np.ndarray = None        # per-capita income target / standard
    h_income: np.ndarray = None       # planned monthly household income, cents (benefit assessment)
    h_hukou: np.ndarray = None        # U12
    h_family: np.ndarray = None       # U19 ('' for non-roster)
    h_head: np.ndarray = None         # person index of the head
    h_enrolled: np.ndarray = None     # datetime64[D]
    h_econ_phase: np.ndarray = None
    h_econ_day: np.ndarray = None
    h_visit_phase: np.ndarray = None
    h_visit_day: np.ndarray = None
    h_visit_empty: np.ndarray = None  # bool: roster keeps no home-visit date (non-reviewed categories)
    h_econ_freeze: np.ndarray = None  # datetime64[D] NaT = checks continue normally
    h_event: np.ndarray = None        # bool: an injected event touches this household
    # persons
    P: int = 0
    p_hh: np.ndarray = None
    p_rel: np.ndarray = None
    p_male: np.ndarray = None
    p_birth: np.ndarray = None        # datetime64[D]
    p_id: np.ndarray = None           # U18 (upper-case check character)
    p_name: np.ndarray = None
    p_college: np.ndarray = None      # in college at the start (age 18-21)
    p_ucol: np.ndarray = None         # the per-person draw behind college attendance
    p_from: np.ndarray = None         # first data month the person exists (born) — 0 for everyone at start
    p_death_t: np.ndarray = None      # month index of death (NEVER = alive)
    p_death_date: np.ndarray = None
    p_out_t: np.ndarray = None        # month index of a hukou move-out (NEVER = stays)
    p_employer: np.ndarray = None     # employer index or -1
    # hrss matrices (P, T): status code and amounts in cents
    hr_status: np.ndarray = None
    hr_base: np.ndarray = None
    hr_ub: np.ndarray = None
    hr_pension: np.ndarray = None
    employers: np.ndarray = None      # U18 credit codes
    # baseline assets per person
    p_prop: np.ndarray = None
    p_area_dm2: np.ndarray = None     # area in 0.01 m2
    p_rental: np.ndarray = None
    p_dilap: np.ndarray = None        # 0 none, 1..4 = A..D
    p_dep: np.ndarray = None          # deposits cents
    p_sec: np.ndarray = None          # securities cents
    # certificates (one per person at most): grade 0 = none
    p_cert_grade: np.ndarray = None
    p_cert_type: np.ndarray = None
    p_cert_issued: np.ndarray = None
    p_cert_cancel_t: np.ndarray = None  # month index from which the cert shows 注销 (NEVER = valid)
    # roster membership pairs: family, person, relation, first and last month listed
    rp: Cols = None
    # records (Cols) built by activity/events
    rec: dict = field(default_factory=dict)
    events: list = field(default_factory=list)
    near_misses: list = field(default_factory=list)
    overrides: dict = field(default_factory=dict)

    # --- derived lookups -----------------------------------------------------------------------
    @property
    def T(self) -> int:
        return self.cal.T

    def h_is_roster(self) -> np.ndarray:
        return np.arange(self.H) < self.F

    def h_urban(self) -> np.ndarray:
        return self.regions.village_urban[self.h_village]

    def h_city(self) -> np.ndarray:
        return self.regions.village_city[self.h_village]

    def h_region(self) -> np.ndarray:
        return self.regions.village_code[self.h_village]

    def h_county(self) -> np.ndarray:
        return self.regions.village_county[self.h_village]

    def household_id(self, h: int) -> str:
        return str(self.h_family[h]) if h < self.F else "H" + str(self.h_hukou[h])

    def std_matrix(self, kind: str = "dibao") -> np.ndarray:
        """(H, T) applicable monthly standard in cents (city, year of the month, urban/rural)."""
        table = self.regions.dibao_cents if kind == "dibao" else self.regions.tekun_cents
        yi = np.array([self.regions.year_index(self.cal.year(t)) for t in range(self.T)])
        return table[self.h_city()[:, None], yi[None, :], self.h_urban().astype(int)[:, None]]

    def std_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        s = self.std_matrix()
        return s.min(axis=1), s.max(axis=1)

    def age_years(self, when: np.datetime64) -> np.ndarray:
        return ((when - self.p_birth).astype(np.int64) / 365.25)

    def alive_listed(self, t: int) -> np.ndarray:
        """Persons in their hukou household at the end of month t."""
        return (self.p_from <= t) & (self.p_death_t > t) & (self.p_out_t > t)

    def income_matrix(self) -> np.ndarray:
        return (self.hr_base.astype(np.int64) + self.hr_ub + self.hr_pension)


# --- construction -------------------------------------------------------------------------------

def _expand_templates(rng, kinds: np.ndarray, names: list[str]):
    """Households of the given template kinds -> persons (household, relation, age, male)."""
    hh_parts, rel_parts, age_parts, male_parts = [], [], [], []
    for k, name in enumerate(names):
        idx = np.flatnonzero(kinds == k)
        n = len(idx)
        if n == 0:
            continue
        head_age = None
        head_male = None
        for rel, mode, lo, hi, sex, p in TEMPLATES[name]:
            keep = rng.random(n) < p
            if mode == "abs":
                age = rng.uniform(lo, hi + 1, n)
            else:
                age = head_age + rng.uniform(lo, hi + 1, n)
            keep &= (age >= 0.1) & (age < 100)
            if sex == "M":
                male = rng.random(n) < 0.85
            elif sex == "F":
                male = np.zeros(n, bool)
            elif sex == "opp":
                male = ~head_male
            else:
                male = rng.random(n) < 0.5
            if rel == HEAD:
                head_age, head_male = age, male
                keep = np.ones(n, bool)
            hh_parts.append(idx[keep])
            rel_parts.append(np.full(keep.sum(), rel, np.int8))
            age_parts.append(age[keep])
            male_parts.append(male[keep])
    hh = np.concatenate(hh_parts)
    order = np.lexsort((np.concatenate(rel_parts), hh))  # by household, head first
    return (hh[order], np.concatenate(rel_parts)[order], np.concatenate(age_parts)[order],
            np.concatenate(male_parts)[order])


def _choose_templates(rng, cats: np.ndarray) -> tuple[np.ndarray, list[str]]:
    names = list(TEMPLATES)
    kinds = np.zeros(len(cats), np.int64)
    for cat in np.unique(cats):
        idx = np.flatnonzero(cats == cat)
        key = cat if cat in (DIBAO, TEKUN, NON_ROSTER) else "working"
        mix = TEMPLATE_MIX[key]
        probs = np.array([mix.get(n, 0.0) for n in names])
        kinds[idx] = rng.choice(len(names), size=len(idx), p=probs / probs.sum())
    return kinds, names


def _villages_for(rng, regions: Regions, cats: np.ndarray) -> np.ndarray:
    urban_v = np.flatnonzero(regions.village_urban)
    rural_v = np.flatnonzero(~regions.village_urban)
    out = np.zeros(len(cats), np.int64)
    for cat in np.unique(cats):
        idx = np.flatnonzero(cats == cat)
        rural = rng.random(len(idx)) < RURAL_P[int(cat)]
        out[idx[rural]] = rng.choice(rural_v, rural.sum())
        out[idx[~rural]] = rng.choice(urban_v, (~rural).sum())
    return out


def person_ids(county6: np.ndarray, birth: np.ndarray, male: np.ndarray, taken_seq: dict | None = None) -> np.ndarray:
    """18-char ids: county of registration + birth date + sequence (odd = male) + GB 11643 check."""
    n = len(county6)
    ymd = np.char.replace(np.datetime_as_string(birth, unit="D"), "-", "")
    key = np.char.add(county6.astype("U6"), ymd)
    # sequence: rank among persons of the same county, birth date and sex -> odd/even numbers
    sex_key = np.char.add(key, np.where(male, "1", "0"))
    rank = rank_within(sex_key)
    if taken_seq:
        rank = rank + np.array([taken_seq.get(k, 0) for k in sex_key], dtype=np.int64)
    seq = 2 * rank + np.where(male, 1, 2)
    if (seq > 999).any():
        raise ValueError("too many persons share a county and birth date for 3-digit sequences")
    body = np.char.add(key, np.char.zfill(seq.astype(str), 3))
    digits = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(n, 17) - ord("0")
    return np.char.add(body, check_chars_vec(digits)).astype("U18")


def _names(rng, hh: np.ndarray, rel: np.ndarray) -> np.ndarray:
    n = len(hh)
    fam_surname = rng.choice(SURNAMES, hh.max() + 1 if n else 0)
    own = rng.choice(SURNAMES, n)
    same = np.isin(rel, [HEAD, CHILD, GRANDCHILD, SIBLING, PARENT])
    surname = np.where(same, fam_surname[hh], own)
    g1 = rng.choice(GIVEN, n)
    g2 = np.where(rng.random(n) < 0.7, rng.choice(GIVEN, n), "")
    return np.char.add(np.char.add(surname, g1), g2)


def uscc_codes(rng, region6: np.ndarray, kind: str) -> np.ndarray:
    """Unified social credit codes (GB 32100) with valid organisation-code and final check characters.
    ``kind`` "91" = enterprise (company), "92" = individual business (个体工商户)."""
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    n = len(region6)
    org = rng.integers(0, 10, size=(n, 8))
    w_org = np.array([3, 7, 9, 10, 5, 8, 4, 2])
    c9 = 11 - (org @ w_org) % 11
    c9 = np.where(c9 == 11, 0, c9)               # 10 -> 'X'
    reg = np.frombuffer(region6.astype("S6").tobytes(), dtype=np.uint8).reshape(n, 6) - ord("0")
    head = np.array([int(kind[0]), int(kind[1])])
    vals = np.concatenate([np.tile(head, (n, 1)), reg, org, np.where(c9 == 10, charset.index("X"), c9)[:, None]],
                          axis=1)
    w = np.array([pow(3, i, 31) for i in range(17)])
    c = (31 - (vals @ w) % 31) % 31
    chars = np.array(list(charset))
    full = np.concatenate([vals, c[:, None]], axis=1)
    return np.array(["".join(r) for r in chars[full]]) if n else np.zeros(0, "U18")


def build_population(seed: int, cal: Calendar, regions: Regions, households: int) -> Province:
    rng = stream(seed, "population")
    pv = Province(seed=seed, cal=cal, regions=regions)
    ref = cal.first_day(0)

    # -- roster families ----------------------------------------------------------------------
    F = int(households)
    cats = rng.choice(6, size=F, p=np.array(CATEGORY_P) / sum(CATEGORY_P)).astype(np.int8)
    kinds, names = _choose_templates(rng, cats)
    hh_r, rel_r, age_r, male_r = _expand_templates(rng, kinds, names)
    # -- other hukou households: about twice as many persons ---------------------------------
    n_roster_persons = len(hh_r)
    N = max(10, int(round(NONROSTER_PERSON_RATIO * n_roster_persons / 3.0)))
    cats_n = np.full(N, NON_ROSTER, np.int8)
    kinds_n, _ = _choose_templates(rng, cats_n)
    hh_n, rel_n, age_n, male_n = _expand_templates(rng, kinds_n, names)
    hh_n = hh_n + F

    H = F + N
    pv.F, pv.H = F, H
    pv.h_cat = np.concatenate([cats, cats_n])
    pv.h_village = _villages_for(rng, regions, pv.h_cat)

    p_hh = np.concatenate([hh_r, hh_n])
    P = len(p_hh)
    pv.P = P
    pv.p_hh = p_hh
    pv.p_rel = np.concatenate([rel_r, rel_n])
    pv.p_male = np.concatenate([male_r, male_n])
    age = np.concatenate([age_r, age_n])
    days = np.floor(age * 365.25).astype(np.int64)
    pv.p_birth = ref - days.astype("timedelta64[D]")
    first = np.ones(P, bool)
    first[1:] = p_hh[1:] != p_hh[:-1]
    pv.h_head = np.flatnonzero(first)            # head is first per household (sorted by relation)
    assert len(pv.h_head) == H

    county = regions.village_county[pv.h_village][p_hh]
    pv.p_id = person_ids(county, pv.p_birth, pv.p_male)
    is_roster_p = p_hh < F
    pv.p_name = np.where(is_roster_p, _names(rng, p_hh, pv.p_rel), "")
    pv.p_from = np.zeros(P, np.int64)
    pv.p_death_t = np.full(P, 10_000, np.int64)
    pv.p_death_date = np.full(P, np.datetime64("NaT"), dtype="datetime64[D]")
    pv.p_out_t = np.full(P, 10_000, np.int64)
    # one draw per person decides college attendance at 18-21 (population and moe agree)
    pv.p_ucol = rng.random(P)
    pv.p_college = (age >= 18) & (age < 22) & (pv.p_ucol < np.where(is_roster_p, 0.3, 0.5))

    # -- hukou numbers, family ids -------------------------------------------------------------
    hcounty = regions.village_county[pv.h_village]
    seq = rank_within(hcounty) + 1
    pv.h_hukou = np.char.add(hcounty, np.char.zfill((seq + 100000).astype(str), 6)).astype("U12")
    vcode = regions.village_code[pv.h_village]
    fseq = rank_within(np.where(np.arange(H) < F, vcode, "x")) + 1
    pv.h_family = np.where(np.arange(H) < F, np.char.add(np.char.add("F", vcode),
                                                         np.char.zfill(fseq.astype(str), 6)), "").astype("U19")

    _incomes(pv, rng, age)
    _roster_admin(pv, rng)
    _assets(pv, rng, age)
    pv.h_event = np.zeros(H, bool)
    pv.rp = Cols(f=p_hh[is_roster_p].astype(np.int64), p=np.flatnonzero(is_roster_p).astype(np.int64),
                 rel=pv.p_rel[is_roster_p].astype(np.int8),
                 t0=np.zeros(is_roster_p.sum(), np.int64), t1=np.full(is_roster_p.sum(), cal.T - 1, np.int64))
    return pv


def _incomes(pv: Province, rng, age: np.ndarray) -> None:
    """Earners, statuses and monthly amounts (hrss) from each household's per-capita target."""
    T, P, H = pv.T, pv.P, pv.H
    std_lo, std_hi = pv.std_bounds()
    cat = pv.h_cat
    lo = np.array([RATIO_RANGE[int(c)][0] for c in cat])
    hi = np.array([RATIO_RANGE[int(c)][1] for c in cat])
    u = rng.random(H)
    # non-roster incomes are right-skewed
    u = np.where(cat == NON_ROSTER, u ** 2, u)
    ratio = lo + (hi - lo) * u
    zero = (cat == TEKUN) | ((cat == DIBAO) & (rng.random(H) < 0.3))
    ratio[zero] = 0.0
    size = np.bincount(pv.p_hh, minlength=H)
    # the binding standard: low bound vs the highest standard, high bound vs the lowest
    std_ref = np.where(cat == DIBAO, std_lo, std_hi)
    h_income = np.rint(ratio * std_ref * size / 100.0) * 100
    pv.h_ratio = ratio
    pv.h_income = h_income.astype(np.int64)

    head = np.zeros(P, bool)
    head[pv.h_head] = True
    roster_p = pv.p_hh < pv.F
    adult = (age >= 18) & ~pv.p_college
    elder = age >= 60
    has_income = ~zero[pv.p_hh]
    p_earn = np.where(roster_p, np.where(elder, 0.4, 0.45), np.where(elder, 0.85, 0.75))
    earner = adult & has_income & (head | (rng.random(P) < p_earn))
    w = rng.uniform(0.5, 1.0, P) * np.where(head, 1.8, 1.0) * earner
    wsum = np.bincount(pv.p_hh, weights=w, minlength=H)
    share = np.divide(w, wsum[pv.p_hh], out=np.zeros(P), where=wsum[pv.p_hh] > 0)
    amount = np.rint(share * h_income[pv.p_hh] / 100.0) * 100  # whole yuan, in cents

    status = np.zeros(P, np.int8)
    employed_p = np.where(roster_p, 0.4, 0.8)
    status[earner & elder] = RETIRED
    working = earner & ~elder
    # a salaried job (在职) pays at least a plausible contribution base; small earnings are flexible work
    salaried = (rng.random(P) < employed_p) & (amount >= 2000_00) & (pv.h_cat[pv.p_hh] != DIBAO)
    status[working] = np.where(salaried[working], EMPLOYED, FLEXIBLE)
    idle = adult & ~earner & ~elder
    status[idle & (rng.random(P) < np.where(roster_p, 0.5, 0.25))] = NONE

    # employers per city (about one per 25 employed persons)
    n_emp = max(8, int((status == EMPLOYED).sum() / 25))
    emp_region = pv.regions.village_county[rng.choice(len(pv.regions.village_code), n_emp)]
    pv.employers = uscc_codes(stream(pv.seed, "employers"), emp_region, "91")
    pv.p_employer = np.where(status == EMPLOYED, rng.integers(0, n_emp, P), -1)

    # monthly amounts: contribution bases jitter within +-3% (well inside the 10% allowed); pensions fixed
    jitter = rng.uniform(0.97, 1.03, size=(P, T))
    base = np.where(np.isin(status, [EMPLOYED, FLEXIBLE])[:, None], np.rint(amount[:, None] * jitter / 100) * 100, 0)
    pension = np.where((status == RETIRED)[:, None], amount[:, None], 0)
    pv.hr_status = np.repeat(status[:, None], T, axis=1)
    pv.hr_base = base.astype(np.int64)
    pv.hr_ub = np.zeros((P, T), np.int64)
    pv.hr_pension = np.broadcast_to(pension, (P, T)).astype(np.int64).copy()


def _roster_admin(pv: Province, rng) -> None:
    H = pv.H
    ref = pv.cal.first_day(0)
    pv.h_enrolled = ref - rng.integers(200, 3650, H).astype("timedelta64[D]")
    pv.h_econ_phase = rng.integers(0, 3, H)
    pv.h_econ_day = rng.integers(3, 27, H)
    pv.h_visit_phase = rng.integers(0, 6, H)
    pv.h_visit_day = rng.integers(3, 27, H)
    reviewed = np.isin(pv.h_cat, [DIBAO, TEKUN, EDGE])
    pv.h_visit_empty = ~reviewed & (rng.random(H) < 0.15)
    pv.h_econ_freeze = np.full(H, np.datetime64("NaT"), dtype="datetime64[D]")


def _assets(pv: Province, rng, age: np.ndarray) -> None:
    """Baseline housing, deposits and disability certificates."""
    P = pv.P
    head = np.zeros(P, bool)
    head[pv.h_head] = True
    urban = pv.h_urban()[pv.p_hh]
    owns = head & (rng.random(P) < np.where(urban, 0.4, 0.65))
    pv.p_prop = owns.astype(np.int64)
    pv.p_area_dm2 = np.where(owns, rng.integers(4000, 12000, P) * 10, 0).astype(np.int64)
    hh_rental = pv.h_urban() & (rng.random(pv.H) < 0.3)
    pv.p_rental = hh_rental[pv.p_hh] & ~owns
    dil = rng.choice([1, 2, 3], pv.H, p=[0.45, 0.4, 0.15])
    pv.p_dilap = np.where(urban, 0, dil[pv.p_hh])
    std_lo, _ = pv.std_bounds()
    std_p = std_lo[pv.p_hh]
    adult = age >= 18
    # deposits: adults 0..2 months of the standard, children a little; per capita far below 24x
    pv.p_dep = np.where(adult, np.rint(rng.uniform(0, 2.0, P) * std_p / 100) * 100,
                        np.rint(rng.uniform(0, 200, P)) * 100).astype(np.int64)
    pv.p_sec = np.where(adult & (rng.random(P) < 0.03), np.rint(rng.uniform(500, 3000, P)) * 100, 0).astype(np.int64)

    roster_p = pv.p_hh < pv.F
    has = rng.random(P) < np.where(roster_p, 0.09, 0.02) * np.where(age >= 60, 1.6, 1.0)
    pv.p_cert_grade = np.where(has, rng.choice([1, 2, 3, 4], P, p=[0.1, 0.2, 0.3, 0.4]), 0).astype(np.int8)
    pv.p_cert_type = rng.integers(0, 7, P).astype(np.int8)
    start = pv.cal.first_day(0)
    span = (start - np.datetime64("2008-01-01")).astype(np.int64) - 75
    issued = np.datetime64("2008-01-01") + rng.integers(0, span, P).astype("timedelta64[D]")
    # never before birth
    issued = np.maximum(issued, pv.p_birth + np.timedelta64(60, "D"))
    pv.p_cert_issued = np.where(has, issued, np.datetime64("NaT"))
    pv.p_cert_grade[has & (pv.p_cert_issued >= start - np.timedelta64(60, "D"))] = 0
    pv.p_cert_cancel_t = np.where(has & (rng.random(P) < 0.02), -1, 10_000).astype(np.int64)


# --- persons added during the generated months (births) ------------------------------------------

PERSON_DEFAULTS = {
    "p_hh": 0, "p_rel": 0, "p_male": False, "p_birth": np.datetime64("NaT"), "p_id": "", "p_name": "",
    "p_college": False, "p_ucol": 1.0, "p_from": 0, "p_death_t": 10_000,
    "p_death_date": np.datetime64("NaT"), "p_out_t": 10_000, "p_employer": -1,
    "p_prop": 0, "p_area_dm2": 0, "p_rental": False, "p_dilap": 0, "p_dep": 0, "p_sec": 0,
    "p_cert_grade": 0, "p_cert_type": 0, "p_cert_issued": np.datetime64("NaT"), "p_cert_cancel_t": 10_000,
}
MATRICES = ("hr_status", "hr_base", "hr_ub", "hr_pension")


def append_persons(pv: Province, **cols) -> np.ndarray:
    """Append persons (e.g. newborns) with the given columns; everything else gets its default.
    Returns the new person indices."""
    n = len(cols["p_hh"])
    for name, default in PERSON_DEFAULTS.items():
        cur = getattr(pv, name)
        add = np.asarray(cols[name]) if name in cols else np.full(n, default)
        setattr(pv, name, np.concatenate([cur, add.astype(cur.dtype)]))
    for name in MATRICES:
        cur = getattr(pv, name)
        setattr(pv, name, np.concatenate([cur, np.zeros((n, cur.shape[1]), cur.dtype)]))
    new = np.arange(pv.P, pv.P + n)
    pv.P += n
    return new
