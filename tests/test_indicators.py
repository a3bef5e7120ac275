"""Golden households: families written by hand, each with the warnings a caseworker would expect.

Every indicator has a household that must raise it (severity, departments and the numbers in the
evidence and the explanation computed by hand in a comment) and its nearest miss that must not.
Most households live in one shared province (months 2026-01 .. 2026-07, evaluated for 2026-07), so
the test also shows that they do not disturb each other; gating, idempotence and overrides build
their own small provinces.

Standards (city 3301): urban 低保 1,000, 特困 1,300; rural 低保 800, 特困 1,100.
City 4403 (edge multiplier 2.0 in models/indicators.toml): urban 低保 1,200.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.core import build_core
from pipelines.indicators import compute_indicators
from pipelines.rules import RulesError, load_rules, rules_from_dict
from tests.warehouse_fixtures import Province, d, month_range, warnings

M = "2026-07"
MONTHS = month_range("2026-01", M)
URBAN, RURAL, OTHER_COUNTY = "330102001001", "330102001201", "330103001001"
SZ = "440303001001"  # city 4403


def base_province(con, months=MONTHS) -> Province:
    p = Province(con, months)
    p.standard("3301", "urban", 1000, 1300)
    p.standard("3301", "rural", 800, 1100)
    p.standard("4403", "urban", 1200, 1600)
    return p


def ev(w: dict) -> dict:
    return json.loads(w["evidence"])


def only(con, code: str, household_id: str, period: str = M) -> dict:
    rows = [w for w in warnings(con, code, household_id) if w["period"] == period]
    assert len(rows) == 1, f"expected one {code} for {household_id} in {period}, got {rows}"
    return rows[0]


def none(con, code: str, household_id: str, period: str = M) -> None:
    rows = [w for w in warnings(con, code, household_id) if w["period"] == period]
    assert rows == [], f"unexpected {code} for {household_id}: {rows}"


def none_month(person, months=MONTHS, status="none", pension=0):
    """The person's HRSS row says 无 (or ``status``) in every month: income unknown, never zero."""
    for period in months:
        person.by_month[period] = (status, 0, 0, pension)
    return person


def econ_check(p: Province, hh, check_id: str, date: str, reason: str, basis: str, income: float, outcome: str,
               applicant, size: int, assets: float = 0, vehicles: int = 0) -> None:
    """An mca_econ_checks row of the household (its period = the month of the check)."""
    rural = hh.region_code[-3:] >= "200"
    p.add("mca_econ_checks", date[:7], check_id=check_id, check_date=d(date), reason=reason,
          family_id=hh.family_id, hukou_no=hh.hukou_no, applicant_id=applicant.person_id,
          region_code=hh.region_code, urban_rural="rural" if rural else "urban", household_size=size,
          income_basis=basis, monthly_income_yuan=income, financial_assets_yuan=assets, vehicles=vehicles,
          properties=1, outcome=outcome)


def grid_visit(p: Province, hh, visit_id: str, date: str, findings: list[str], person=None) -> None:
    """A field visit (layout v2: the member it concerns and the region)."""
    p.add("grid_visits", date[:7], visit_id=visit_id, family_id=hh.family_id,
          hukou_no=None if hh.family_id else hh.hukou_no, visit_date=d(date), visitor_role="village_assistant",
          findings=findings, note="走访", person_id=person.person_id if person else None, region_code=hh.region_code)


def watch_listing(p: Province, hh, head, watch_id: str, identified: str, risks: list[str], months=MONTHS,
                  net: float = 30000, transfer: float = 1200) -> None:
    """A relapse-watch row in every snapshot from the month of identification (or the first month)."""
    for period in months:
        if period < identified[:7]:
            continue
        p.add("moa_relapse_watch", period, watch_id=watch_id, head_person_id=head.person_id, hukou_no=hh.hukou_no,
              region_code=hh.region_code, watch_type="edge_at_risk", risk_types=risks,
              household_size=len(hh.members), income_year=2025, net_income_per_capita_yuan=net,
              transfer_income_per_capita_yuan=transfer, identified_on=d(identified), risk_eliminated=False)


# --- the shared golden province ---------------------------------------------------------------------

class G:
    """Household ids of the golden province (filled by the fixture)."""


@pytest.fixture(scope="module")
def golden():
    con = duckdb.connect()
    p = base_province(con)

    # INC_DROP raise: head 张三 earns 4,820 Jan-Jun, registers unemployed in July with 1,600 benefit.
    # baseline = median(4820 x 6) = 4,820; 1,600 <= 0.7 x 4,820 = 3,374; fall per capita
    # (4820 - 1600) / 3 = 1,073 >= 0.2 x 1,000; per capita 533 < 1,000 -> high; job loss -> + HRSS.
    head = p.person("张三", "head", income=4820)
    head.by_month[M] = ("unemployed_registered", 0, 1600, 0)
    G.inc_drop = p.family("F330102001001000001", URBAN, "edge", [head, p.person("李梅", "spouse"),
                                                                   p.person("张小明", "child", birth="20150101")]).household_id
    # INC_DROP miss: a fall 6,000 -> 1,600, but only 2 known baseline months (household from May).
    h2 = p.person(None, income=6000)
    h2.by_month[M] = ("unemployed_registered", 0, 1600, 0)
    G.inc_drop_short = p.resident_household(URBAN, [h2, p.person(None), p.person(None)],
                                            months=["2026-05", "2026-06", M]).household_id
    # INC_DROP miss: a fall of 40% that is small in money: 500 -> 300 for 2 people = 100 per capita
    # < 0.2 x 1,000 (principle 7: small amounts are not spikes). Both also sit below the 低保 line
    # and are on the dibao roster (no ELIG).
    h3 = p.person("王五", "head", income=500)
    h3.by_month[M] = ("flexible", 300, 0, 0)
    G.inc_drop_small = p.family("F330102001001000002", URBAN, "dibao", [h3, p.person("赵六", "spouse")]).household_id

    # EXP_MED rule A raise: 2 people, income 3,000 a month (an insured employee and a child of 12: every
    # income known, coverage full); a catastrophic inpatient settlement in July with 4,800 out of
    # pocket. OOP(May-Jul) 4,800 >= 0.5 x 9,000 = 4,500 and >= 2 x 1,000 -> high.
    # (Rule B: 4,800 < 5,000. EXP_HARDSHIP: (7 x 3,000 - 4,800) / 7 / 2 = 1,157 >= 1,000: quiet.)
    a = p.person("孙七", "head", income=3000)
    G.med = p.family("F330102001001000003", URBAN, "edge",
                     [a, p.person("周八", "child", birth="20140301")]).household_id
    # EXP_MED miss (principle 5): the same settlement where the spouse's income is unknown (no HRSS
    # record): coverage partial, 3,000 a month is only a floor, rule A does not apply; rule B: 4,800 <
    # 5,000. (Its catastrophic settlement is a hardship signal, but observed 1,500 a head >= 1,000: no ELIG.)
    a2 = p.person("孙九", "head", income=3000)
    G.med_partial = p.family("F330102001001000030", URBAN, "edge", [a2, p.person("周十", "spouse")]).household_id
    p.add("nhsa_claims", M, settle_id="S-MED-2", person_id=a2.person_id, settle_date=d("2026-07-11"),
          visit_type="inpatient", catastrophic=True, total_yuan=20000, fund_yuan=15000, critical_illness_yuan=2000,
          medical_aid_yuan=0, oop_yuan=4800, reversal_of=None)
    p.add("nhsa_claims", M, settle_id="S-MED-1", person_id=a.person_id, settle_date=d("2026-07-10"),
          visit_type="inpatient", catastrophic=True, total_yuan=20000, fund_yuan=15000, critical_illness_yuan=2000,
          medical_aid_yuan=0, oop_yuan=4800, reversal_of=None)
    # EXP_MED miss: a claim of 8,000 and its reversal in the same month cancel.
    r = p.person("吴九", "head", income=3000)
    G.med_reversed = p.family("F330102001001000004", URBAN, "edge", [r, p.person("郑十", "spouse")]).household_id
    p.add("nhsa_claims", M, settle_id="S-REV-1", person_id=r.person_id, settle_date=d("2026-07-03"),
          visit_type="inpatient", catastrophic=True, total_yuan=30000, fund_yuan=22000, critical_illness_yuan=0,
          medical_aid_yuan=0, oop_yuan=8000, reversal_of=None)
    p.add("nhsa_claims", M, settle_id="S-REV-2", person_id=r.person_id, settle_date=d("2026-07-20"),
          visit_type="inpatient", catastrophic=True, total_yuan=-30000, fund_yuan=-22000, critical_illness_yuan=0,
          medical_aid_yuan=0, oop_yuan=-8000, reversal_of="S-REV-1")
    # EXP_MED miss: a zero-income household with a 50-yuan prescription: 50 >= 0.5 x 0 but < 1 x 1,000.
    # (On the dibao roster, so its zero income raises no ELIG_DIBAO either.)
    z = p.person("马一", "head")
    G.med_small = p.family("F330102001001000027", URBAN, "dibao", [z]).household_id
    p.add("nhsa_claims", M, settle_id="S-SMALL", person_id=z.person_id, settle_date=d("2026-07-05"),
          visit_type="outpatient", catastrophic=False, total_yuan=120, fund_yuan=70, critical_illness_yuan=0,
          medical_aid_yuan=0, oop_yuan=50, reversal_of=None)
    # EXP_MED rule B raise: income 20,000 a month (rule A cannot fire), OOP 200 in each of Jan-Jun,
    # 7,000 in July: 7,000 >= 3 x median 200 = 600 and >= 5,000; not catastrophic -> medium.
    b = p.person(None, income=20000)
    G.med_spike = p.resident_household(URBAN, [b, p.person(None)]).household_id
    for i, period in enumerate(MONTHS):
        oop = 7000 if period == M else 200
        p.add("nhsa_claims", period, settle_id=f"S-B-{i}", person_id=b.person_id, settle_date=d(period + "-15"),
              visit_type="outpatient", catastrophic=False, total_yuan=oop * 3, fund_yuan=oop * 2,
              critical_illness_yuan=0, medical_aid_yuan=0, oop_yuan=oop, reversal_of=None)

    # EXP_HARDSHIP raise: an 'other' roster family of 2 (a parent earning 2,400 a month on record and a
    # child of 10: coverage full), 1,200 per capita >= 1,000; OOP 4,000 in February and 3,000 in March.
    # Jan-Jul: (7 x 2,400 - 7,000) / 7 / 2 = 700 < 1,000 -> high.
    e = p.person("卞一", "head", income=2400)
    G.hardship = p.family("F330102001001000028", URBAN, "other",
                          [e, p.person("齐二", "child", birth="20160101")]).household_id
    for sid, period, oop in (("S-H-1", "2026-02", 4000), ("S-H-2", "2026-03", 3000)):
        p.add("nhsa_claims", period, settle_id=sid, person_id=e.person_id, settle_date=d(period + "-08"),
              visit_type="inpatient", catastrophic=False, total_yuan=oop * 4, fund_yuan=oop * 3,
              critical_illness_yuan=0, medical_aid_yuan=0, oop_yuan=oop, reversal_of=None)
    # EXP_HARDSHIP miss: the same household with 2,000 OOP in total: (16,800 - 2,000) / 14 = 1,057 >= 1,000.
    e2 = p.person("康三", "head", income=2400)
    G.hardship_miss = p.family("F330102001001000029", URBAN, "other",
                               [e2, p.person("伍四", "child", birth="20160101")]).household_id
    # EXP_HARDSHIP miss (principle 5): the raise's costs where the second adult has no HRSS record: income
    # partly unknown, 2,400 is only a floor -- EXP_HARDSHIP is computed on known income only.
    e3 = p.person("包五", "head", income=2400)
    G.hardship_partial = p.family("F330102001001000031", URBAN, "other", [e3, p.person("路六", "spouse")]).household_id
    for sid, period, oop in (("S-H-4", "2026-02", 4000), ("S-H-5", "2026-03", 3000)):
        p.add("nhsa_claims", period, settle_id=sid, person_id=e3.person_id, settle_date=d(period + "-08"),
              visit_type="inpatient", catastrophic=False, total_yuan=oop * 4, fund_yuan=oop * 3,
              critical_illness_yuan=0, medical_aid_yuan=0, oop_yuan=oop, reversal_of=None)
    p.add("nhsa_claims", "2026-02", settle_id="S-H-3", person_id=e2.person_id, settle_date=d("2026-02-08"),
          visit_type="outpatient", catastrophic=False, total_yuan=5000, fund_yuan=3000, critical_illness_yuan=0,
          medical_aid_yuan=0, oop_yuan=2000, reversal_of=None)

    # DISASTER raise: head's house collapsed in a flood, loss 45,000, aid 2,000 -> urgent, MEM + MOHURD.
    dh = p.person("冯一", "head", income=2000)
    G.disaster = p.family("F330102001201000005", RURAL, "dibao", [dh, p.person("陈二", "spouse")],
                          urban_rural="rural").household_id
    p.add("mem_disaster", M, disaster_id="D-1", disaster_type="flood", occurred_on=d("2026-07-21"),
          person_id=dh.person_id, region_code=RURAL, house_damage="collapsed", loss_yuan=45000,
          emergency_aid_yuan=2000)
    # DISASTER raise (high): house moderately damaged, loss 12,000 >= 10,000 -> high, MEM only.
    dh2 = p.person("褚三", "head", income=3000)
    G.disaster_loss = p.family("F330102001201000006", RURAL, "relapse_watch", [dh2], urban_rural="rural").household_id
    p.add("mem_disaster", M, disaster_id="D-1", disaster_type="flood", occurred_on=d("2026-07-21"),
          person_id=dh2.person_id, region_code=RURAL, house_damage="moderate", loss_yuan=12000,
          emergency_aid_yuan=0)
    # DISASTER miss: house not damaged and a small loss of 3,000.
    dh3 = p.person("卫四", "head", income=3000)
    G.disaster_miss = p.family("F330102001201000007", RURAL, "relapse_watch", [dh3], urban_rural="rural").household_id
    p.add("mem_disaster", M, disaster_id="D-1", disaster_type="flood", occurred_on=d("2026-07-21"),
          person_id=dh3.person_id, region_code=RURAL, house_damage="none", loss_yuan=3000, emergency_aid_yuan=0)

    # POP_DEATH raise (high): the head earned 3,000 of the family's 4,000 a month and dies on 7 July.
    pd = p.person("蒋五", "head", income=3000)
    G.death = p.family("F330102001001000008", URBAN, "relapse_watch",
                       [pd, p.person("沈六", "spouse", income=1000)]).household_id
    p.add("mps_hukou_events", M, event_id="E-DEATH-1", person_id=pd.person_id, hukou_no=None, event_type="death",
          event_date=d("2026-07-07"), region_code=URBAN)
    # POP_DEATH (medium): a child without income dies; miss: a move_out in another family.
    child = p.person("韩小七", "child", birth="20100101")
    G.death_child = p.family("F330102001001000009", URBAN, "relapse_watch",
                             [p.person("韩七", "head", income=3000), child]).household_id
    p.add("mps_hukou_events", M, event_id="E-DEATH-2", person_id=child.person_id, hukou_no=None,
          event_type="death", event_date=d("2026-07-15"), region_code=URBAN)
    mo = p.person("杨八", "child")
    G.move_out = p.family("F330102001001000010", URBAN, "dibao", [p.person("杨九", "head", income=800), mo]).household_id
    p.add("mps_hukou_events", M, event_id="E-MOVE-1", person_id=mo.person_id, hukou_no="999999999",
          event_type="move_out", event_date=d("2026-07-15"), region_code=URBAN)

    # POP_DISABILITY raise: a 二级 肢体 certificate issued on 3 July -> medium, CDPF.
    dis = p.person("朱十", "head", income=800)
    G.disability = p.family("F330102001001000011", URBAN, "dibao", [dis]).household_id
    p.add("cdpf_disability", M, person_id=dis.person_id, disability_type="physical", disability_grade=2,
          issued_on=d("2026-07-03"), cert_status="valid")
    # POP_DISABILITY miss: a 四级 certificate issued the same day.
    dis2 = p.person("秦一", "head", income=800)
    G.disability_miss = p.family("F330102001001000012", URBAN, "dibao", [dis2]).household_id
    p.add("cdpf_disability", M, person_id=dis2.person_id, disability_type="physical", disability_grade=4,
          issued_on=d("2026-07-03"), cert_status="valid")

    # POP_BIRTH raise: a baby born on 2 July into the family's hukou (not yet on the roster) -> low, MCA.
    bh = p.family("F330102001001000013", URBAN, "dibao", [p.person("尤二", "head", income=800), p.person("许三", "spouse")])
    G.birth, G.birth_hukou = bh.household_id, bh.hukou_no
    baby = p.person(None, birth="20260702")
    G.baby = baby.person_id
    p.add("mps_hukou_events", M, event_id="E-BIRTH-1", person_id=baby.person_id, hukou_no=bh.hukou_no,
          event_type="birth", event_date=d("2026-07-02"), region_code=URBAN)
    p.add("mps_hukou_members", M, person_id=baby.person_id, hukou_no=bh.hukou_no, region_code=URBAN,
          as_of=d("2026-07-28"))
    # POP_BIRTH miss: a couple moves into a new hukou household of their own (no existing members).
    m1, m2 = p.person(None, income=6000), p.person(None, income=6000)
    G.new_hukou = p.resident_household(URBAN, [m1, m2], months=[M]).household_id
    for i, m in enumerate((m1, m2)):
        p.add("mps_hukou_events", M, event_id=f"E-MOVEIN-{i}", person_id=m.person_id, hukou_no=G.new_hukou[1:],
              event_type="move_in", event_date=d("2026-07-10"), region_code=URBAN)

    # ELIG_DIBAO raise, path (a): not on the roster, an insured employee earning 2,400 a month and two
    # children (every income known: coverage full), 800 per capita < 1,000 -> high.
    G.elig = p.resident_household(URBAN, [p.person(None, income=2400), p.person(None, birth="20150101"),
                                          p.person(None, birth="20180101")]).household_id
    # ELIG_DIBAO miss: a dibao family with the same income (already assisted).
    G.elig_enrolled = p.family("F330102001001000014", URBAN, "dibao",
                               [p.person("何四", "head", income=2400), p.person("吕五", "spouse"),
                                p.person("施六", "child")]).household_id
    # ELIG_EDGE raise, path (a): not on the roster, a parent earning 2,600 and a child (coverage full),
    # 1,300 per capita: >= 1,000, < 1.5 x 1,000 -> medium.
    G.edge = p.resident_household(URBAN, [p.person(None, income=2600), p.person(None, birth="20150101")]).household_id
    # ELIG_EDGE miss: 1,500 per capita exactly: not below the edge line 1,500.
    G.edge_miss = p.resident_household(URBAN, [p.person(None, income=3000),
                                               p.person(None, birth="20150101")]).household_id
    # ELIG_EDGE in city 4403 (edge multiplier 2.0): 2,000 per capita < 2 x 1,200 = 2,400 -> medium.
    G.edge_sz = p.resident_household(SZ, [p.person(None, income=4000), p.person(None, birth="20150101")]).household_id

    # EXIT_REVIEW raise: a dibao family whose head registers a car on 12 July -> medium, MCA.
    car = p.person("孔七", "head", income=800)
    G.car = p.family("F330102001001000015", URBAN, "dibao", [car, p.person("曹八", "spouse")]).household_id
    p.add("mps_vehicles", M, person_id=car.person_id, vehicle_class="car", first_registered=d("2026-07-12"),
          event="register", event_date=d("2026-07-12"))
    # EXIT_REVIEW miss: a motorcycle, not a car.
    moto = p.person("严九", "head", income=800)
    G.moto = p.family("F330102001001000016", URBAN, "dibao", [moto, p.person("华十", "spouse")]).household_id
    p.add("mps_vehicles", M, person_id=moto.person_id, vehicle_class="motorcycle",
          first_registered=d("2026-07-12"), event="register", event_date=d("2026-07-12"))
    # EXIT_REVIEW raise: deposits 50,000 for 2 people = 25,000 per capita >= 24 x 1,000 (bank snapshot 2026-07).
    rich = p.person("金一", "head", income=800)
    G.assets = p.family("F330102001001000017", URBAN, "dibao", [rich, p.person("魏二", "spouse")]).household_id
    p.add("bank_deposits", M, as_of=d("2026-06-30"), person_id=rich.person_id, deposits_yuan=50000, securities_yuan=0)
    # EXIT_REVIEW miss: an individual business with 50,000 capital (< 100,000).
    biz = p.person("陶三", "head", income=800)
    G.small_biz = p.family("F330102001001000018", URBAN, "dibao", [biz, p.person("姜四", "spouse")]).household_id
    p.add("samr_business", M, credit_code="92330102MA00000001", person_id=biz.person_id, role="legal_rep",
          entity_type="individual", registered_capital_yuan=50000, status="active", event_date=d("2026-07-05"))

    # BENEFIT_AFTER_DEATH raise: died 14 June, still paid 500 in the July roster -> urgent, MCA.
    dead = p.person("戚五", "spouse")
    G.benefit = p.family("F330102001001000019", URBAN, "dibao", [p.person("谢六", "head", income=800), dead]).household_id
    p.add("mps_hukou_events", "2026-06", event_id="E-DEATH-3", person_id=dead.person_id, hukou_no=None,
          event_type="death", event_date=d("2026-06-14"), region_code=URBAN)
    # BENEFIT_AFTER_DEATH miss: died 2 July, in the July roster (the first full month after is August).
    dead2 = p.person("邹七", "spouse")
    G.benefit_miss = p.family("F330102001001000020", URBAN, "dibao",
                              [p.person("喻八", "head", income=800), dead2]).household_id
    p.add("mps_hukou_events", M, event_id="E-DEATH-4", person_id=dead2.person_id, hukou_no=None,
          event_type="death", event_date=d("2026-07-02"), region_code=URBAN)

    # DUP_ENROLL raise: 柏九 is listed in a family of county 330102 and one of 330103 in July -> high,
    # one warning per family, each to its own county.
    dup = p.person("柏九", "head", income=800)
    G.dup_a = p.family("F330102001001000021", URBAN, "dibao", [dup, p.person("水十", "spouse")]).household_id
    G.dup_b = p.family("F330103001001000022", OTHER_COUNTY, "dibao", [p.person("窦一", "head", income=800)]).household_id
    p.add("mca_roster", M, snapshot_month=M, family_id=G.dup_b, person_id=dup.person_id, name="柏九", gender="M",
          birth_date=d("1980-01-01"), relation="spouse", region_code=OTHER_COUNTY, urban_rural="urban",
          category="dibao", enrolled_date=d("2025-06-01"), monthly_benefit_yuan=500,
          last_econ_check_date=d("2026-03-01"), last_home_visit_date=d("2026-03-01"))
    # DUP_ENROLL miss: a person who moved from one family (June) to another (July): never in two at once.
    mover, yun = p.person("章二", "child"), p.person("云三", "head", income=800)
    G.move_a = p.family("F330102001001000023", URBAN, "dibao", [yun, mover], months=MONTHS[:-1]).household_id
    p.family("F330102001001000023", URBAN, "dibao", [yun], months=[M], hukou_no=p.households[-1].hukou_no)
    G.move_b = p.family("F330102001001000024", URBAN, "dibao", [p.person("苏四", "head", income=800), mover],
                        months=[M]).household_id

    # REVIEW_OVERDUE raise: last economic check 30 Jan 2026 < 31 Jul 2026 - 6 months = 31 Jan -> low.
    G.overdue = p.family("F330102001001000025", URBAN, "dibao", [p.person("潘五", "head", income=800)],
                         econ_check="2026-01-30").household_id
    # REVIEW_OVERDUE miss: checked exactly on 31 Jan 2026 (within 6 months), visited 1 Aug 2025 (within 12).
    G.overdue_miss = p.family("F330102001001000026", URBAN, "dibao", [p.person("葛六", "head", income=800)],
                              econ_check="2026-01-31", home_visit="2025-08-01").household_id

    # --- principle 5: income rules on known income; path (b) on partly unknown income ------------------
    # Rural standards: 低保 800, 特困 1,100. "无" = an HRSS row with status none: income unknown.

    # ELIG_DIBAO (a) on VERIFIED income: a rural farming couple off the roster (both 无: partial to the
    # feeds) whose application was assessed on 10 April 2026 at 1,200 a month for 2 = 600 < 800. Verified
    # April..September; the application is 112 days old (> 60: not in process) -> high.
    f1, f2 = none_month(p.person(None, birth="19700101")), none_month(p.person(None, birth="19720101"))
    vh = p.resident_household(RURAL, [f1, f2])
    econ_check(p, vh, "K-V1", "2026-04-10", "application", "assessed", 1200, "below_dibao", f1, 2)
    G.verified = vh.household_id
    # ELIG_DIBAO miss, in process: the same kind of couple, assessed on a referral on 12 April (500 a head)
    # and applying on 5 July (a check_only application check 26 days before the month's end).
    g1, g2 = none_month(p.person(None, birth="19700101")), none_month(p.person(None, birth="19720101"))
    ih = p.resident_household(RURAL, [g1, g2])
    econ_check(p, ih, "K-I1", "2026-04-12", "referral", "assessed", 1000, "below_dibao", g1, 2)
    econ_check(p, ih, "K-I2", "2026-07-05", "application", "check_only", 0, "below_dibao", g1, 2)
    G.in_process = ih.household_id

    # ELIG_DIBAO (b), low: rural, off the roster; the head has a 无 row, his wife no HRSS record, a child of
    # 11: income partly unknown, observed 0 a head. A village assistant found the head ill on 12 May ->
    # a referral for an economic check (转介核对), low off the roster; no model yet.
    b1, b2 = none_month(p.person(None, birth="19750101")), p.person(None, birth="19770101")
    bh = p.resident_household(RURAL, [b1, b2, p.person(None, birth="20150101")])
    grid_visit(p, bh, "V-B1", "2026-05-12", ["illness"], b1)
    G.partial = bh.household_id
    # ELIG_DIBAO (b), medium: an urban 'other' roster family; the head (无 until June) registers
    # unemployed in July without benefit, his wife has no record: observed 0 < 1,000, partly unknown.
    u1 = none_month(p.person("伍一", "head", birth="19820101"))
    u1.by_month[M] = ("unemployed_registered", 0, 0, 0)
    G.partial_roster = p.family("F330102001001000032", URBAN, "other",
                                [u1, p.person("伍二", "spouse", birth="19840101")]).household_id
    # near misses of path (b): a farmer household whose income is unknown and which shows no hardship
    # signal; a rural elderly couple on the basic pension (180 yuan each) -- both look penniless to the feeds.
    G.farmer = p.resident_household(RURAL, [none_month(p.person(None, birth="19680101")),
                                            none_month(p.person(None, birth="19690101"))]).household_id
    G.elderly = p.resident_household(RURAL, [none_month(p.person(None, birth="19500101"), status="retired", pension=180),
                                             none_month(p.person(None, birth="19520101"), status="retired", pension=180)]
                                     ).household_id
    # near miss: found ill on 2 March, checked on a referral on 20 March (check_only: the registered
    # business income 4,000 a month puts it above the edge line), four months before July: the check is
    # later than the signal -> nothing.
    c1, c2 = none_month(p.person(None, birth="19710101")), none_month(p.person(None, birth="19730101"))
    ch = p.resident_household(RURAL, [c1, c2])
    grid_visit(p, ch, "V-C1", "2026-03-02", ["illness"], c1)
    econ_check(p, ch, "K-C1", "2026-03-20", "referral", "check_only", 4000, "above_edge", c1, 2)
    G.checked_above = ch.household_id
    # ... the same check, then a job loss found on 2 June: the signal is later than the check -> (b), low.
    s1, s2 = none_month(p.person(None, birth="19710101")), none_month(p.person(None, birth="19730101"))
    sh = p.resident_household(RURAL, [s1, s2])
    econ_check(p, sh, "K-S1", "2026-03-20", "referral", "check_only", 4000, "above_edge", s1, 2)
    grid_visit(p, sh, "V-S1", "2026-06-02", ["job_loss"], s1)
    G.signal_after_check = sh.household_id
    # near miss: ill on 20 May, but a check_only check of 15 April found a car registered to a member
    # (an asset red flag: the EXIT_REVIEW vehicle test) -> nothing.
    a1, a2 = none_month(p.person(None, birth="19710101")), none_month(p.person(None, birth="19730101"))
    ah = p.resident_household(RURAL, [a1, a2])
    econ_check(p, ah, "K-A1", "2026-04-15", "referral", "check_only", 0, "below_dibao", a1, 2, vehicles=1)
    grid_visit(p, ah, "V-A1", "2026-05-20", ["illness"], a1)
    G.asset_flag = ah.household_id
    # ELIG_EDGE (b), low: urban, off the roster; an employee earning 2,200 and a spouse with a 无 row:
    # observed 1,100 a head (>= 1,000, < 1,500, a floor); a catastrophic settlement on 18 June (3,000
    # out of pocket: below EXP_MED's 5,000 floor; rule A does not apply on partial income).
    e1 = p.person(None, birth="19800101", income=2200)
    eh = p.resident_household(URBAN, [e1, none_month(p.person(None, birth="19820101"))])
    p.add("nhsa_claims", "2026-06", settle_id="S-E1", person_id=e1.person_id, settle_date=d("2026-06-18"),
          visit_type="inpatient", catastrophic=True, total_yuan=20000, fund_yuan=15000, critical_illness_yuan=2000,
          medical_aid_yuan=0, oop_yuan=3000, reversal_of=None)
    G.edge_partial = eh.household_id
    # ELIG_EDGE (a) on SURVEYED income, and the ELIG_DIBAO it must not be: a rural elderly couple on the relapse
    # watch since June 2025, its 2025 survey 9,600 a head net of which 4,800 transfers (its own earnings: 400 a
    # head a month, 800 for the two); HRSS pays the husband a pension of 900 (>= 800: known), the wife has a
    # 无 row. The survey's transfers include that pension, so the income is 800 + 900 = 1,700 (more than the
    # observed 900): 850 a head, >= 800 and < 1,200 -> ELIG_EDGE (a), medium. Without the pension added
    # back it would read 800 / 2 = 400 < 800 -> an ELIG_DIBAO the household's true income does not support.
    r1 = none_month(p.person(None, birth="19550101"), status="retired", pension=900)
    rh = p.resident_household(RURAL, [r1, none_month(p.person(None, birth="19570101"))])
    watch_listing(p, rh, r1, "W-SP", "2025-06-01", ["illness"], net=9600, transfer=4800)
    G.surveyed_pension = rh.household_id

    # TEKUN_CANDIDATE raise: a rural dibao couple aged 76 and 73 on the basic pension, the husband found
    # ill on 12 May -> medium; the legal supporters must be checked.
    t1 = none_month(p.person("邓一", "head", birth="19500101"), status="retired", pension=180)
    t2 = none_month(p.person("邓二", "spouse", birth="19530101"), status="retired", pension=180)
    th = p.family("F330102001201000033", RURAL, "dibao", [t1, t2], urban_rural="rural")
    grid_visit(p, th, "V-T1", "2026-05-12", ["illness"], t1)
    G.tekun = th.household_id
    # TEKUN_CANDIDATE miss: an elderly edge couple living with a son of 46 who works (3,000 a month): not
    # every member is old, young or severely disabled (and 3,360 / 3 = 1,120 >= 800: no ELIG).
    m1 = none_month(p.person("邓三", "head", birth="19500101"), status="retired", pension=180)
    mh = p.family("F330102001201000034", RURAL, "edge",
                  [m1, none_month(p.person("邓四", "spouse", birth="19530101"), status="retired", pension=180),
                   p.person("邓五", "child", birth="19800101", income=3000)], urban_rural="rural")
    grid_visit(p, mh, "V-T2", "2026-05-12", ["illness"], m1)
    G.tekun_miss = mh.household_id
    # TEKUN_CANDIDATE raise off the roster, on verified income: an urban widower of 78 (无), assessed on a
    # referral on 6 May at 700 a month (< 特困 1,300; and < 低保 1,000: ELIG_DIBAO (a) too), found ill on 3 June.
    w1 = none_month(p.person(None, birth="19480101"))
    wh = p.resident_household(URBAN, [w1])
    econ_check(p, wh, "K-W1", "2026-05-06", "referral", "assessed", 700, "below_dibao", w1, 1)
    grid_visit(p, wh, "V-W1", "2026-06-03", ["illness"], w1)
    G.tekun_verified = wh.household_id

    # RELAPSE_RISK raise: a rural household on the relapse watch since 3 Nov 2025 for illness (因病), its
    # survey 30,000 a head a year (well above the lines); the son registers unemployed in June (因失业 is
    # new) -> high, to MOA and MCA.
    r1 = p.person(None, birth="19560101", income=2600, status="retired")
    r1.by_month.update({m: ("retired", 0, 0, 2600) for m in MONTHS})
    r2 = none_month(p.person(None, birth="19860101"))
    for m in ("2026-06", M):
        r2.by_month[m] = ("unemployed_registered", 0, 0, 0)
    rh = p.resident_household(RURAL, [r1, r2])
    watch_listing(p, rh, r1, "JC-1", "2025-11-03", ["illness"])
    G.relapse = rh.household_id
    # RELAPSE_RISK misses: a watch household for illness found ill again (not a new risk); one identified
    # on 15 June whose only signal is its own listing; one whose job loss (2 May) came before its
    # identification (20 May).
    q1 = p.person(None, birth="19560101")
    q1.by_month.update({m: ("retired", 0, 0, 2600) for m in MONTHS})
    qh = p.resident_household(RURAL, [q1, none_month(p.person(None, birth="19860101"))])
    watch_listing(p, qh, q1, "JC-2", "2025-11-03", ["illness"])
    grid_visit(p, qh, "V-Q1", "2026-06-10", ["illness"], q1)
    G.relapse_same = qh.household_id
    l1 = p.person(None, birth="19560101")
    l1.by_month.update({m: ("retired", 0, 0, 2600) for m in MONTHS})
    lh = p.resident_household(RURAL, [l1, none_month(p.person(None, birth="19860101"))])
    watch_listing(p, lh, l1, "JC-3", "2026-06-15", ["disaster"])
    G.relapse_listed = lh.household_id
    o1 = p.person(None, birth="19560101")
    o1.by_month.update({m: ("retired", 0, 0, 2600) for m in MONTHS})
    oh = p.resident_household(RURAL, [o1, none_month(p.person(None, birth="19860101"))])
    watch_listing(p, oh, o1, "JC-4", "2026-05-20", ["illness"])
    grid_visit(p, oh, "V-O1", "2026-05-02", ["job_loss"], o1)
    G.relapse_before = oh.household_id

    p.load()
    build_core(con)
    summary = compute_indicators(con, load_rules(), periods=[M])
    yield con, summary
    con.close()


# --- INC_DROP -----------------------------------------------------------------------------------------

def test_inc_drop_raises_high_with_hrss_on_job_loss(golden):
    con, _ = golden
    w = only(con, "INC_DROP", G.inc_drop)
    e = ev(w)
    assert w["severity"] == "high"
    assert w["departments"] == ["MCA", "HRSS"]
    assert e["baseline_yuan"] == 4820 and e["baseline_months"] == 6 and e["income_yuan"] == 1600
    assert e["per_capita_yuan"] == pytest.approx(533.33) and e["dibao_std_yuan"] == 1000
    assert e["job_loss"]["new_status"] == "unemployed_registered"
    assert e["thresholds"]["drop_ratio"] == 0.7
    assert "hrss_employment" in e["source_deliveries"]
    assert w["explanation"] == ("户主张三 2026年7月起失业登记，家庭月收入由 4,820 元降至 1,600 元（降幅 67%），"
                                "人均 533 元，低于当地低保标准 1,000 元")
    assert w["family_id"] == G.inc_drop and w["county_code"] == "330102"
    assert w["warning_id"].startswith("W-") and len(w["warning_id"]) == 18
    assert w["case_id"] is None


def test_inc_drop_needs_three_baseline_months(golden):
    con, _ = golden
    none(con, "INC_DROP", G.inc_drop_short)


def test_inc_drop_small_fall_is_not_a_spike(golden):
    con, _ = golden
    none(con, "INC_DROP", G.inc_drop_small)


# --- EXP_MED --------------------------------------------------------------------------------------------

def test_exp_med_rule_a_catastrophic_is_high(golden):
    con, _ = golden
    w = only(con, "EXP_MED", G.med)
    e = ev(w)
    assert w["severity"] == "high" and w["departments"] == ["NHSA", "MCA"]
    assert e["rule_a"] is True and e["rule_b"] is False
    assert e["oop_window_yuan"] == 4800 and e["income_window_yuan"] == 9000
    assert e["record_ids"]["settle_ids"] == ["S-MED-1"]
    assert "医疗自付 4,800 元" in w["explanation"] and "9,000 元的 53%" in w["explanation"]
    assert "重特大疾病" in w["explanation"]


def test_exp_med_claim_and_reversal_cancel(golden):
    con, _ = golden
    none(con, "EXP_MED", G.med_reversed)
    oop = con.execute("select oop_yuan, gross_oop_yuan from core.household_oop_month "
                      "where household_id = ? and period = ?", [G.med_reversed, M]).fetchone()
    assert oop == (0, 8000)


def test_exp_med_small_prescription_without_income(golden):
    con, _ = golden
    none(con, "EXP_MED", G.med_small)


def test_exp_med_rule_b_spike(golden):
    con, _ = golden
    w = only(con, "EXP_MED", G.med_spike)
    e = ev(w)
    assert w["severity"] == "medium"
    assert e["rule_b"] is True and e["oop_month_yuan"] == 7000 and e["history_median_yuan"] == 200
    assert e["history_months"] == 6
    assert "为此前6个月月度中位数 200 元的 35.0 倍" in w["explanation"]


# --- EXP_HARDSHIP ----------------------------------------------------------------------------------------

def test_exp_hardship_raises(golden):
    con, _ = golden
    w = only(con, "EXP_HARDSHIP", G.hardship)
    e = ev(w)
    assert w["severity"] == "high" and w["departments"] == ["MCA"]
    assert e["window_months"] == 7 and e["income_per_capita_yuan"] == 1200 and e["net_per_capita_yuan"] == 700
    assert e["oop_yuan"] == 7000
    assert "人均月收入 1,200 元" in w["explanation"] and "医疗自付 7,000 元" in w["explanation"]
    assert "人均每月仅 700 元" in w["explanation"]
    assert w["explanation"].startswith("户主卞一家 近7个月")


def test_exp_hardship_miss_when_spending_leaves_enough(golden):
    con, _ = golden
    none(con, "EXP_HARDSHIP", G.hardship_miss)


# --- DISASTER ---------------------------------------------------------------------------------------------

def test_disaster_collapsed_is_urgent_with_mohurd(golden):
    con, _ = golden
    w = only(con, "DISASTER", G.disaster)
    e = ev(w)
    # v2: MCA too (临时救助), by the disaster's own region
    assert w["severity"] == "urgent" and w["departments"] == ["MEM", "MCA", "MOHURD"]
    assert e["loss_yuan"] == 45000 and e["record_ids"]["disaster_ids"] == ["D-1"]
    assert w["office_region"] == RURAL and e["disaster_region"] == RURAL
    assert w["explanation"] == ("户主冯一 2026年7月21日遭受洪涝灾害，房屋倒塌，直接损失 45,000 元（已获应急救助 2,000 元），"
                                "请灾害发生地民政部门评估临时救助")


def test_disaster_large_loss_is_high_mem_only(golden):
    con, _ = golden
    w = only(con, "DISASTER", G.disaster_loss)
    assert w["severity"] == "high" and w["departments"] == ["MEM", "MCA"]


def test_disaster_no_damage_small_loss_is_quiet(golden):
    con, _ = golden
    none(con, "DISASTER", G.disaster_miss)


# --- POP_DEATH ----------------------------------------------------------------------------------------------

def test_pop_death_of_main_earner_is_high(golden):
    con, _ = golden
    w = only(con, "POP_DEATH", G.death)
    e = ev(w)
    # Jan-Jun: the head earned 6 x 3,000 = 18,000 of 24,000 (75%).
    assert w["severity"] == "high" and w["departments"] == ["MCA"]
    assert e["deceased_income_yuan"] == 18000 and e["income_share"] == 0.75
    assert e["record_ids"]["event_ids"] == ["E-DEATH-1"]
    assert "户主蒋五 于2026年7月7日死亡" in w["explanation"] and "占家庭收入 75%" in w["explanation"]


def test_pop_death_of_child_is_medium_and_move_out_is_quiet(golden):
    con, _ = golden
    assert only(con, "POP_DEATH", G.death_child)["severity"] == "medium"
    none(con, "POP_DEATH", G.move_out)


# --- POP_DISABILITY -----------------------------------------------------------------------------------------

def test_pop_disability_grade_two(golden):
    con, _ = golden
    w = only(con, "POP_DISABILITY", G.disability)
    assert w["severity"] == "medium" and w["departments"] == ["CDPF"]
    assert ev(w)["disability_grade"] == 2
    assert w["explanation"].startswith("户主朱十 2026年7月3日首次取得肢体二级残疾证")


def test_pop_disability_grade_four_is_quiet(golden):
    con, _ = golden
    none(con, "POP_DISABILITY", G.disability_miss)


# --- POP_BIRTH ----------------------------------------------------------------------------------------------

def test_pop_birth_into_family(golden):
    con, _ = golden
    w = only(con, "POP_BIRTH", G.birth)
    e = ev(w)
    assert w["severity"] == "low" and w["departments"] == ["MCA"]
    assert e["births"] == 1 and e["record_ids"]["event_ids"] == ["E-BIRTH-1"] and w["person_id"] == G.baby
    assert "新增家庭成员 1 人（出生 1 人）" in w["explanation"]
    # the baby joined the family's household, not a phantom one-person household of its own
    assert warnings(con, household_id="H" + G.birth_hukou) == []
    size = con.execute("select size from core.household_month where household_id = ? and period = ?",
                       [G.birth, M]).fetchone()[0]
    assert size == 3


def test_pop_birth_new_household_moving_in_is_quiet(golden):
    con, _ = golden
    none(con, "POP_BIRTH", G.new_hukou)


# --- ELIG_DIBAO / ELIG_EDGE ------------------------------------------------------------------------------------

def test_elig_dibao_raises(golden):
    con, _ = golden
    w = only(con, "ELIG_DIBAO", G.elig)
    e = ev(w)
    assert w["severity"] == "high" and w["departments"] == ["MCA"]
    assert e["per_capita_yuan"] == 800 and e["months"] == 3 and e["dibao_std_yuan"] == 1000
    assert w["family_id"] is None and w["hukou_no"] == G.elig[1:]
    assert e["path"] == "a" and e["income_coverage"] == "full" and e["per_capita_basis"] == "rule_income"
    assert w["explanation"] == (f"户号 {G.elig[1:]} 近3个月人均月收入 800 元（家庭成员收入均有记录），"
                                "低于当地低保标准 1,000 元，尚未纳入低保或特困，建议核查是否符合低保条件")


def test_elig_dibao_not_for_enrolled(golden):
    con, _ = golden
    none(con, "ELIG_DIBAO", G.elig_enrolled)


def test_elig_edge_raises_and_dibao_wins_below_standard(golden):
    con, _ = golden
    w = only(con, "ELIG_EDGE", G.edge)
    e = ev(w)
    assert w["severity"] == "medium" and e["per_capita_yuan"] == 1300 and e["edge_line_yuan"] == 1500
    assert e["edge_multiplier"] == 1.5
    none(con, "ELIG_EDGE", G.elig)        # 800 < 低保: ELIG_DIBAO, not ELIG_EDGE
    none(con, "ELIG_EDGE", G.edge_miss)   # 1,500 is not below the 1,500 line


def test_elig_edge_city_multiplier(golden):
    con, _ = golden
    w = only(con, "ELIG_EDGE", G.edge_sz)
    e = ev(w)
    assert e["edge_multiplier"] == 2.0 and e["edge_line_yuan"] == 2400 and e["per_capita_yuan"] == 2000
    assert "（低保标准×2.0）" in w["explanation"] and w["county_code"] == "440303"


# --- income rules v2 (principle 5): known income, path (b), hardship signals ---------------------------

def test_elig_dibao_a_on_verified_income(golden):
    """To the feeds the couple has no income (both 无: partial); the assessed check of 10 April says
    1,200 a month for two: verified May..July, 600 < 800 -> (a), high."""
    con, _ = golden
    w = only(con, "ELIG_DIBAO", G.verified)
    e = ev(w)
    assert w["severity"] == "high" and e["path"] == "a" and e["income_coverage"] == "verified"
    assert e["per_capita_yuan"] == 600 and e["dibao_std_yuan"] == 800
    assert [m["coverage"] for m in e["detail"]] == ["verified"] * 3
    assert e["application_check_date"] == "2026-04-10"            # 112 days before 31 July: not in process
    assert w["explanation"] == (f"户号 {G.verified[1:]} 近3个月人均月收入 600 元（据2026年4月10日家庭经济状况核对），"
                                "低于当地低保标准 800 元，尚未纳入低保或特困，建议核查是否符合低保条件")


def test_elig_edge_a_on_surveyed_income_counts_the_pensions_on_record(golden):
    """The relapse-watch survey's own-income figure (net less transfers) leaves out the pensions its
    transfers include; the month's pensions on record are added back: 800 + 900 = 1,700 for two."""
    con, _ = golden
    none(con, "ELIG_DIBAO", G.surveyed_pension)
    w = only(con, "ELIG_EDGE", G.surveyed_pension)
    e = ev(w)
    assert w["severity"] == "medium" and e["path"] == "a" and e["income_coverage"] == "surveyed"
    assert e["per_capita_yuan"] == 850 and e["edge_line_yuan"] == 1200
    assert [m["coverage"] for m in e["detail"]] == ["surveyed"] * 3
    assert w["explanation"] == (f"户号 {G.surveyed_pension[1:]} 近3个月人均月收入 850 元（据防止返贫监测2025年收入调查及"
                                "养老金记录），高于低保标准 800 元但低于低保边缘线 1,200 元（低保标准×1.5），尚未在册，"
                                "建议核查是否符合低保边缘条件")
    row = con.execute("select observed_income_yuan, surveyed_income_yuan, rule_income_yuan from core.household_coverage_month "
                      "where household_id = ? and period = ?", [G.surveyed_pension, M]).fetchone()
    assert [float(x) for x in row] == [900, 1700, 1700]


def test_elig_not_while_an_application_is_in_process(golden):
    con, _ = golden
    none(con, "ELIG_DIBAO", G.in_process)       # applied on 5 July: 26 days before the month's end < 60


def test_elig_dibao_b_partial_with_a_signal_is_a_referral(golden):
    """Income partly unknown (a 无 row, no record; a child known at 0): observed 0 is only a floor. The
    head was found ill on 12 May: a referral for an economic check, low off the roster."""
    con, _ = golden
    w = only(con, "ELIG_DIBAO", G.partial)
    e = ev(w)
    assert w["severity"] == "low" and w["departments"] == ["MCA"]
    assert e["path"] == "b" and e["income_coverage"] == "partial" and e["per_capita_basis"] == "observed_income_floor"
    assert e["unknown_members"] == 2 and e["unknown_reasons"] == ["no_hrss_record", "status_none"]
    assert e["signal"]["kind"] == "grid_finding" and e["signal"]["signal_date"] == "2026-05-12"
    assert e["model"] == {"applied": False}                       # no model has scored the month yet
    assert w["explanation"] == (
        f"户号 {G.partial[1:]} 收入部分未知（3人中2人收入无从核实：无人社记录、人社登记为无就业），部门数据可见的"
        "近3个月人均月收入仅 0 元，低于低保标准 800 元；困难信号：2026年5月12日网格走访发现患病。"
        "建议转介乡镇开展家庭经济状况核对（转介核对），核实是否符合低保条件（资格模型尚未启用）")


def test_elig_dibao_b_on_the_roster_is_medium(golden):
    con, _ = golden
    w = only(con, "ELIG_DIBAO", G.partial_roster)
    e = ev(w)
    assert w["severity"] == "medium" and e["path"] == "b" and e["category"] == "other"
    assert e["signal"]["kind"] == "became_unemployed" and e["signal"]["detail"]["previous_status"] == "none"
    assert "困难信号：户主伍一 2026年7月新登记失业。建议转介乡镇开展家庭经济状况核对（转介核对）" in w["explanation"]
    assert w["explanation"].startswith("户主伍一家（其他困难）收入部分未知（2人中2人收入无从核实")


def test_no_referral_without_a_signal_farmers_and_pensioners(golden):
    """Near misses of path (b): to the feeds both households earn (almost) nothing -- a farming couple
    with 无 rows, an elderly couple on the 180-yuan basic pension -- but nothing signals hardship."""
    con, _ = golden
    for hh in (G.farmer, G.elderly):
        for code in ("ELIG_DIBAO", "ELIG_EDGE", "EXP_HARDSHIP", "TEKUN_CANDIDATE"):
            none(con, code, hh)


def test_checked_above_edge_four_months_ago(golden):
    """Found ill on 2 March, checked above the edge line on 20 March: nothing in July. A signal later
    than the check (a job loss on 2 June) is new evidence: referred again."""
    con, _ = golden
    none(con, "ELIG_DIBAO", G.checked_above)
    none(con, "ELIG_EDGE", G.checked_above)
    w = only(con, "ELIG_DIBAO", G.signal_after_check)
    e = ev(w)
    assert w["severity"] == "low" and e["above_edge_check_date"] == "2026-03-20"
    assert e["signal"]["signal_date"] == "2026-06-02" and "网格走访发现失业" in w["explanation"]


def test_asset_red_flag_blocks_the_referral(golden):
    con, _ = golden
    none(con, "ELIG_DIBAO", G.asset_flag)        # the check of 15 April counted a car


def test_elig_edge_b(golden):
    """Observed 1,100 a head (an employee's 2,200; the spouse's income unknown): at least the 低保
    standard, below the edge line; a catastrophic settlement on 18 June -> ELIG_EDGE (b), low."""
    con, _ = golden
    w = only(con, "ELIG_EDGE", G.edge_partial)
    e = ev(w)
    assert w["severity"] == "low" and e["path"] == "b" and e["per_capita_yuan"] == 1100
    assert e["signal"]["kind"] == "catastrophic_settlement"     # named before the 3-month OOP of the same day
    assert {s["kind"] for s in e["signals"]} == {"catastrophic_settlement", "medical_oop_3m"}
    assert "困难信号：2026年6月18日重特大疾病医疗结算（自付 3,000 元）。建议转介乡镇开展家庭经济状况核对" in w["explanation"]
    none(con, "ELIG_DIBAO", G.edge_partial)
    none(con, "EXP_MED", G.edge_partial)         # rule A needs known income; rule B: 3,000 < 5,000


def test_income_rules_do_not_fire_on_partial_income(golden):
    """EXP_HARDSHIP and EXP_MED rule A read known income only: the same costs on partly unknown income
    raise nothing (EXP_MED rule B, spending against spending, still runs on partial coverage)."""
    con, _ = golden
    none(con, "EXP_HARDSHIP", G.hardship_partial)
    none(con, "EXP_MED", G.med_partial)
    assert ev(only(con, "EXP_MED", G.med_spike))["rule_b"] is True      # its second member: no HRSS record


def test_tekun_candidate(golden):
    con, _ = golden
    w = only(con, "TEKUN_CANDIDATE", G.tekun)
    e = ev(w)
    assert w["severity"] == "medium" and w["departments"] == ["MCA"]
    assert e["elderly"] == 2 and e["signal"]["kind"] == "grid_finding" and "法定赡养抚养扶养义务人" in e["legal_supporters"]
    assert w["explanation"] == (
        "户主邓一家（低保）全体2名成员均为老年人、未成年人或重度残疾人（2人60岁以上）；困难信号：2026年5月12日"
        "网格走访发现患病。可能符合特困人员救助供养条件，建议核查；须核实有无法定赡养抚养扶养义务人及其赡养、"
        "抚养、扶养能力（部门数据不掌握义务人信息）")
    none(con, "TEKUN_CANDIDATE", G.tekun_miss)   # a working son of 46
    # a single severely disabled adult of a dibao family, certified (first grade 2) on 3 July
    w = only(con, "TEKUN_CANDIDATE", G.disability)
    assert ev(w)["severely_disabled_adults"] == 1 and "2026年7月3日成员首次取得二级残疾证" in w["explanation"]


def test_tekun_candidate_off_the_roster_on_verified_income(golden):
    con, _ = golden
    w = only(con, "TEKUN_CANDIDATE", G.tekun_verified)
    e = ev(w)
    assert e["on_roster"] is False and e["verified_per_capita_yuan"] == 700 and e["tekun_std_yuan"] == 1300
    assert "核实人均月收入 700 元低于特困供养标准 1,300 元" in w["explanation"]
    assert ev(only(con, "ELIG_DIBAO", G.tekun_verified))["path"] == "a"


def test_relapse_risk(golden):
    con, _ = golden
    w = only(con, "RELAPSE_RISK", G.relapse)
    e = ev(w)
    assert w["severity"] == "high" and w["departments"] == ["MOA", "MCA"]
    assert e["risk_types"] == ["illness"] and e["new_risk_types"] == ["unemployment"]
    assert e["signal"]["kind"] == "became_unemployed" and e["identified_on"] == "2025-11-03"
    assert w["explanation"] == (
        f"户号 {G.relapse[1:]} 为防止返贫监测户（2025年11月3日识别，风险类型：因病），识别后出现新的风险："
        "2026年6月新登记失业（因失业）。建议农业农村部门及时帮扶、民政部门评估社会救助需要")
    none(con, "RELAPSE_RISK", G.relapse_same)     # ill again: 因病 is already its risk
    none(con, "RELAPSE_RISK", G.relapse_listed)   # its only signal is its own listing
    none(con, "RELAPSE_RISK", G.relapse_before)   # the job loss came before the identification


def test_eligibility_model_gates_path_b_once_it_scores_the_month():
    """Two rural households whose income the feeds cannot see, both found ill in May. Without model
    scores both are referred (path b, "no model"). Once the model scored July, the month is
    re-evaluated: the one below its cut-off is no longer referred, the other's warning names the model's
    probability and its three weightiest features. Path (a) is never gated."""
    con = duckdb.connect()
    p = base_province(con)
    hhs = []
    for i in range(2):
        head = none_month(p.person(None, birth="19700101"))
        hh = p.resident_household(RURAL, [head, none_month(p.person(None, birth="19720101"))])
        grid_visit(p, hh, f"V-M{i}", "2026-05-12", ["illness"], head)
        hhs.append(hh.household_id)
    known = p.resident_household(URBAN, [p.person(None, income=1500), p.person(None, birth="20150101")]).household_id
    p.load()
    build_core(con)
    compute_indicators(con, load_rules(), periods=[M], indicators=["ELIG_DIBAO"])
    assert {w["household_id"] for w in warnings(con, "ELIG_DIBAO")} == {*hhs, known}
    features = '[{"feature": "farm_village", "zh": "村委会（农村）住户"}, {"feature": "no_hrss", "zh": "成员无人社记录"},' \
               ' {"feature": "illness", "zh": "近期患病"}, {"feature": "size", "zh": "家庭人口"}]'
    con.execute("insert into core.eligibility_month values (?, ?, 0.3, 0.5, 'elig-1', ?), (?, ?, 0.8, 0.5, 'elig-1', ?)",
                [M, hhs[0], features, M, hhs[1], features])
    summary = compute_indicators(con, load_rules(), periods=[M], indicators=["ELIG_DIBAO"])
    assert summary.evaluated and summary.retracted_warnings == 1      # the new scores re-evaluated July
    assert {w["household_id"] for w in warnings(con, "ELIG_DIBAO")} == {hhs[1], known}
    w = only(con, "ELIG_DIBAO", hhs[1])
    e = ev(w)
    assert e["model"]["applied"] is True and e["model"]["probability"] == 0.8 and e["model"]["model_version"] == "elig-1"
    assert w["explanation"].endswith("资格模型估计概率 0.80（阈值 0.50），主要因素：村委会（农村）住户、成员无人社记录、近期患病")
    assert ev(only(con, "ELIG_DIBAO", known))["path"] == "a"
    # the gate can be switched off: path (b) runs without it
    off = rules_from_dict({"indicators": {"ELIG_DIBAO": {"params": {"model_gate": False}}}})
    compute_indicators(con, off, periods=[M], indicators=["ELIG_DIBAO"])
    assert {w["household_id"] for w in warnings(con, "ELIG_DIBAO")} == {*hhs, known}


def test_path_b_judges_a_signal_only_where_the_checks_since_it_are_known():
    """Path (b) weighs the economic checks since its hardship signal (an above_edge check after the
    signal silences it). Where those checks are unknown -- months before the checks feed starts
    (2026-01), or a month whose delivery is missing -- path (b) cannot judge the household: no verdict on
    missing data, and the run says what path (b) lacked. Path (a) is not affected.

    Rural couples off the roster, both with a 无 row in every month (income partly unknown, observed 0):
    - found ill on 10 Dec 2025, before the feed: nothing in January or February 2026;
    - the same illness, then a job loss found on 5 Feb 2026: referred in February only (path b, low);
    - the checks of May 2026 never delivered: found ill on 20 April -> nothing in July (the checks of
      May are unknown); found ill on 15 June -> referred in July, its checks known from 1 June;
    - an employee household (1,000 for 2 = 500 a head < 800, income known): path (a) in every month."""
    con = duckdb.connect()
    months = month_range("2025-10", M)
    p = base_province(con, months=months)
    p.standard("3301", "urban", 950, 1250, year=2025)
    p.standard("3301", "rural", 760, 1050, year=2025)

    def couple(*visits):
        head = none_month(p.person(None, birth="19700101"), months)
        hh = p.resident_household(RURAL, [head, none_month(p.person(None, birth="19720101"), months)])
        for i, (date, finding) in enumerate(visits):
            grid_visit(p, hh, f"V-{hh.hukou_no}-{i}", date, [finding], head)
        return hh.household_id

    early = couple(("2025-12-10", "illness"))
    early_then_new = couple(("2025-12-10", "illness"), ("2026-02-05", "job_loss"))
    before_gap = couple(("2026-04-20", "illness"))
    after_gap = couple(("2026-06-15", "illness"))
    known = p.resident_household(RURAL, [p.person(None, income=1000), p.person(None, birth="20150101")]).household_id
    p.missing("mca_econ_checks", "2026-05")
    p.load()
    build_core(con)
    summary = compute_indicators(con, load_rules(), periods=["2026-01", "2026-02", M], indicators=["ELIG_DIBAO"])
    raised = {(w["household_id"], w["period"]): w for w in warnings(con, "ELIG_DIBAO")}
    assert set(raised) == {(early_then_new, "2026-02"), (after_gap, M),
                           (known, "2026-01"), (known, "2026-02"), (known, M)}
    w = raised[(early_then_new, "2026-02")]
    assert w["severity"] == "low" and ev(w)["path"] == "b" and ev(w)["checks_known_from"] == "2026-01-01"
    assert ev(w)["signal"]["kind"] == "grid_finding" and ev(w)["signal"]["signal_date"] == "2026-02-05"
    w = raised[(after_gap, M)]
    assert ev(w)["path"] == "b" and ev(w)["checks_known_from"] == "2026-06-01"
    assert ev(raised[(known, M)])["path"] == "a" and ev(raised[(known, M)]).get("checks_known_from") is None
    said = " | ".join(summary.partial)
    assert "ELIG_DIBAO 2026-01 evaluated without mca_econ_checks 2025-12 (path b: before the feed starts)" in said
    assert f"ELIG_DIBAO {M} evaluated without mca_econ_checks 2026-05 (path b)" in said


# --- EXIT_REVIEW ------------------------------------------------------------------------------------------------

def test_exit_review_car(golden):
    con, _ = golden
    w = only(con, "EXIT_REVIEW", G.car)
    e = ev(w)
    assert w["severity"] == "medium" and w["departments"] == ["MCA"]
    assert e["triggers"] == ["vehicle"] and e["vehicles"][0]["vehicle_class"] == "car"
    assert "户主孔七新登记小汽车" in w["explanation"]


def test_exit_review_motorcycle_is_quiet(golden):
    con, _ = golden
    none(con, "EXIT_REVIEW", G.moto)


def test_exit_review_assets(golden):
    con, _ = golden
    w = only(con, "EXIT_REVIEW", G.assets)
    e = ev(w)
    assert e["triggers"] == ["assets"] and e["assets_per_capita_yuan"] == 25000
    assert "人均 25,000 元，超过低保标准的 24 倍" in w["explanation"]


def test_exit_review_small_individual_business_is_quiet(golden):
    con, _ = golden
    none(con, "EXIT_REVIEW", G.small_biz)


# --- BENEFIT_AFTER_DEATH -------------------------------------------------------------------------------------------

def test_benefit_after_death_is_urgent(golden):
    con, _ = golden
    w = only(con, "BENEFIT_AFTER_DEATH", G.benefit)
    e = ev(w)
    assert w["severity"] == "urgent" and w["departments"] == ["MCA"]
    assert e["death_date"] == "2026-06-14" and e["monthly_benefit_yuan"] == 500
    assert e["record_ids"]["event_ids"] == ["E-DEATH-3"]
    assert w["explanation"].startswith("配偶戚五 已于2026年6月14日死亡（户籍注销），2026年7月低保名册仍在册")


def test_benefit_in_death_month_is_not_yet_flagged(golden):
    con, _ = golden
    none(con, "BENEFIT_AFTER_DEATH", G.benefit_miss)


# --- DUP_ENROLL ------------------------------------------------------------------------------------------------------

def test_dup_enroll_one_warning_per_family_and_county(golden):
    con, _ = golden
    a, b = only(con, "DUP_ENROLL", G.dup_a), only(con, "DUP_ENROLL", G.dup_b)
    assert a["severity"] == b["severity"] == "high"
    assert (a["county_code"], b["county_code"]) == ("330102", "330103")
    assert a["person_id"] == b["person_id"]
    assert ev(a)["families"] == 2 and ev(a)["counties"] == 2
    assert "同时在册于 2 个家庭" in a["explanation"] and "涉及 2 个区县" in a["explanation"]


def test_dup_enroll_mover_is_quiet(golden):
    con, _ = golden
    none(con, "DUP_ENROLL", G.move_a)
    none(con, "DUP_ENROLL", G.move_b)


# --- REVIEW_OVERDUE ----------------------------------------------------------------------------------------------------

def test_review_overdue(golden):
    con, _ = golden
    w = only(con, "REVIEW_OVERDUE", G.overdue)
    e = ev(w)
    assert w["severity"] == "low" and e["econ_overdue"] is True and e["econ_cutoff"] == "2026-01-31"
    assert "上次经济状况核对为2026年1月30日，已超过 6 个月" in w["explanation"]


def test_review_exactly_six_months_is_not_overdue(golden):
    con, _ = golden
    none(con, "REVIEW_OVERDUE", G.overdue_miss)


# --- whole-run properties ----------------------------------------------------------------------------------------------

def test_golden_province_raises_exactly_the_expected_warnings(golden):
    """No false alarms: every warning of the province is one a caseworker expects."""
    con, _ = golden
    expected = {
        ("INC_DROP", G.inc_drop), ("EXP_MED", G.med), ("EXP_MED", G.med_spike), ("EXP_HARDSHIP", G.hardship),
        ("DISASTER", G.disaster), ("DISASTER", G.disaster_loss),
        ("POP_DEATH", G.death), ("POP_DEATH", G.death_child), ("POP_DEATH", G.benefit_miss),  # died 2 July
        ("POP_DISABILITY", G.disability), ("POP_BIRTH", G.birth),
        ("ELIG_DIBAO", G.elig), ("ELIG_EDGE", G.edge), ("ELIG_EDGE", G.edge_sz),
        ("ELIG_DIBAO", G.verified), ("ELIG_DIBAO", G.partial), ("ELIG_DIBAO", G.partial_roster),
        ("ELIG_DIBAO", G.signal_after_check), ("ELIG_DIBAO", G.tekun_verified), ("ELIG_EDGE", G.edge_partial),
        ("ELIG_EDGE", G.surveyed_pension),
        ("TEKUN_CANDIDATE", G.tekun), ("TEKUN_CANDIDATE", G.disability), ("TEKUN_CANDIDATE", G.tekun_verified),
        ("RELAPSE_RISK", G.relapse),
        ("EXIT_REVIEW", G.car), ("EXIT_REVIEW", G.assets), ("BENEFIT_AFTER_DEATH", G.benefit),
        ("DUP_ENROLL", G.dup_a), ("DUP_ENROLL", G.dup_b), ("REVIEW_OVERDUE", G.overdue),
    }
    got = {(w["indicator_code"], w["household_id"]) for w in warnings(con)}
    assert got == expected, f"unexpected: {sorted(got - expected)}; missing: {sorted(expected - got)}"


def test_every_warning_is_complete(golden):
    con, _ = golden
    rows = warnings(con)
    assert rows
    for w in rows:
        assert w["severity"] in ("urgent", "high", "medium", "low")
        assert w["explanation"] and w["departments"] and w["county_code"] and w["household_id"]
        e = ev(w)
        assert e["indicator"] == w["indicator_code"] and "thresholds" in e and "source_deliveries" in e
    # raised_at: data time (the first moment after the data month, Asia/Shanghai), not wall clock
    assert con.execute("select count(*) from mart.warnings where raised_at <> timestamptz '2026-08-01 00:00:00+08'"
                       ).fetchone()[0] == 0
    view = con.execute("select count(*) from main.warnings").fetchone()[0]
    assert view == len(rows)


def test_indicator_codes_have_a_model_each():
    from pipelines.indicators import SQL_DIR
    from pipelines.rules import default_rules

    INDICATOR_CODES = default_rules().codes

    assert sorted(p.stem for p in SQL_DIR.glob("[A-Z]*.sql")) == sorted(INDICATOR_CODES)


# --- gating, idempotence, re-evaluation ----------------------------------------------------------------------------------

def drop_province(con) -> tuple[Province, str, list]:
    """The INC_DROP household of the golden province, alone."""
    p = base_province(con)
    head = p.person("张三", "head", income=4820)
    head.by_month[M] = ("unemployed_registered", 0, 1600, 0)
    hh = p.family("F330102001001000001", URBAN, "edge", [head, p.person("李梅", "spouse"),
                                                           p.person("张小明", "child", birth="20150101")])
    july_hrss = [r for r in p.rows[("hrss_employment", M)]]
    return p, hh.household_id, july_hrss


def test_rejected_hrss_month_waits_and_is_never_zero_income():
    con = duckdb.connect()
    p, hh, _ = drop_province(con)
    p.reject("hrss_employment", M)
    p.load()
    build_core(con)
    summary = compute_indicators(con, load_rules(), periods=[M])
    assert warnings(con, "INC_DROP") == []
    assert f"INC_DROP {M} waits for hrss_employment (rejected)" in summary.waiting
    assert f"ELIG_DIBAO {M} waits for hrss_employment (rejected)" in summary.waiting
    known, income = con.execute("select income_known, income_yuan from core.household_month "
                                "where household_id = ? and period = ?", [hh, M]).fetchone()
    assert known is False and income is None
    assert summary.as_dict()["waiting"] == summary.waiting


def test_late_corrected_delivery_reevaluates_month():
    con = duckdb.connect()
    p, hh, july = drop_province(con)
    p.reject("hrss_employment", M)
    p.load()
    build_core(con)
    compute_indicators(con, load_rules(), periods=[M])
    assert warnings(con, "INC_DROP") == []
    p.deliver("hrss_employment", M, july)          # the department re-delivers; it loads
    core = build_core(con)
    assert core.built == [M]                       # only the month whose input changed
    summary = compute_indicators(con, load_rules(), periods=[M])
    w = only(con, "INC_DROP", hh)
    assert ev(w)["source_deliveries"]["hrss_employment"][M] == Province.delivery_id("hrss_employment", M, 2)
    assert summary.new_warnings >= 1 and not any(s.startswith(f"INC_DROP {M}") for s in summary.waiting)


def test_idempotent_runs_add_nothing():
    con = duckdb.connect()
    p, hh, _ = drop_province(con)
    p.load()
    build_core(con)
    import datetime as dt

    t1 = dt.datetime(2026, 8, 5, 2, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    first = compute_indicators(con, load_rules(), raised_at=t1)
    rows1 = warnings(con)
    assert first.new_warnings == len(rows1) > 0
    build_core(con)
    second = compute_indicators(con, load_rules(), raised_at=t1 + dt.timedelta(days=1))
    assert second.evaluated == [] and second.new_warnings == 0 and second.skipped > 0
    assert warnings(con) == rows1
    assert con.execute("select bool_and(raised_at = timestamptz '2026-08-05 02:00:00+08') from mart.warnings"
                       ).fetchone()[0] is True


def test_warning_id_is_deterministic():
    import hashlib

    con = duckdb.connect()
    p, hh, _ = drop_province(con)
    p.load()
    build_core(con)
    compute_indicators(con, load_rules(), periods=[M])
    w = only(con, "INC_DROP", hh)
    assert w["warning_id"] == "W-" + hashlib.sha256(f"INC_DROP|{hh}|{M}|high".encode()).hexdigest()[:16]


def test_exp_edu_new_senior_student():
    """Autumn term 2026-09: the child moves from junior (spring) to senior high school.
    cost = 5,000 tuition + 1,500 boarding - 0 aid = 6,500 >= 3,000; mean income (Mar-Aug) 3,000:
    rule a: 6,500 >= 2 x 3,000 (starts senior); rule b: 6,500 >= 0.3 x 18,000 = 5,400 -> medium, MOE.
    Nearest miss: the same student in a family earning 4,000: 6,500 < 8,000 and < 7,200."""
    con = duckdb.connect()
    months = month_range("2026-03", "2026-09")
    p = base_province(con, months)
    kid = p.person("钱小一", "child", birth="20100901")
    hh = p.family("F330102001001000031", URBAN, "edge", [p.person("钱一", "head", income=3000), kid]).household_id
    kid2 = p.person("李小二", "child", birth="20100901")
    hh2 = p.family("F330102001001000032", URBAN, "edge", [p.person("李二", "head", income=4000), kid2]).household_id
    for k in (kid, kid2):
        p.add("moe_students", "2026-03", term="2026-1", person_id=k.person_id, stage="junior", tuition_yuan=0,
              boarding_yuan=0, aid_yuan=0)
        p.add("moe_students", "2026-09", term="2026-2", person_id=k.person_id, stage="senior", tuition_yuan=5000,
              boarding_yuan=1500, aid_yuan=0)
    p.load()
    build_core(con)
    summary = compute_indicators(con, load_rules(), indicators=["EXP_EDU"])
    assert {e["period"] for e in summary.evaluated} == {"2026-03", "2026-09"}   # term starts only
    w = only(con, "EXP_EDU", hh, "2026-09")
    e = ev(w)
    assert w["severity"] == "medium" and w["departments"] == ["MOE"] and w["person_id"] == kid.person_id
    assert e["cost_yuan"] == 6500 and e["rule_a_new_costly_stage"] is True and e["mean_monthly_income_yuan"] == 3000
    assert w["explanation"] == ("子女钱小一 2026年9月起就读高中（由初中升入），本学期学费住宿费扣除资助后共 6,500 元，"
                                "相当于家庭月均收入 3,000 元的 2.2 倍")
    none(con, "EXP_EDU", hh2, "2026-09")


# --- rules: overrides ----------------------------------------------------------------------------------------------------

def test_config_file_override_changes_threshold_and_evidence(tmp_path: Path):
    con = duckdb.connect()
    p, hh, _ = drop_province(con)
    p.load()
    build_core(con)
    # 1,600 / 4,820 = 0.33: a drop_ratio of 0.3 no longer flags it ...
    strict = tmp_path / "strict.toml"
    strict.write_text('[settings]\nduckdb_threads = 1\n\n[indicators.INC_DROP.params]\ndrop_ratio = 0.3\n', encoding="utf-8")
    compute_indicators(con, load_rules(strict), periods=[M])
    none(con, "INC_DROP", hh)
    # ... and 0.4 does; the evidence records the value used (the changed rules re-evaluate the month).
    loose = tmp_path / "loose.toml"
    loose.write_text("[indicators.INC_DROP.params]\ndrop_ratio = 0.4\n", encoding="utf-8")
    compute_indicators(con, load_rules(loose), periods=[M])
    first = only(con, "INC_DROP", hh)
    e = ev(first)
    assert e["thresholds"]["drop_ratio"] == 0.4
    assert str(loose) in e["rules_files"]
    # a re-evaluation that still raises the same warning updates its evidence, keeps its id and
    # first raised_at, and adds no row
    looser = tmp_path / "looser.toml"
    looser.write_text("[indicators.INC_DROP.params]\ndrop_ratio = 0.5\n", encoding="utf-8")
    import datetime as dt

    later = dt.datetime(2026, 9, 1, tzinfo=dt.timezone.utc)
    summary = compute_indicators(con, load_rules(looser), periods=[M], raised_at=later)
    again = only(con, "INC_DROP", hh)
    assert summary.new_warnings == 0 and again["warning_id"] == first["warning_id"]
    assert ev(again)["thresholds"]["drop_ratio"] == 0.5 and again["raised_at"] == first["raised_at"]


def test_per_city_override_changes_outcome():
    """City 4403: per capita 2,000, 低保 1,200. Edge multiplier 2.0 (default file) -> line 2,400, raised;
    overridden to 1.5 -> line 1,800, not raised."""
    def run(rules):
        con = duckdb.connect()
        p = base_province(con)
        hh = p.resident_household(SZ, [p.person(None, income=4000), p.person(None, birth="20150101")]).household_id
        p.load()
        build_core(con)
        compute_indicators(con, rules, periods=[M], indicators=["ELIG_EDGE"])
        return warnings(con, "ELIG_EDGE", hh)

    assert len(run(load_rules())) == 1
    assert run(rules_from_dict({"cities": {"4403": {"edge_multiplier": 1.5}}})) == []
    # a city without an override takes the default, which can be changed too
    rules = rules_from_dict({"edge_multiplier": 2.5})
    assert rules.edge_multiplier_for("3301") == 2.5 and rules.edge_multiplier_for("4403") == 2.0


def test_unknown_keys_are_errors_naming_the_key(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[indicators.INC_DROP.params]\ndrop_ration = 0.4\n", encoding="utf-8")
    with pytest.raises(RulesError, match="indicators.INC_DROP.params.drop_ration"):
        load_rules(bad)
    with pytest.raises(RulesError, match="cities.4403.edge_multipler"):
        rules_from_dict({"cities": {"4403": {"edge_multipler": 2}}})
    with pytest.raises(RulesError, match="indicators.NOPE"):
        rules_from_dict({"indicators": {"NOPE": {}}})
    with pytest.raises(RulesError, match="drop_ratio"):
        rules_from_dict({"indicators": {"INC_DROP": {"params": {"drop_ratio": "high"}}}})


def test_deadline_override():
    r = rules_from_dict({"deadlines": {"urgent_days": 2, "low": 20}})
    assert r.deadlines == {"urgent": 2, "high": 7, "medium": 15, "low": 20}
    with pytest.raises(RulesError, match="deadlines.soon"):
        rules_from_dict({"deadlines": {"soon": 1}})


def test_default_rules():
    r = load_rules()
    assert r.deadlines == {"urgent": 3, "high": 7, "medium": 15, "low": 30}
    assert r.edge_multiplier == 1.5 and r.edge_multiplier_for("4403") == 2.0
    assert r.indicator("DISASTER").routing["house_damage"] == ("MOHURD",)
    assert [str(f) for f in r.indicator("ELIG_DIBAO").feeds][0] == "hrss_employment@-2..0"


# --- gating: a feed that joined the catalog later (since) ---------------------------------------------

def test_gate_treats_months_before_a_feeds_since_as_satisfied():
    """An indicator that needs a new feed (mca_econ_checks, since 2026-01) waits for it only from
    its first period: months before since are satisfied, not missing; from since on it waits."""
    import dataclasses

    from pipelines.indicators import gate
    from pipelines.rules import FeedNeed, default_rules

    base = default_rules().indicators["ELIG_DIBAO"]
    rule = dataclasses.replace(base, feeds=(FeedNeed("mca_roster"), FeedNeed("mca_econ_checks", -2, 0)),
                               optional_feeds=(FeedNeed("moa_relapse_watch"),))
    loaded = ("loaded", "d", "t")
    tokens = {("mca_roster", m): loaded for m in ("2025-10", "2025-11", "2025-12", "2026-01", "2026-02")}
    tokens[("mca_econ_checks", "2025-12")] = ("not_expected", None, None)
    # November: every month of the window is before since -> nothing to wait for, nothing partial
    assert gate(rule, "2025-11", tokens, first_month="2025-10") == ([], [])
    # January: 2025-11 and 2025-12 are before since; January itself is due
    assert gate(rule, "2026-01", tokens, first_month="2025-10") == (["mca_econ_checks"], ["moa_relapse_watch"])
    tokens[("mca_econ_checks", "2026-01")] = loaded
    tokens[("moa_relapse_watch", "2026-01")] = loaded
    assert gate(rule, "2026-01", tokens, first_month="2025-10") == ([], [])
    # February: January loaded, February not yet; a rejected month is named as such
    tokens[("mca_econ_checks", "2026-02")] = ("rejected", "x", None)
    assert gate(rule, "2026-02", tokens, first_month="2025-10")[0] == ["mca_econ_checks (rejected)"]
    # a v1 feed has no since: before the first data month it can never be met
    v1 = dataclasses.replace(base, feeds=(FeedNeed("hrss_employment", -2, 0),), optional_feeds=())
    assert gate(v1, "2025-11", {}, first_month="2025-10")[0][0] == "hrss_employment 2025-09 (before first data month)"
    # the mid-term pseudo-feed is required like a feed (no since: it waits while the term is open)
    mid = dataclasses.replace(base, feeds=(FeedNeed("moe_students_midterm"),), optional_feeds=())
    assert gate(mid, "2026-03", {("moe_students_midterm", "2026-03"): ("open", "m", None)}) == \
        (["moe_students_midterm (open)"], [])
