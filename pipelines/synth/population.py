"""Households and persons of the synthetic province, with their baseline economics.

Two kinds of households share one index ``h``:

* ``h < F``: roster families (低收入人口数据库), ``household_id = family_id``;
* ``h >= F``: other hukou households, ``household_id = "H" + hukou_no``. About twice as many
  persons as the roster, most of them comfortably off.

Every household is also one hukou household (户号) — the hukou index equals the household index.
A roster family's income is set from a per-capita target ``ratio`` x the applicable 低保 standard
(its category's band); other households earn person by person (:func:`_incomes`). Part of the income
is *hidden*: farm, migrant, informal and business earnings, rent and the children's support of the
elderly are on no record ``hrss_employment`` keeps. A household whose whole income is on record stays
at least 20% away from every income threshold; one with hidden income may look poor to the feeds
(its observed income is only a floor) — the flood the income rules must learn to avoid.
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

# --- the income model (see _incomes) ----------------------------------------------------------------
# A person's role: where their income comes from.
ROLES = ("child", "student", "formal", "flexible", "informal", "migrant", "farm", "business", "idle",
         "unemployed", "pension", "basic_pension")
(R_CHILD, R_STUDENT, R_FORMAL, R_FLEX, R_INFORMAL, R_MIGRANT, R_FARM, R_BUSINESS, R_IDLE, R_UNEMP, R_PENSION,
 R_BASIC) = range(12)
# Kinds of hidden income (on no record hrss_employment keeps).
HIDDEN_KINDS = ("none", "farm", "migrant", "informal", "business", "support", "property")
K_NONE, K_FARM, K_MIGRANT, K_INFORMAL, K_BUSINESS, K_SUPPORT, K_PROPERTY = range(7)
REGISTERED_KINDS = (K_BUSINESS, K_PROPERTY)   # on tax records: a check_only economic check sees them
# Seasonal factor of hidden income per kind and calendar month (Jan..Dec), mean 1: harvests in
# autumn, migrant workers home for the Spring Festival.
SEASON = np.ones((len(HIDDEN_KINDS), 12))
SEASON[K_FARM] = [0.80, 0.80, 0.85, 0.90, 0.95, 1.00, 1.05, 1.15, 1.25, 1.20, 1.05, 1.00]
SEASON[K_MIGRANT] = [0.95, 0.80, 1.00, 1.03, 1.03, 1.03, 1.03, 1.03, 1.03, 1.03, 1.03, 1.01]
SEASON /= SEASON.mean(axis=1, keepdims=True)
BASIC_PENSION = (150, 300)    # 城乡居民基础养老金, yuan a month
# Non-roster working-age adults who work: role mix (urban; rural men / women) and median pay
# (yuan a month, urban / rural) before sex, age and village factors.
URBAN_MIX = {R_FORMAL: 0.74, R_FLEX: 0.19, R_INFORMAL: 0.04, R_BUSINESS: 0.03}
RURAL_MIX_M = {R_FORMAL: 0.26, R_FLEX: 0.20, R_MIGRANT: 0.30, R_FARM: 0.18, R_BUSINESS: 0.06}
RURAL_MIX_F = {R_FORMAL: 0.22, R_FLEX: 0.22, R_MIGRANT: 0.20, R_FARM: 0.30, R_BUSINESS: 0.06}
MEDIAN_YUAN = {R_FORMAL: (4800, 3600), R_FLEX: (3200, 2600), R_INFORMAL: (3000, 2400), R_MIGRANT: (4200, 4200),
               R_FARM: (2000, 2000), R_BUSINESS: (4500, 3000)}

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
    p_role: np.ndarray = None         # income role (ROLES)
    hid_amt: np.ndarray = None        # hidden income, cents a month (yearly mean; SEASON by kind)
    hid_kind: np.ndarray = None       # kind of hidden income (HIDDEN_KINDS)
    v_factor: np.ndarray = None       # (V,) village prosperity factor
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
    income_stats: dict = field(default_factory=dict)
    # catalog v2 plans the events leave for the checks and the relapse watch (built after them):
    planned_checks: list = field(default_factory=list)   # (household, month, day, reason, basis)
    planned_watch: list = field(default_factory=list)    # (household, month of identification)
    h_insurance: np.ndarray = None   # insurance cash value per household, cents (the checks' financial assets)
    watch_risks: dict = field(default_factory=dict)      # household -> 风险类型 (";"-joined), not eliminated

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

    def household_ids(self) -> np.ndarray:
        """Every household's id (:meth:`household_id`), by household index."""
        return np.where(np.arange(self.H) < self.F, self.h_family, np.char.add("H", self.h_hukou.astype("U12")))

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
        """(P, T) observed income in cents: what hrss_employment shows (principle 4)."""
        return (self.hr_base.astype(np.int64) + self.hr_ub + self.hr_pension)

    def hidden_cents(self, p: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Hidden income in cents of persons ``p`` in months ``t`` (element-wise), whole yuan."""
        p = np.asarray(p)
        amt = self.hid_amt[p]
        out = np.zeros(len(p), np.int64)
        nz = np.flatnonzero(amt)                      # most persons hide nothing
        cm = (self.cal.start + np.asarray(t)[nz]) % 12
        out[nz] = np.rint(amt[nz] * SEASON[self.hid_kind[p[nz]], cm] / 100.0) * 100
        return out


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


def _lognormal(rng, median, sigma, n: int) -> np.ndarray:
    return np.asarray(median, dtype=np.float64) * np.exp(rng.normal(0.0, 1.0, n) * sigma)


def _draw_roles(u: np.ndarray, mix: dict) -> np.ndarray:
    """Roles drawn from ``mix`` ({role: probability}) with the uniform draws ``u``."""
    roles = np.array(list(mix), np.int8)
    cum = np.cumsum(np.array(list(mix.values()), np.float64))
    return roles[np.minimum(np.searchsorted(cum / cum[-1], u, side="right"), len(roles) - 1)]


def _incomes(pv: Province, rng, age: np.ndarray) -> None:
    """Who earns what, and what of it the feeds see (docs/architecture.md, "Synthetic province contract").

    Roster families keep a household income set by their category (the assessed income: a 低保 family
    below the standard, a 低保边缘 family between the standard and the edge line ...), shared among
    the earners. Other households earn bottom-up: each working-age adult takes part in work or not
    (by sex and age), in a role drawn from the urban or rural mix, paid by role, sex, age and the
    village's level of prosperity. Every elderly person draws a pension: an employee pension, or the
    small 城乡居民基础养老金 topped up by farm work or the children's support (not on record).

    What ``hrss_employment`` shows: wages of employees and insured flexible workers (在职/灵活就业),
    pensions (退休), unemployment benefit. Farm, migrant, informal and business earnings, property
    income and the children's support are hidden: a ``无`` row or no row at all. Hidden income only
    ever belongs to a person whose income is unknown under the coverage rule (never to an employee,
    a pensioner above the standard, a child under 16 or a registered student), so a household whose
    income is fully known has no hidden income."""
    T, P, H, F = pv.T, pv.P, pv.H, pv.F
    hh = pv.p_hh
    std_lo, std_hi = pv.std_bounds()
    cat = pv.h_cat
    roster_p = hh < F
    urban_p = pv.h_urban()[hh]
    male = pv.p_male
    head = np.zeros(P, bool)
    head[pv.h_head] = True
    irng = stream(pv.seed, "income")
    pv.v_factor = np.exp(irng.normal(0.0, 1.0, len(pv.regions.village_code))
                         * np.where(pv.regions.village_urban, 0.12, 0.22))
    vf = pv.v_factor[pv.h_village][hh]

    child = age < 16
    # in school at some term start of the data (the school feed lists roster students and aid
    # applicants by the same ages): no income of their own
    college_p = np.where(roster_p, 0.3, 0.5)
    in_school = np.zeros(P, bool)
    for m in pv.cal.term_months:
        a = pv.age_years(np.datetime64(f"{m // 12:04d}-{m % 12 + 1:02d}-01"))
        in_school |= (a < 18) | ((a < 22) & (pv.p_ucol < college_p))
    student = ~child & (in_school | (age < 18) | pv.p_college)
    elder = age >= 60
    working = ~child & ~student & ~elder
    role = np.full(P, R_IDLE, np.int8)
    role[child] = R_CHILD
    role[student] = R_STUDENT
    visible = np.zeros(P)          # wage base or pension on record, yuan a month
    hidden = np.zeros(P)           # income on no record, yuan a month (yearly mean)
    basic = irng.integers(BASIC_PENSION[0] // 5, BASIC_PENSION[1] // 5 + 1, P) * 5.0
    draw = irng.random(P)

    # -- roster families: the household's per-capita income is set by its category ----------------
    lo = np.array([RATIO_RANGE[int(c)][0] for c in cat])
    hi = np.array([RATIO_RANGE[int(c)][1] for c in cat])
    ratio = lo + (hi - lo) * rng.random(H)
    zero = (cat == TEKUN) | ((cat == DIBAO) & (rng.random(H) < 0.3))
    ratio[zero] = 0.0
    size = np.bincount(hh, minlength=H)
    # the binding standard: low bound vs the highest standard, high bound vs the lowest
    std_ref = np.where(cat == DIBAO, std_lo, std_hi)
    target = np.rint(ratio * std_ref * size / 100.0)                     # yuan
    r_earner = roster_p & (working | elder) & ~zero[hh] & (head | (rng.random(P) < np.where(elder, 0.4, 0.45)))
    r_elder = roster_p & elder
    r_emp = r_elder & r_earner & urban_p & (irng.random(P) < 0.5)       # an employee pension
    r_basic = r_elder & ~r_emp
    basic_h = np.bincount(hh[r_basic], weights=basic[r_basic], minlength=H)
    remain = np.maximum(target - basic_h, 0.0)
    w = rng.uniform(0.5, 1.0, P) * np.where(head, 1.8, 1.0) * r_earner
    wsum = np.bincount(hh, weights=w, minlength=H)
    amount = np.rint(np.divide(w, wsum[hh], out=np.zeros(P), where=wsum[hh] > 0) * remain[hh])
    we = roster_p & working & r_earner & (amount > 0)
    formal_ok = (amount >= 2000) & (cat[hh] != DIBAO)
    urban_role = np.where(draw < 0.40, np.where(formal_ok, R_FORMAL, R_FLEX),
                          np.where(draw < 0.85, R_FLEX, R_INFORMAL))
    rural_role = np.where(draw < 0.10, np.where(formal_ok, R_FORMAL, R_FLEX),
                          np.where(draw < 0.25, R_FLEX,
                                   np.where((draw < 0.60) & (amount >= 1500), R_MIGRANT, R_FARM)))
    role[we] = np.where(urban_p, urban_role, rural_role)[we]
    visible[we & np.isin(role, [R_FORMAL, R_FLEX])] = amount[we & np.isin(role, [R_FORMAL, R_FLEX])]
    hid_roster = we & ~np.isin(role, [R_FORMAL, R_FLEX])
    hidden[hid_roster] = amount[hid_roster]
    emp_ok = r_emp & (amount >= basic)
    role[emp_ok] = R_PENSION
    visible[emp_ok] = amount[emp_ok]
    rb = r_elder & ~emp_ok
    role[rb] = R_BASIC
    visible[rb] = basic[rb]
    hidden[rb & r_earner] = amount[rb & r_earner]

    # -- other households: income built up person by person -----------------------------------
    nr = ~roster_p
    ne = nr & elder
    emp = ne & (irng.random(P) < np.where(urban_p, 0.85, 0.2))
    role[emp] = R_PENSION
    visible[emp] = _lognormal(irng, np.where(urban_p, 3200, 2600), 0.3, P)[emp]
    nb = ne & ~emp
    role[nb] = R_BASIC
    visible[nb] = basic[nb]
    farm_e = nb & ~urban_p & (age < 72)
    e_farm = _lognormal(irng, 1200, 0.4, P) * vf
    e_support = _lognormal(irng, np.where(urban_p, 1400, 1100), 0.4, P)
    hidden[nb] = np.where(farm_e, e_farm, e_support)[nb]

    nw = nr & working
    part_p = np.where(urban_p, np.where(male, 0.96, 0.92), np.where(male, 0.93, 0.82)) \
        * np.where(age >= 55, 0.85, 1.0) * np.where(age < 22, 0.9, 1.0)
    part = nw & (irng.random(P) < part_p)
    mix_role = np.where(urban_p, _draw_roles(draw, URBAN_MIX),
                        np.where(male, _draw_roles(draw, RURAL_MIX_M), _draw_roles(draw, RURAL_MIX_F)))
    # a household with no income source at all does not exist: its head works
    has_src = np.bincount(hh, weights=(part | ne).astype(float), minlength=H) > 0
    part |= nw & head & ~has_src[hh]
    unemp = nw & ~part & (irng.random(P) < 0.06)
    role[part] = mix_role[part]
    role[unemp] = R_UNEMP
    med = np.zeros(P)
    for r, (mu, mr) in MEDIAN_YUAN.items():
        med = np.where(role == r, np.where(urban_p, mu, mr), med)
    sigma = np.where(role == R_BUSINESS, 0.5, np.where(role == R_FARM, 0.4, 0.35))
    sex_f = np.where(male, 1.0, np.where(role == R_MIGRANT, 0.82, np.where(role == R_FARM, 0.9, 0.85)))
    age_f = np.interp(age, [18, 25, 45, 55, 60], [0.8, 1.0, 1.0, 0.88, 0.8])
    vil_f = np.where(np.isin(role, [R_FARM, R_BUSINESS, R_INFORMAL]), vf, np.sqrt(vf))
    earn = med * sex_f * age_f * vil_f * np.exp(irng.normal(0.0, 1.0, P) * sigma)
    on_record = part & np.isin(role, [R_FORMAL, R_FLEX])
    visible[on_record] = earn[on_record]
    off_record = part & ~on_record
    hidden[off_record] = earn[off_record]
    odd_jobs = unemp & (irng.random(P) < 0.5)
    hidden[odd_jobs] = _lognormal(irng, 900, 0.4, P)[odd_jobs]
    # property income (rent) of a member without another recorded income
    h_rent = nr[pv.h_head] & (irng.random(H) < np.where(pv.h_urban(), 0.08, 0.03))
    landlord_ok = nr & ((role == R_IDLE) | ((role == R_BASIC) & ~farm_e)) & h_rent[hh]
    first = landlord_ok & (rank_within(np.where(landlord_ok, hh, -1)) == 0)
    rent = _lognormal(irng, 1500, 0.5, P)
    hidden[first] = rent[first]

    visible = np.rint(visible)
    hidden = np.rint(hidden)
    # a household whose income is all on record is comfortably off (else it would be on the roster,
    # or an injected event): per capita at least 2.2x the highest standard of the covered years
    vis_h = np.bincount(hh, weights=visible, minlength=H)
    hid_h = np.bincount(hh, weights=hidden, minlength=H)
    floor = 2.2 * std_hi / 100.0 * size
    lift = (np.arange(H) >= F) & (hid_h == 0) & (vis_h < floor) & (vis_h > 0)
    scale = np.where(lift, floor / np.maximum(vis_h, 1), 1.0)
    up = nr & np.isin(role, [R_FORMAL, R_FLEX, R_PENSION])
    visible = np.where(up, np.ceil(visible * scale[hh]), visible)

    kind = np.zeros(P, np.int8)
    kind[role == R_FARM] = K_FARM
    kind[role == R_MIGRANT] = K_MIGRANT
    kind[np.isin(role, [R_INFORMAL, R_UNEMP])] = K_INFORMAL
    kind[role == R_BUSINESS] = K_BUSINESS
    kind[(role == R_BASIC) & (hidden > 0)] = np.where(farm_e | (roster_p & ~urban_p & (age < 72)),
                                                       K_FARM, K_SUPPORT)[(role == R_BASIC) & (hidden > 0)]
    kind[first] = K_PROPERTY
    kind[hidden == 0] = K_NONE
    pv.p_role = role
    pv.hid_amt = (hidden * 100).astype(np.int64)
    pv.hid_kind = kind

    status = np.zeros(P, np.int8)
    status[role == R_FORMAL] = EMPLOYED
    status[role == R_FLEX] = FLEXIBLE
    status[np.isin(role, [R_PENSION, R_BASIC])] = RETIRED
    status[role == R_UNEMP] = UNEMPLOYED
    off = np.isin(role, [R_INFORMAL, R_MIGRANT, R_FARM, R_BUSINESS])
    status[off & (irng.random(P) < np.where(urban_p, 0.55, 0.65))] = NONE
    status[(role == R_IDLE) & (irng.random(P) < np.where(roster_p, 0.5, 0.3))] = NONE

    # employers (about one per 25 employed persons)
    n_emp = max(8, int((status == EMPLOYED).sum() / 25))
    emp_region = pv.regions.village_county[rng.choice(len(pv.regions.village_code), n_emp)]
    pv.employers = uscc_codes(stream(pv.seed, "employers"), emp_region, "91")
    pv.p_employer = np.where(status == EMPLOYED, rng.integers(0, n_emp, P), -1)

    # monthly amounts: contribution bases jitter within +-3%; pensions fixed
    jitter = rng.uniform(0.97, 1.03, size=(P, T))
    wage = np.isin(status, [EMPLOYED, FLEXIBLE])
    base = np.where(wage[:, None], np.rint(visible[:, None] * jitter) * 100, 0)
    pension = np.where(status == RETIRED, visible * 100, 0).astype(np.int64)
    pv.hr_status = np.repeat(status[:, None], T, axis=1)
    pv.hr_base = base.astype(np.int64)
    pv.hr_ub = np.zeros((P, T), np.int64)
    pv.hr_pension = np.broadcast_to(pension[:, None], (P, T)).astype(np.int64).copy()

    true_h = np.bincount(hh, weights=visible + hidden, minlength=H)
    pv.h_income = (true_h * 100).astype(np.int64)
    pv.h_ratio = np.where(np.arange(H) < F, ratio, true_h * 100 / np.maximum(size, 1) / std_hi)


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
    "p_role": 0, "hid_amt": 0, "hid_kind": 0,
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
