"""Golden households of the indicator system v2, written by hand: the six new indicators (AID_EDU,
AID_HOUSING, AID_DISABILITY, AID_EMPLOYMENT, GRID_FINDING, CHILD_NO_CARE), the changed rules
(POP_DISABILITY first certificate only and MCA for an edge family, EXP_MED 重病单人保 routing,
REVIEW_OVERDUE for dibao/tekun only, DISASTER also to MCA) and urgent evidence on arrival
(principle 9): evaluated the night the delivery arrives, against the newest roster and hukou
snapshots, and at month end the same warning, never a second case.

Each household has its expected warning (severity, departments, office, explanation computed by hand
in a comment) or is a near miss that must stay quiet. The shared province runs 2026-01 .. 2026-07 and is
evaluated for 2026-03 (a term start: AID_EDU on the mid-term delivery) and 2026-07.

Standards (city 3301): urban 低保 1,000, 特困 1,300; rural 低保 800, 特困 1,100.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

from pipelines.cases import update_cases
from pipelines.core import build_core
from pipelines.indicators import compute_indicators
from pipelines.rules import load_rules
from tests.warehouse_fixtures import Province, d, month_range, warnings

M = "2026-07"
TERM = "2026-03"
MONTHS = month_range("2026-01", M)
URBAN, RURAL = "330102001001", "330102001201"
OTHER_VILLAGE = "330102002202"       # where a visit or a disaster took place, not where the family lives
NEW_CODES = {"AID_EDU", "AID_HOUSING", "AID_DISABILITY", "AID_EMPLOYMENT", "GRID_FINDING", "CHILD_NO_CARE"}


def base_province(con, months=MONTHS) -> Province:
    p = Province(con, months)
    p.standard("3301", "urban", 1000, 1300)
    p.standard("3301", "rural", 800, 1100)
    return p


def ev(w: dict) -> dict:
    return json.loads(w["evidence"])


def only(con, code: str, household_id: str, period: str = M) -> dict:
    rows = [w for w in warnings(con, code, household_id) if w["period"] == period]
    assert len(rows) == 1, f"expected one {code} for {household_id} in {period}, got {rows}"
    return rows[0]


def cert(p: Province, period: str, person, grade: int, issued: str, living=None, nursing=None, status="valid",
         kind="physical") -> None:
    p.add("cdpf_disability", period, person_id=person.person_id, disability_type=kind, disability_grade=grade,
          issued_on=d(issued), cert_status=status, living_subsidy=living, nursing_subsidy=nursing)


def certs_every_month(p: Province, person, grade: int, issued: str, living=None, nursing=None) -> None:
    """A certificate in every monthly snapshot; the subsidy columns only from 2026-07 (layout v2)."""
    for period in MONTHS:
        v2 = period >= "2026-07"
        cert(p, period, person, grade, issued, living if v2 else None, nursing if v2 else None)


def housing(p: Province, period: str, person, level: str | None) -> None:
    p.add("mohurd_housing", period, as_of=d(period + "-01"), person_id=person.person_id, property_count=1,
          property_area_m2=80, public_rental=False, dilapidated_level=level)


def death(p: Province, event_id: str, person, on: str, hukou_no: str | None = None) -> None:
    p.add("mps_hukou_events", on[:7], event_id=event_id, person_id=person.person_id, hukou_no=hukou_no,
          event_type="death", event_date=d(on), region_code=URBAN)


class G:
    """Household ids of the v2 golden province (filled by the fixture)."""


@pytest.fixture(scope="module")
def golden():
    con = duckdb.connect()
    p = base_province(con)

    # --- AID_EDU (term 2026-1, period 2026-03, mid-term delivery) -------------------------------------
    p.kinds[("moe_students", TERM)] = "mid_term"
    # raise: a dibao family's daughter at senior high school, fees 800, no aid at mid-term -> medium, MOE.
    kid = p.person("王小一", "child", birth="20090901")
    G.edu = p.family("F330102001001000101", URBAN, "dibao", [p.person("王一", "head", income=800), kid]).household_id
    p.add("moe_students", TERM, term="2026-1", person_id=kid.person_id, stage="senior", tuition_yuan=800,
          boarding_yuan=0, aid_yuan=0)
    # raise: a relapse-watch family's son boards at junior high (compulsory, but boarding): 600, aid 0.
    boy = p.person("赵小二", "child", birth="20120301")
    G.edu_board = p.family("F330102001201000102", RURAL, "relapse_watch",
                           [p.person("赵二", "head", income=3000), boy], urban_rural="rural").household_id
    p.add("moe_students", TERM, term="2026-1", person_id=boy.person_id, stage="junior", tuition_yuan=0,
          boarding_yuan=600, aid_yuan=0)
    # near miss: a student with aid granted (an edge family's college student, aid 2,500).
    uni = p.person("钱小三", "child", birth="20060901")
    G.edu_granted = p.family("F330102001001000103", URBAN, "edge",
                             [p.person("钱三", "head", income=3000), uni]).household_id
    p.add("moe_students", TERM, term="2026-1", person_id=uni.person_id, stage="college", tuition_yuan=5000,
          boarding_yuan=1200, aid_yuan=2500)
    # near miss: a dibao family's pupil at primary school, day pupil, no aid (compulsory, free).
    pupil = p.person("孙小四", "child", birth="20160901")
    G.edu_primary = p.family("F330102001001000104", URBAN, "dibao",
                             [p.person("孙四", "head", income=800), pupil]).household_id
    p.add("moe_students", TERM, term="2026-1", person_id=pupil.person_id, stage="primary", tuition_yuan=0,
          boarding_yuan=0, aid_yuan=0)
    # near miss: a senior student not on the roster without aid (AID_EDU is for roster families).
    other = p.person(None, birth="20090901")
    G.edu_off_roster = p.resident_household(URBAN, [p.person(None, income=6000), other]).household_id
    p.add("moe_students", TERM, term="2026-1", person_id=other.person_id, stage="senior", tuition_yuan=900,
          boarding_yuan=0, aid_yuan=0)

    # --- AID_HOUSING (snapshots 2026-01, 2026-04, 2026-07) ---------------------------------------------
    # raise (high): a rural dibao family, house B in January and April, D in July.
    hd = p.person("李五", "head", income=800)
    G.house_d = p.family("F330102001201000105", RURAL, "dibao", [hd], urban_rural="rural").household_id
    for period, level in (("2026-01", "B"), ("2026-04", "B"), ("2026-07", "D")):
        housing(p, period, hd, level)
    # raise (high): an edge family C in April (raised then), D in July: a worse rating is new.
    hc = p.person("周六", "head", income=2500)
    G.house_c_to_d = p.family("F330102001201000106", RURAL, "edge", [hc, p.person("吴六", "spouse")],
                              urban_rural="rural").household_id
    for period, level in (("2026-01", "B"), ("2026-04", "C"), ("2026-07", "D")):
        housing(p, period, hc, level)
    # near miss (once per rating): a tekun man whose house is C in every snapshot: referred in January,
    # not again in July.
    ht = p.person("郑七", "head")
    G.house_same = p.family("F330102001201000107", RURAL, "tekun", [ht], urban_rural="rural").household_id
    for period in ("2026-01", "2026-04", "2026-07"):
        housing(p, period, ht, "C")
    # near miss: an 'other' roster family with a D house (category not entitled).
    ho = p.person("冯八", "head", income=2500)
    G.house_other = p.family("F330102001201000108", RURAL, "other", [ho], urban_rural="rural").household_id
    housing(p, "2026-07", ho, "D")

    # --- AID_DISABILITY (layout v2 columns from 2026-07) --------------------------------------------
    # raise (nursing): a resident off the roster with a 一级 certificate since 10 May 2025 and no nursing
    # subsidy in July (held more than 3 months: 2025-05-10 <= 2026-04-30) -> medium, CDPF.
    nd = p.person(None, income=5000, birth="19700101")
    G.dis_nursing = p.resident_household(URBAN, [nd, p.person(None, income=3000)]).household_id
    certs_every_month(p, nd, 1, "2025-05-10", living=False, nursing=False)
    # raise (living): a dibao member with a 三级 certificate since 2024 and no living subsidy.
    ld = p.person("陈九", "spouse", birth="19750101")
    G.dis_living = p.family("F330102001001000109", URBAN, "dibao",
                            [p.person("陈十", "head", income=800), ld]).household_id
    certs_every_month(p, ld, 3, "2024-01-15", living=False, nursing=False)
    # near miss: a disabled person already receiving both subsidies (dibao, 二级).
    both = p.person("褚一", "head", income=800)
    G.dis_both = p.family("F330102001001000110", URBAN, "dibao", [both]).household_id
    certs_every_month(p, both, 2, "2023-03-01", living=True, nursing=True)
    # near miss: a 特困 person with the nursing subsidy and no living subsidy (特困 takes the higher benefit).
    tk = p.person("卫二", "head")
    G.dis_tekun = p.family("F330102001001000111", URBAN, "tekun", [tk]).household_id
    certs_every_month(p, tk, 2, "2022-06-01", living=False, nursing=True)
    # near miss: a new 二级 certificate (1 June 2026, less than 3 months) without the nursing subsidy yet.
    # (POP_DISABILITY raised it in June, which is not evaluated here.)
    nw = p.person(None, income=5000, birth="19800101")
    G.dis_new = p.resident_household(URBAN, [nw]).household_id
    for period in ("2026-06", "2026-07"):
        cert(p, period, nw, 2, "2026-06-01", None if period < "2026-07" else False,
             None if period < "2026-07" else False)

    # --- POP_DISABILITY v2 ------------------------------------------------------------------------------
    # raise: an edge family's member gets a first 一级 certificate on 5 July -> medium, CDPF + MCA
    # (重残单独纳入低保). Nursing/living not yet (new): no AID_DISABILITY.
    fe = p.person("蒋三", "spouse", birth="19720101")
    G.first_cert_edge = p.family("F330102001001000112", URBAN, "edge",
                                 [p.person("沈四", "head", income=3000), fe]).household_id
    cert(p, M, fe, 1, "2026-07-05", living=False, nursing=False)
    # near miss (a certificate renewal): 一级 since 2020; the July snapshot lists the renewed certificate
    # issued on 2 July 2026, with both subsidies. Not a first certificate; still held since 2020.
    rn = p.person("韩五", "head", income=800, birth="19660101")
    G.renewal = p.family("F330102001001000113", URBAN, "dibao", [rn]).household_id
    for period in MONTHS[:-1]:
        cert(p, period, rn, 1, "2020-05-01")
    cert(p, M, rn, 1, "2026-07-02", living=True, nursing=True)

    # --- AID_EMPLOYMENT ----------------------------------------------------------------------------------
    # raise: a dibao husband (aged 45) registered unemployed all year with 1,200 benefit -> low, HRSS, in
    # March (Jan-Mar) and July (May-Jul: benefit 3,600).
    un = p.person("杨六", "head", birth="19810301")
    for period in MONTHS:
        un.by_month[period] = ("unemployed_registered", 0, 1200, 0)
    G.unemployed = p.family("F330102001001000114", URBAN, "dibao", [un, p.person("朱七", "spouse")]).household_id
    # near miss: registered unemployed only in June and July (2 months; no benefit, no income before).
    un2 = p.person("秦八", "head", birth="19850101")
    for period in MONTHS:
        un2.by_month[period] = ("unemployed_registered", 0, 0, 0) if period >= "2026-06" else ("none", 0, 0, 0)
    G.unemployed_short = p.family("F330102001001000115", URBAN, "dibao", [un2]).household_id
    # near miss: aged 61, registered unemployed all year (over the working age of the rule).
    un3 = p.person("尤九", "head", birth="19650101")
    for period in MONTHS:
        un3.by_month[period] = ("unemployed_registered", 0, 0, 0)
    G.unemployed_old = p.family("F330102001001000116", URBAN, "dibao", [un3]).household_id

    # --- GRID_FINDING ---------------------------------------------------------------------------------------
    # raise (high): a roster family; a village assistant finds on 15 July that the head died, visit region
    # OTHER_VILLAGE (layout v2) -> high, MCA, office_region = the visit's region.
    gh = p.person("许一", "head", income=800)
    G.grid_death = p.family("F330102001001000117", URBAN, "dibao", [gh, p.person("何二", "spouse")]).household_id
    p.add("grid_visits", M, visit_id="V-1", family_id=G.grid_death, hukou_no=None, visit_date=d("2026-07-15"),
          visitor_role="village_assistant", findings=["death"], note="户主已去世，家庭情况需重新核对",
          person_id=gh.person_id, region_code=OTHER_VILLAGE)
    # raise (medium): a household not on the roster; a grid worker finds a job loss -> medium, and the
    # explanation proposes monitoring (纳入监测).
    gj = p.person(None, income=4000)
    hh = p.resident_household(URBAN, [gj, p.person(None)])
    G.grid_job, G.grid_job_hukou = hh.household_id, hh.hukou_no
    p.add("grid_visits", M, visit_id="V-2", family_id=None, hukou_no=hh.hukou_no, visit_date=d("2026-07-20"),
          visitor_role="grid_worker", findings=["job_loss"], note="主要劳动力失业在家，暂无收入",
          person_id=gj.person_id, region_code=URBAN)
    # raise (medium): a hukou household no snapshot lists: warned on H || hukou_no with the visit's region.
    G.grid_unknown = "H330102999901"
    p.add("grid_visits", M, visit_id="V-3", family_id=None, hukou_no="330102999901", visit_date=d("2026-07-22"),
          visitor_role="grid_worker", findings=["illness", "no_change"], note="老人长期卧床",
          person_id=None, region_code=OTHER_VILLAGE)
    # raise (medium, layout v1 in March: no person, no region): a roster family with an illness.
    gi = p.person("吕三", "head", income=800)
    G.grid_v1 = p.family("F330102001001000118", URBAN, "dibao", [gi]).household_id
    p.add("grid_visits", TERM, visit_id="V-4", family_id=G.grid_v1, hukou_no=None, visit_date=d("2026-03-09"),
          visitor_role="grid_worker", findings=["illness"], note="户主身体不好，长期服药")
    # near miss: no change and a new member are not findings.
    gn = p.person("施四", "head", income=800)
    G.grid_quiet = p.family("F330102001001000119", URBAN, "dibao", [gn]).household_id
    p.add("grid_visits", M, visit_id="V-5", family_id=G.grid_quiet, hukou_no=None, visit_date=d("2026-07-08"),
          visitor_role="grid_worker", findings=["no_change", "new_member"], note="家庭新增人口",
          person_id=None, region_code=URBAN)

    # --- CHILD_NO_CARE (deaths in July; household before the death = June) -----------------------------
    # urgent: a single father (born 1985: 41) of two (born 2012: 14, 2016: 10), off the roster, dies on
    # 9 July: no member aged 18+ remains -> urgent, MCA. (POP_DEATH: he earned all of the income: high.)
    sf = p.person(None, income=4200, birth="19850101")
    hh = p.resident_household(URBAN, [sf, p.person(None, birth="20120101"), p.person(None, birth="20160101")])
    G.orphans, G.orphans_hukou = hh.household_id, hh.hukou_no
    death(p, "E-D-1", sf, "2026-07-09", hh.hukou_no)
    # medium: a dibao father (born 1988: 38) dies on 12 July; his parents (71, 68) and son (11) remain:
    # the deceased was 18-59 and no member of 18-59 remains -> medium.
    fa = p.person("章一", "head", income=3000, birth="19880101")
    G.grandparents = p.family("F330102001001000120", URBAN, "dibao", [
        fa, p.person("章二", "parent", birth="19550101"), p.person("云三", "parent", birth="19580101"),
        p.person("章小四", "child", birth="20150101")]).household_id
    death(p, "E-D-2", fa, "2026-07-12")
    # medium: both parents die on 3 July (40 and 38); the grandmother (66) and a daughter (8) remain.
    # Each death excludes the other (died by the end of July): one medium warning for the household.
    f1, f2 = p.person("苏五", "head", income=3000, birth="19860101"), p.person("潘六", "spouse", income=2000,
                                                                              birth="19880101")
    G.both_parents = p.family("F330102001001000121", URBAN, "edge", [
        f1, f2, p.person("葛七", "parent", birth="19600101"), p.person("苏小八", "child", birth="20180101")]).household_id
    death(p, "E-D-3", f1, "2026-07-03")
    death(p, "E-D-4", f2, "2026-07-03")
    # near miss: a child living with grandparents (66, 68) after the great-grandmother's death (88).
    gg = p.person("范九", "parent", birth="19380101")
    G.great_grandparent = p.family("F330102001001000122", URBAN, "dibao", [
        p.person("彭一", "head", income=800, birth="19600101"), p.person("鲁二", "spouse", birth="19580101"),
        p.person("彭小三", "grandchild", birth="20140101"), gg]).household_id
    death(p, "E-D-5", gg, "2026-07-20")
    # near miss: the father moves out (hukou move_out on 5 July), leaving his son with the grandmother.
    mo = p.person(None, income=3500, birth="19900101")
    hh = p.resident_household(URBAN, [mo, p.person(None, income=2600, birth="19620101"),
                                      p.person(None, birth="20160101")])
    G.move_out = hh.household_id
    p.add("mps_hukou_events", M, event_id="E-MO-1", person_id=mo.person_id, hukou_no="330199000001",
          event_type="move_out", event_date=d("2026-07-05"), region_code=URBAN)

    # --- EXP_MED routing (重病单人保), REVIEW_OVERDUE (dibao/tekun only) --------------------------------
    # raise: an edge family, both insured (3,000 + 1,000: full coverage), a catastrophic inpatient settlement
    # in July with 6,000 out of pocket and none before: rule B 6,000 >= 5,000 (and rule A 6,000 >= 0.5 x
    # 12,000) -> high; NHSA, MCA; MCA is also asked to assess 重病单人保.
    ce = p.person("马一", "head", income=3000)
    G.med_edge = p.family("F330102001001000123", URBAN, "edge", [ce, p.person("花二", "spouse", income=1000)]).household_id
    p.add("nhsa_claims", M, settle_id="S-CAT-1", person_id=ce.person_id, settle_date=d("2026-07-08"),
          visit_type="inpatient", catastrophic=True, total_yuan=40000, fund_yuan=26000, critical_illness_yuan=8000,
          medical_aid_yuan=0, oop_yuan=6000, reversal_of=None)
    # near miss: an edge family last checked 1 December 2025 (> 6 months): REVIEW_OVERDUE covers dibao/tekun.
    G.overdue_edge = p.family("F330102001001000124", URBAN, "edge", [p.person("方三", "head", income=3000)],
                              econ_check="2025-12-01").household_id

    p.load()
    build_core(con)
    summary = compute_indicators(con, load_rules(), periods=[TERM, M])
    yield con, summary
    con.close()


# --- AID_EDU -------------------------------------------------------------------------------------------------

def test_aid_edu_senior_student_without_aid(golden):
    con, _ = golden
    w = only(con, "AID_EDU", G.edu, TERM)
    e = ev(w)
    assert w["severity"] == "medium" and w["departments"] == ["MOE"]
    assert e["students"] == 1 and e["term"] == "2026-1" and e["fees_yuan"] == 800
    assert e["detail"][0]["stage"] == "senior"
    assert w["explanation"] == ("子女王小一（低保家庭）2026年春季学期就读高中，学期中期资助名单显示本学期资助为 0"
                                "（学费住宿费 800 元），请核实是否应享未享学生资助")


def test_aid_edu_boarding_at_a_compulsory_stage(golden):
    con, _ = golden
    w = only(con, "AID_EDU", G.edu_board, TERM)
    assert "就读初中（寄宿）" in w["explanation"] and "防止返贫监测家庭" in w["explanation"]


def test_aid_edu_near_misses(golden):
    con, _ = golden
    for hh in (G.edu_granted, G.edu_primary, G.edu_off_roster):
        assert warnings(con, "AID_EDU", hh) == [], hh


def test_aid_edu_waits_for_the_midterm_delivery():
    """Until the term's mid-term delivery is in (only the start-of-term one), AID_EDU waits: aid is
    granted in the first weeks, a zero at the start of term is no verdict."""
    con = duckdb.connect()
    p = base_province(con, month_range("2026-01", "2026-03"))
    kid = p.person("王小一", "child", birth="20090901")
    hh = p.family("F330102001001000101", URBAN, "dibao", [p.person("王一", "head", income=800), kid]).household_id
    p.add("moe_students", TERM, term="2026-1", person_id=kid.person_id, stage="senior", tuition_yuan=800,
          boarding_yuan=0, aid_yuan=0)
    p.kinds[("moe_students", TERM)] = "start_of_term"
    p.load()
    build_core(con)
    summary = compute_indicators(con, load_rules(), indicators=["AID_EDU"])
    assert warnings(con, "AID_EDU", hh) == []
    assert f"AID_EDU {TERM} waits for moe_students_midterm (open)" in summary.waiting


# --- AID_HOUSING -------------------------------------------------------------------------------------------

def test_aid_housing_d_rating_is_high(golden):
    con, _ = golden
    w = only(con, "AID_HOUSING", G.house_d)
    e = ev(w)
    assert w["severity"] == "high" and w["departments"] == ["MOHURD"]
    assert e["dilapidated_level"] == "D" and e["category"] == "dibao"
    assert w["explanation"] == ("户主李五家（低保）住房在2026年7月1日住房安全鉴定中为D级（整体危房），"
                                "请住建部门核实是否纳入农村危房改造")


def test_aid_housing_worse_rating_is_new_same_rating_is_not(golden):
    con, _ = golden
    assert only(con, "AID_HOUSING", G.house_c_to_d)["severity"] == "high"
    # C in January, April and July: referred with the first snapshot, not again
    assert warnings(con, "AID_HOUSING", G.house_same) == []
    assert warnings(con, "AID_HOUSING", G.house_other) == []
    # March has no snapshot of its own: nothing is evaluated into a warning
    assert [w for w in warnings(con, "AID_HOUSING") if w["period"] == TERM] == []


# --- AID_DISABILITY ------------------------------------------------------------------------------------------

def test_aid_disability_nursing_subsidy_missing(golden):
    con, _ = golden
    w = only(con, "AID_DISABILITY", G.dis_nursing)
    e = ev(w)
    assert w["severity"] == "medium" and w["departments"] == ["CDPF"]
    assert e["no_nursing_subsidy"] is True and e["no_living_subsidy"] is False and e["held_by"] == "2026-04-30"
    assert w["explanation"].endswith("自2025年5月10日持有肢体一级残疾证，2026年7月残联数据显示未享受重度残疾人护理补贴，"
                                     "请核实是否应享未享")


def test_aid_disability_living_subsidy_missing_in_a_dibao_family(golden):
    con, _ = golden
    w = only(con, "AID_DISABILITY", G.dis_living)
    assert ev(w)["no_living_subsidy"] is True and ev(w)["no_nursing_subsidy"] is False
    assert w["explanation"] == ("配偶陈九自2024年1月15日持有肢体三级残疾证，2026年7月残联数据显示未享受困难残疾人生活补贴"
                                "（家庭为低保），请核实是否应享未享")


def test_aid_disability_near_misses(golden):
    con, _ = golden
    # both subsidies; 特困 (no living subsidy by design); a new certificate; a renewal with both subsidies
    for hh in (G.dis_both, G.dis_tekun, G.dis_new, G.renewal):
        assert warnings(con, "AID_DISABILITY", hh) == [], hh
    # March: the deliveries of layout v1 do not state the subsidies: no verdict
    assert [w for w in warnings(con, "AID_DISABILITY") if w["period"] == TERM] == []


# --- POP_DISABILITY v2 ---------------------------------------------------------------------------------------

def test_pop_disability_first_certificate_in_an_edge_family_goes_to_mca_too(golden):
    con, _ = golden
    w = only(con, "POP_DISABILITY", G.first_cert_edge)
    assert w["severity"] == "medium" and w["departments"] == ["CDPF", "MCA"]
    assert ev(w)["edge_family"] is True and ev(w)["first_certificate"] is True
    assert w["explanation"] == ("配偶蒋三 2026年7月5日首次取得肢体一级残疾证（重度残疾），可能符合困难残疾人生活补贴和"
                                "重度残疾人护理补贴条件；家庭为低保边缘家庭，请民政部门评估重残人员单独纳入低保")


def test_pop_disability_renewal_is_not_new(golden):
    con, _ = golden
    assert warnings(con, "POP_DISABILITY", G.renewal) == []


# --- AID_EMPLOYMENT -----------------------------------------------------------------------------------------------

def test_aid_employment_three_months_registered_unemployed(golden):
    con, _ = golden
    w = only(con, "AID_EMPLOYMENT", G.unemployed)
    e = ev(w)
    assert w["severity"] == "low" and w["departments"] == ["HRSS"]
    assert e["window"] == ["2026-05", M] and e["benefit_yuan"] == 3600 and e["detail"][0]["age"] == 45
    assert w["explanation"] == ("户主杨六（45岁，低保家庭）自2026年5月起连续3个月失业登记（期间领取失业保险金 3,600 元），"
                                "请人社部门提供就业援助（岗位推荐、技能培训、公益性岗位）")
    only(con, "AID_EMPLOYMENT", G.unemployed, TERM)   # January-March too


def test_aid_employment_near_misses(golden):
    con, _ = golden
    assert warnings(con, "AID_EMPLOYMENT", G.unemployed_short) == []
    assert warnings(con, "AID_EMPLOYMENT", G.unemployed_old) == []


# --- GRID_FINDING -------------------------------------------------------------------------------------------------

def test_grid_finding_death_is_high_at_the_visits_region(golden):
    con, _ = golden
    w = only(con, "GRID_FINDING", G.grid_death)
    e = ev(w)
    assert w["severity"] == "high" and w["departments"] == ["MCA"]
    assert w["office_region"] == OTHER_VILLAGE and w["county_code"] == "330102"
    assert e["findings"] == ["death"] and e["on_roster"] is True and e["record_ids"]["visit_ids"] == ["V-1"]
    assert w["explanation"] == ("户主许一 2026年7月15日村协理员走访发现家庭成员死亡（走访记录：户主已去世，家庭情况需重新核对），"
                                "请入户核实并评估救助需求")


def test_grid_finding_off_the_roster_proposes_monitoring(golden):
    con, _ = golden
    w = only(con, "GRID_FINDING", G.grid_job)
    assert w["severity"] == "medium" and w["hukou_no"] == G.grid_job_hukou and w["family_id"] is None
    assert ev(w)["propose_monitoring"] is True
    assert w["explanation"] == (f"户号 {G.grid_job_hukou} 的家庭 2026年7月20日网格员走访发现失业（走访记录：主要劳动力失业在家，"
                                "暂无收入），该户未在低收入人口名册中，建议入户核实后纳入低收入人口动态监测（纳入监测）")


def test_grid_finding_household_no_snapshot_lists_yet(golden):
    con, _ = golden
    w = only(con, "GRID_FINDING", G.grid_unknown)
    assert w["office_region"] == OTHER_VILLAGE and w["county_code"] == "330102" and w["person_id"] is None
    assert ev(w)["findings"] == ["illness"] and ev(w)["in_household"] is False


def test_grid_finding_layout_v1_visit_uses_the_households_region(golden):
    con, _ = golden
    w = only(con, "GRID_FINDING", G.grid_v1, TERM)
    assert w["severity"] == "medium" and w["office_region"] == URBAN
    assert w["explanation"].startswith("户主吕三 2026年3月9日网格员走访发现患病")


def test_grid_finding_no_change_is_quiet(golden):
    con, _ = golden
    assert warnings(con, "GRID_FINDING", G.grid_quiet) == []


# --- CHILD_NO_CARE ---------------------------------------------------------------------------------------------------

def test_child_no_care_urgent_when_no_adult_remains(golden):
    con, _ = golden
    w = only(con, "CHILD_NO_CARE", G.orphans)
    e = ev(w)
    assert w["severity"] == "urgent" and w["departments"] == ["MCA"]
    assert (e["children"], e["adults"], e["deceased_age"], e["youngest_child_age"]) == (2, 0, 41, 10)
    assert e["household_period"] == "2026-06" and e["composition"]["period"] == "2026-06"
    assert w["explanation"] == (f"户号 {G.orphans_hukou} 的成员（41岁）于2026年7月9日死亡，家中2名未满18岁儿童（最小 10 岁）"
                                "身边已无成年家庭成员，可能成为事实无人抚养儿童，请立即入户核实监护情况")
    assert only(con, "POP_DEATH", G.orphans)["severity"] == "high"


def test_child_no_care_medium_with_grandparents_only(golden):
    con, _ = golden
    w = only(con, "CHILD_NO_CARE", G.grandparents)
    e = ev(w)
    assert w["severity"] == "medium"
    assert (e["children"], e["adults"], e["working_age_adults"], e["deceased_age"]) == (1, 2, 0, 38)
    assert w["explanation"] == ("户主章一（38岁）于2026年7月12日死亡，家中1名未满18岁儿童（最小 11 岁）身边仅剩2名60岁以上老人，"
                                "请乡镇评估其父母能否履行抚养义务（事实无人抚养儿童认定）")


def test_child_no_care_both_parents_die_the_same_month(golden):
    con, _ = golden
    w = only(con, "CHILD_NO_CARE", G.both_parents)
    assert w["severity"] == "medium" and ev(w)["adults"] == 1 and ev(w)["working_age_adults"] == 0


def test_child_no_care_near_misses(golden):
    con, _ = golden
    # a great-grandmother's death in a grandparents' household: POP_DEATH only
    assert warnings(con, "CHILD_NO_CARE", G.great_grandparent) == []
    assert only(con, "POP_DEATH", G.great_grandparent)["severity"] == "medium"
    # a move-out alone
    assert warnings(con, "CHILD_NO_CARE", G.move_out) == []


# --- changed routing ------------------------------------------------------------------------------------------------

def test_exp_med_edge_family_catastrophic_asks_mca_for_zhongbing_danren(golden):
    con, _ = golden
    w = only(con, "EXP_MED", G.med_edge)
    assert w["severity"] == "high" and w["departments"] == ["NHSA", "MCA"]
    assert ev(w)["edge_catastrophic"] is True
    assert w["explanation"].endswith("涉及重特大疾病；低保边缘家庭成员患重特大疾病，请民政部门同时评估重病单人保")


def test_review_overdue_is_for_dibao_and_tekun_only(golden):
    con, _ = golden
    assert warnings(con, "REVIEW_OVERDUE", G.overdue_edge) == []


# --- the whole province --------------------------------------------------------------------------------------------

def test_v2_province_raises_exactly_the_expected_new_warnings(golden):
    con, _ = golden
    expected = {
        ("AID_EDU", G.edu, TERM), ("AID_EDU", G.edu_board, TERM),
        ("AID_HOUSING", G.house_d, M), ("AID_HOUSING", G.house_c_to_d, M),
        ("AID_DISABILITY", G.dis_nursing, M), ("AID_DISABILITY", G.dis_living, M),
        ("AID_EMPLOYMENT", G.unemployed, TERM), ("AID_EMPLOYMENT", G.unemployed, M),
        ("GRID_FINDING", G.grid_death, M), ("GRID_FINDING", G.grid_job, M), ("GRID_FINDING", G.grid_unknown, M),
        ("GRID_FINDING", G.grid_v1, TERM),
        ("CHILD_NO_CARE", G.orphans, M), ("CHILD_NO_CARE", G.grandparents, M), ("CHILD_NO_CARE", G.both_parents, M),
    }
    got = {(w["indicator_code"], w["household_id"], w["period"]) for w in warnings(con)
           if w["indicator_code"] in NEW_CODES}
    assert got == expected, f"unexpected: {sorted(got - expected)}; missing: {sorted(expected - got)}"


def test_every_warning_has_an_office_region(golden):
    con, _ = golden
    rows = warnings(con)
    assert rows and all(w["office_region"] and len(w["office_region"]) == 12 for w in rows), \
        [w for w in rows if not w["office_region"]]


# --- urgent evidence on arrival (principle 9) --------------------------------------------------------------------------

NIGHT = dt.datetime(2026, 7, 13, 2, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def arrival_province(con):
    """June complete; July only begun: daily disaster deliveries and field visits, no roster, hukou
    members or HRSS of July yet."""
    p = base_province(con, month_range("2026-01", "2026-06"))
    head = p.person("冯一", "head", income=2000)
    fam = p.family("F330102001201000005", RURAL, "dibao", [head, p.person("陈二", "spouse")], urban_rural="rural")
    p.load()
    return p, fam, head


def test_disaster_evaluated_the_night_it_arrives_and_month_end_feeds_the_same_case():
    con = duckdb.connect()
    p, fam, head = arrival_province(con)
    stranger = p.person(None, birth="19700101")   # in no roster or hukou snapshot yet
    day = p.deliver("mem_disaster", M, [
        dict(disaster_id="D-7", disaster_type="flood", occurred_on=d("2026-07-11"), person_id=head.person_id,
             region_code=OTHER_VILLAGE, house_damage="collapsed", loss_yuan=45000, emergency_aid_yuan=0, status="active"),
        dict(disaster_id="D-7", disaster_type="flood", occurred_on=d("2026-07-11"), person_id=stranger.person_id,
             region_code=OTHER_VILLAGE, house_damage="severe", loss_yuan=20000, emergency_aid_yuan=0, status="active"),
    ], on="2026-07-12", additive=True)
    build_core(con)
    summary = compute_indicators(con, load_rules(), raised_at=NIGHT)
    assert any(s.startswith(f"INC_DROP {M}") for s in summary.waiting) is False   # July is not due for month-end rules
    w = only(con, "DISASTER", fam.household_id)
    e = ev(w)
    assert w["severity"] == "urgent" and w["departments"] == ["MEM", "MCA", "MOHURD"]
    assert w["office_region"] == OTHER_VILLAGE and w["county_code"] == "330102"
    assert e["composition"] == {"period": "2026-06", "on_arrival": True,
                                "deliveries": {"mca_roster": Province.delivery_id("mca_roster", "2026-06"),
                                               "mps_hukou_members": Province.delivery_id("mps_hukou_members", "2026-06")}}
    assert e["evidence_deliveries"] == [day]
    # the person no snapshot lists: warned on the person id, at the disaster's region
    lone = only(con, "DISASTER", "P" + stranger.person_id)
    assert lone["severity"] == "high" and lone["office_region"] == OTHER_VILLAGE and lone["hukou_no"] is None
    assert "尚未见于名册和户籍" in lone["explanation"]
    cases = update_cases(con, NIGHT.date())
    assert cases.opened == 2

    # month end: July's roster and hukou members arrive (the stranger now listed in a hukou household)
    # and the disaster month closes; the month is evaluated again with the July composition
    for period_rows in (("mca_roster", [r for r in p.rows[("mca_roster", "2026-06")]]),):
        feed, rows = period_rows
        p.deliver(feed, M, [{**r, "snapshot_month": M} for r in rows])
    members = [{**r, "as_of": d("2026-07-28")} for r in p.rows[("mps_hukou_members", "2026-06")]]
    members.append(dict(person_id=stranger.person_id, hukou_no="330102777777", region_code=OTHER_VILLAGE,
                        as_of=d("2026-07-28")))
    p.deliver("mps_hukou_members", M, members)
    p.deliver("hrss_employment", M, [{**r, "month": M} for r in p.rows[("hrss_employment", "2026-06")]])
    p.deliver("mem_disaster", "2026-08", [], on="2026-08-06", additive=True)
    build_core(con)
    later = compute_indicators(con, load_rules(), raised_at=NIGHT + dt.timedelta(days=25))
    assert any(e["indicator"] == "DISASTER" and e["period"] == M for e in later.evaluated)
    again = only(con, "DISASTER", fam.household_id)
    assert again["warning_id"] == w["warning_id"] and ev(again)["composition"]["period"] == "2026-06"
    assert warnings(con, "DISASTER", "H330102777777") == [], "the person keeps the key of the case opened on arrival"
    cases = update_cases(con, (NIGHT + dt.timedelta(days=25)).date())
    assert cases.opened == 0
    assert con.execute("select count(*) from mart.cases where indicator_code = 'DISASTER'").fetchone()[0] == 2


def test_month_end_with_another_severity_updates_the_case_opened_on_arrival():
    """A correction (severe -> collapsed) between arrival and month end: a new warning id (severity is
    part of it), linked to the same case, whose severity rises."""
    con = duckdb.connect()
    p, fam, head = arrival_province(con)
    rec = dict(disaster_id="D-8", disaster_type="flood", occurred_on=d("2026-07-11"), person_id=head.person_id,
               region_code=RURAL, house_damage="severe", loss_yuan=30000, emergency_aid_yuan=0, status="active")
    p.deliver("mem_disaster", M, [rec], on="2026-07-12", additive=True)
    build_core(con)
    compute_indicators(con, load_rules(), raised_at=NIGHT)
    assert only(con, "DISASTER", fam.household_id)["severity"] == "high"
    update_cases(con, NIGHT.date())
    p.deliver("mem_disaster", M, [{**rec, "house_damage": "collapsed"}], on="2026-07-20", additive=True)
    build_core(con)
    compute_indicators(con, load_rules(), raised_at=NIGHT + dt.timedelta(days=7))
    summary = update_cases(con, (NIGHT + dt.timedelta(days=7)).date())
    assert summary.opened == 0 and summary.raised == 1
    case = con.execute("select severity from mart.cases where indicator_code = 'DISASTER'").fetchall()
    assert case == [("urgent",)]


def test_grid_visit_and_death_on_arrival_before_the_months_roster():
    con = duckdb.connect()
    p, fam, head = arrival_province(con)
    visit = p.deliver("grid_visits", M, [dict(
        visit_id="V-9", family_id=None, hukou_no="330102888888", visit_date=d("2026-07-10"),
        visitor_role="grid_worker", findings=["house_damage"], note="房屋严重受损，需危房改造", person_id=None,
        region_code=OTHER_VILLAGE)], on="2026-07-12", additive=True)
    p.deliver("mps_hukou_events", M, [dict(event_id="E-9", person_id=head.person_id, hukou_no=fam.hukou_no,
                                           event_type="death", event_date=d("2026-07-02"), region_code=RURAL)],
              on="2026-07-12")
    build_core(con)
    summary = compute_indicators(con, load_rules(), raised_at=NIGHT)
    g = only(con, "GRID_FINDING", "H330102888888")
    assert g["severity"] == "high" and g["office_region"] == OTHER_VILLAGE
    assert ev(g)["composition"]["period"] == "2026-06" and ev(g)["evidence_deliveries"] == [visit]
    death_w = only(con, "POP_DEATH", fam.household_id)
    assert ev(death_w)["household_period"] == "2026-06"
    # month-end rules wait for July's feeds (the hukou events of July tell the month is due)
    assert any(s.startswith(f"ELIG_DIBAO {M} waits for hrss_employment") for s in summary.waiting)
    assert not [w for w in warnings(con) if w["indicator_code"] not in ("GRID_FINDING", "POP_DEATH")]


def test_an_arrival_indicator_waits_when_no_composition_month_is_loaded():
    from pipelines.indicators import composition_period
    from pipelines.rules import default_rules

    rule = default_rules().indicators["DISASTER"]
    tokens = {("mca_roster", "2026-05"): ("loaded", "r5", "t"), ("mps_hukou_members", "2026-05"): ("loaded", "m5", "t"),
              ("mca_roster", "2026-06"): ("loaded", "r6", "t"), ("mps_hukou_members", "2026-06"): ("rejected", "m6", "t")}
    months = ["2026-05", "2026-06", "2026-07"]
    # June's hukou members were rejected: the newest composition with both is May
    assert composition_period(rule, "2026-07", tokens, months) == "2026-05"
    assert composition_period(rule, "2026-07", {}, months) is None
    # a month-end rule reads its own month
    assert composition_period(default_rules().indicators["INC_DROP"], "2026-07", {}, months) == "2026-07"
    # POP_DEATH reads the household before the death
    assert composition_period(default_rules().indicators["POP_DEATH"], "2026-07", tokens, months) == "2026-05"


# --- how latency is counted (pipelines.evaluate.latency_report) ---------------------------------------------------------

def test_latency_counts_runs_from_the_evidence_night_to_the_dispatch_night(tmp_path):
    """Nights run 31 Jul, 31 Aug, 30 Sep. A disaster delivery loaded on 31 Jul whose case left that night:
    0 runs. A death delivery loaded on 31 Jul whose case left on 30 Sep: 2 runs. A visit warned but never
    dispatched: missing."""
    from pipelines.evaluate import latency_report
    from pipelines.warehouse import migrate

    con = duckdb.connect()
    migrate(con)
    for night in ("2026-07-31", "2026-08-31", "2026-09-30"):
        con.execute("insert into ops.runs values (?, now(), '{}', '{}')", [d(night)])
    for did, feed, night in (("mem_disaster/2026-07-12", "mem_disaster", "2026-07-31"),
                             ("mps_hukou_events/2026-07-20", "mps_hukou_events", "2026-07-31"),
                             ("grid_visits/2026-07-22", "grid_visits", "2026-07-31")):
        con.execute("insert into ops.deliveries (delivery_id, feed_id, period, folder, delivery_date, status, as_of) "
                    "values (?, ?, '2026-07', '/x', ?, 'loaded', ?)", [did, feed, d(did[-10:]), d(night)])
    for wid, code, hh, case, dlv in (("W-1", "DISASTER", "F1", "C-1", "mem_disaster/2026-07-12"),
                                     ("W-2", "POP_DEATH", "F2", "C-2", "mps_hukou_events/2026-07-20"),
                                     ("W-3", "GRID_FINDING", "F3", "C-3", "grid_visits/2026-07-22")):
        con.execute("insert into mart.warnings (warning_id, indicator_code, severity, period, household_id, evidence, "
                    "case_id) values (?, ?, 'high', '2026-07', ?, ?, ?)",
                    [wid, code, hh, json.dumps({"evidence_deliveries": [dlv]}), case])
    for case, night in (("C-1", "2026-07-31"), ("C-2", "2026-09-30")):
        con.execute("insert into mart.case_dispatches values (?, 'MCA', '330102', 'new', 1, ?, now(), null, 'x', '{}')",
                    [case, d(night)])
    truth = tmp_path / "truth.csv"
    truth.write_text("event_id,event_type,household_id,family_id,hukou_no,person_id,indicator_code,period,"
                     "departments,note,required\n"
                     "E1,x,F1,F1,,,DISASTER,2026-07,MEM,,1\nE2,x,F2,F2,,,POP_DEATH,2026-07,MCA,,1\n"
                     "E3,x,F3,F3,,,GRID_FINDING,2026-07,MCA,,1\n", encoding="utf-8")
    report = latency_report(con, truth)
    by = {r[0]: r for r in report.rows}
    assert by["DISASTER"][5] == 0 and by["POP_DEATH"][5] == 2 and by["GRID_FINDING"][5] is None
    assert report.runs == 3 and not report.all_same_night
    per = {r[0]: r for r in report.per_indicator}
    assert per["GRID_FINDING"][5] == 1 and per["POP_DEATH"][6] == 2
