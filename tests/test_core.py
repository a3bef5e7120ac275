"""The core layer: household composition, income, spending, standards and incremental builds."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.core import build_core
from tests.warehouse_fixtures import Province, d, month_range

MONTHS = month_range("2026-01", "2026-04")
URBAN, RURAL = "330102001001", "330102001201"


def province() -> tuple[duckdb.DuckDBPyConnection, Province]:
    con = duckdb.connect()
    p = Province(con, MONTHS)
    p.standard("3301", "urban", 1000, 1300)
    p.standard("3301", "rural", 800, 1100)
    return con, p


def one(con, sql, *args):
    return con.execute(sql, list(args)).fetchone()


def test_every_core_table_and_column_has_a_comment():
    con, p = province()
    p.load()
    build_core(con)
    tables = con.execute("select table_name, comment from duckdb_tables() where schema_name = 'core'").fetchall()
    assert {t for t, _ in tables} >= {"person_month", "person_income_month", "household_month", "month_calendar",
                                      "feed_month", "standards_month", "household_oop_month", "student_term",
                                      "build_runs"}
    assert [t for t, c in tables if not c] == []
    bare = con.execute("select table_name, column_name from duckdb_columns() "
                       "where schema_name = 'core' and (comment is null or comment = '')").fetchall()
    assert bare == []


def test_household_composition_roster_attached_and_hukou():
    con, p = province()
    head, spouse = p.person("张三", "head", income=3000), p.person("李四", "spouse")
    fam = p.family("F330102001001000001", URBAN, "dibao", [head, spouse])
    baby = p.person(None, birth="20260301")       # in the family's hukou, not yet on the roster
    p.add("mps_hukou_members", "2026-04", person_id=baby.person_id, hukou_no=fam.hukou_no, region_code=URBAN,
          as_of=d("2026-04-28"))
    old, young = p.person(None, birth="19500101", income=1500), p.person(None, birth="19900101", income=2000)
    res = p.resident_household(RURAL, [young, old])
    p.load()
    build_core(con)

    rows = con.execute("select person_id, household_id, family_id, on_roster, urban_rural, name, birth_date "
                       "from core.person_month where period = '2026-04' order by person_id").fetchall()
    by_pid = {r[0]: r[1:] for r in rows}
    assert by_pid[head.person_id][:5] == (fam.household_id, fam.family_id, True, "urban", "张三")
    assert by_pid[baby.person_id][:3] == (fam.household_id, fam.family_id, False)   # joins the family
    assert by_pid[young.person_id][:4] == (res.household_id, None, False, "rural")  # village 201 = rural
    assert by_pid[old.person_id][5] == d("1950-01-01")                              # decoded from the id
    assert res.household_id == "H" + res.hukou_no

    hh = con.execute("select household_id, size, head_person_id, income_yuan, income_known, county_code, city_code, "
                     "dibao_std_yuan, on_roster, category from core.household_month where period = '2026-04' "
                     "order by household_id").fetchall()
    assert hh == [
        (fam.household_id, 3, head.person_id, 3000, True, "330102", "3301", 1000, True, "dibao"),
        (res.household_id, 2, old.person_id, 3500, True, "330102", "3301", 800, False, None),
    ]


def test_income_is_principle_5_and_unknown_when_hrss_rejected():
    con, p = province()
    worker = p.person("甲", "head")
    worker.by_month = {m: ("employed", 3000, 0, 0) for m in MONTHS}
    idle = p.person("乙", "spouse")
    # status none with a stale contribution base: the base is not income; a pension is
    idle.by_month = {m: ("none", 2500, 0, 0) for m in MONTHS}
    retired = p.person("丙", "parent")
    retired.by_month = {m: ("retired", 0, 0, 1800) for m in MONTHS}
    fam = p.family("F330102001001000002", URBAN, "edge", [worker, idle, retired])
    p.reject("hrss_employment", "2026-03")
    p.load()
    build_core(con)
    got = con.execute("select period, income_yuan, income_known, earners from core.household_month "
                      "where household_id = ? order by period", [fam.household_id]).fetchall()
    assert got == [("2026-01", 4800, True, 3), ("2026-02", 4800, True, 3), ("2026-03", None, False, 0),
                   ("2026-04", 4800, True, 3)]
    assert one(con, "select count(*) from core.person_income_month where period = '2026-03'") == (0,)


def test_standards_version_in_force_per_month():
    con, p = province()
    p.standard("3301", "urban", 1100, 1400, valid_from="2026-03")   # a raise from March
    fam = p.family("F330102001001000003", URBAN, "dibao", [p.person("丁", "head")])
    p.load()
    build_core(con)
    got = con.execute("select period, dibao_std_yuan, tekun_std_yuan from core.household_month "
                      "where household_id = ? order by period", [fam.household_id]).fetchall()
    assert got == [("2026-01", 1000, 1300), ("2026-02", 1000, 1300), ("2026-03", 1100, 1400), ("2026-04", 1100, 1400)]


def test_oop_by_settle_month_net_of_reversals():
    con, p = province()
    a = p.person("戊", "head")
    fam = p.family("F330102001001000004", URBAN, "dibao", [a])
    claim = dict(person_id=a.person_id, visit_type="inpatient", catastrophic=True, total_yuan=9000, fund_yuan=5000,
                 critical_illness_yuan=0, medical_aid_yuan=0)
    # settled in January but delivered with February's data: counts in January
    p.add("nhsa_claims", "2026-02", settle_id="S1", settle_date=d("2026-01-30"), oop_yuan=4000, reversal_of=None, **claim)
    # reversed in March: counts in March (the month it is dated)
    p.add("nhsa_claims", "2026-03", settle_id="S1R", settle_date=d("2026-03-02"), oop_yuan=-4000, reversal_of="S1",
          **{**claim, "total_yuan": -9000, "fund_yuan": -5000})
    p.load()
    build_core(con)
    got = con.execute("select period, oop_yuan from core.household_month where household_id = ? order by period",
                      [fam.household_id]).fetchall()
    assert got == [("2026-01", 4000), ("2026-02", 0), ("2026-03", -4000), ("2026-04", 0)]
    # the reversed settlement is no longer evidence, nor catastrophic
    assert one(con, "select settle_ids, catastrophic from core.household_oop_month where period = '2026-01'") == ([], False)


def test_student_term_previous_stage_and_cost_floor():
    con = duckdb.connect()
    p = Province(con, month_range("2026-03", "2026-09"))
    p.standard("3301", "urban", 1000, 1300)
    k1, k2 = p.person("己", "child"), p.person("庚", "child")
    fam = p.family("F330102001001000005", URBAN, "dibao", [p.person("辛", "head"), k1, k2])
    p.add("moe_students", "2026-03", term="2026-1", person_id=k1.person_id, stage="junior", tuition_yuan=0,
          boarding_yuan=0, aid_yuan=0)
    p.add("moe_students", "2026-09", term="2026-2", person_id=k1.person_id, stage="senior", tuition_yuan=3000,
          boarding_yuan=1000, aid_yuan=500)
    # aid above one student's cost does not offset the sibling's
    p.add("moe_students", "2026-09", term="2026-2", person_id=k2.person_id, stage="primary", tuition_yuan=0,
          boarding_yuan=0, aid_yuan=800)
    p.load()
    build_core(con)
    got = con.execute("select person_id, stage, previous_stage, previous_term_known, cost_yuan from core.student_term "
                      "where period = '2026-09' order by person_id").fetchall()
    assert sorted(got) == sorted([(k1.person_id, "senior", "junior", True, 3500), (k2.person_id, "primary", None, True, 0)])
    edu = con.execute("select period, edu_cost_yuan from core.household_month where household_id = ? "
                      "and edu_cost_yuan > 0", [fam.household_id]).fetchall()
    assert edu == [("2026-09", 3500)]


def test_incremental_builds_only_changed_months():
    con, p = province()
    a = p.person("壬", "head", income=2000)
    p.family("F330102001001000006", URBAN, "dibao", [a])
    p.load()
    first = build_core(con)
    assert first.built == MONTHS
    assert build_core(con).built == []                       # nothing changed: nothing rebuilt
    # a corrected nhsa delivery for March: March and February (a settlement dated in February may
    # arrive with March's data) are rebuilt, and April (its hardship signals read the out-of-pocket
    # cost of February..April), nothing else
    p.deliver("nhsa_claims", "2026-03", [dict(settle_id="S9", person_id=a.person_id, settle_date=d("2026-03-05"),
                                              visit_type="outpatient", catastrophic=False, total_yuan=100,
                                              fund_yuan=50, critical_illness_yuan=0, medical_aid_yuan=0,
                                              oop_yuan=50, reversal_of=None)])
    again = build_core(con)
    assert again.built == ["2026-02", "2026-03", "2026-04"]
    assert one(con, "select oop_yuan from core.household_month where period = '2026-03'") == (50,)
    # explicit months are rebuilt on request; the partitions are replaced, not appended
    build_core(con, periods=["2026-01"])
    assert one(con, "select count(*) from core.household_month where period = '2026-01'") == (1,)
    with pytest.raises(ValueError, match="unknown data month"):
        build_core(con, periods=["2030-01"])


# --- income coverage (principle 5): known, unknown, verified ----------------------------------------

def _coverage(con, household_id: str, period: str = "2026-04") -> dict:
    cur = con.execute("select * from core.household_month where period = ? and household_id = ?", [period, household_id])
    return dict(zip([c[0] for c in cur.description], cur.fetchone()))


def _members(con, household_id: str, period: str = "2026-04") -> dict[str, tuple]:
    return {r[0]: (r[1], r[2]) for r in con.execute(
        "select person_id, income_known, reason from core.member_income_month where period = ? and household_id = ?",
        [period, household_id]).fetchall()}


def test_coverage_full_urban_earners_and_a_child():
    """Both parents insured employees, a child of 8: every income is known, observed income is the income."""
    con, p = province()
    dad, mum = p.person("王军", "head", income=3000), p.person("赵敏", "spouse", income=2500)
    kid = p.person("王小", "child", birth="20180301")
    fam = p.resident_household(URBAN, [dad, mum, kid])
    p.load()
    build_core(con)
    h = _coverage(con, fam.household_id)
    assert (h["income_coverage"], h["observed_income_yuan"], h["rule_income_yuan"]) == ("full", 5500, 5500)
    assert h["coverage_reason"] == "all 3 members known"
    assert _members(con, fam.household_id)[kid.person_id] == (True, "child")


def test_coverage_partial_rural_elderly_couple_on_basic_pension_and_a_farmer_son():
    """A rural couple on the 城乡居民基础养老金 (180 yuan each, below the rural 低保 standard of 800) and a
    son who farms (an HRSS row 无): nobody's income is known. Observed 360 yuan is a floor, not the income."""
    con, p = province()
    grandpa = p.person(None, birth="19500101")
    grandma = p.person(None, birth="19520101")
    son = p.person(None, birth="19850101")
    for period in MONTHS:
        grandpa.by_month[period] = ("retired", 0, 0, 180)
        grandma.by_month[period] = ("retired", 0, 0, 180)
        son.by_month[period] = ("none", 0, 0, 0)
    hh = p.resident_household(RURAL, [grandpa, grandma, son])
    p.load()
    build_core(con)
    h = _coverage(con, hh.household_id)
    assert (h["income_coverage"], h["observed_income_yuan"], h["rule_income_yuan"]) == ("partial", 360, 360)
    assert h["coverage_reason"] == "unknown 3/3: member:small_pension, member:small_pension, member:status_none"
    members = _members(con, hh.household_id)
    assert members[grandpa.person_id] == (False, "small_pension") and members[son.person_id] == (False, "status_none")


def test_coverage_unknown_reasons_registered_unemployed_without_benefit_and_no_record():
    con, p = province()
    jobless = p.person(None, birth="19800101")
    nobody = p.person(None, birth="19820101")          # no HRSS row at all
    student = p.person(None, birth="20060101")         # 20, at college in the latest term
    paid = p.person(None, birth="19780101")
    pensioner = p.person(None, birth="19550101")
    for period in MONTHS:
        jobless.by_month[period] = ("unemployed_registered", 0, 0, 0)
        paid.by_month[period] = ("unemployed_registered", 0, 1200, 0)
        pensioner.by_month[period] = ("retired", 0, 0, 2600)   # an employee pension, above the standard
    hh = p.resident_household(URBAN, [jobless, nobody, student, paid, pensioner])
    p.add("moe_students", "2026-03", term="2026-1", person_id=student.person_id, stage="college",
          tuition_yuan=2500, boarding_yuan=600, aid_yuan=0)
    p.load()
    build_core(con)
    assert _members(con, hh.household_id) == {
        jobless.person_id: (False, "unemployed_no_benefit"), nobody.person_id: (False, "no_hrss_record"),
        student.person_id: (True, "student"), paid.person_id: (True, "unemployment_benefit"),
        pensioner.person_id: (True, "pension")}
    assert _coverage(con, hh.household_id)["income_coverage"] == "partial"


def test_coverage_verified_by_an_assessed_check_and_lost_after_a_birth():
    """A rural 低保 family whose farm income only the town's home visit sees: the assessed check of
    2026-02 gives its income (1,200 yuan a month) for six months -- until a member is born."""
    con, p = province()
    head, wife = p.person("李强", "head"), p.person("陈红", "spouse")
    for period in MONTHS:
        head.by_month[period] = ("none", 0, 0, 0)
    fam = p.family("F330102001201000007", RURAL, "dibao", [head, wife], urban_rural="rural")
    p.add("mca_econ_checks", "2026-02", check_id="K-1", check_date=d("2026-02-14"), reason="review",
          family_id=fam.family_id, hukou_no=fam.hukou_no, applicant_id=head.person_id, region_code=RURAL,
          urban_rural="rural", household_size=2, income_basis="assessed", monthly_income_yuan=1200,
          financial_assets_yuan=3000, vehicles=0, properties=1, outcome="below_dibao")
    p.add("mca_econ_checks", "2026-03", check_id="K-2", check_date=d("2026-03-20"), reason="review",
          family_id=fam.family_id, hukou_no=fam.hukou_no, applicant_id=head.person_id, region_code=RURAL,
          urban_rural="rural", household_size=2, income_basis="check_only", monthly_income_yuan=0,
          financial_assets_yuan=3000, vehicles=0, properties=1, outcome="below_dibao")  # not a label: no home visit
    p.load()
    build_core(con)
    h = _coverage(con, fam.household_id, "2026-03")
    assert (h["income_coverage"], h["rule_income_yuan"], h["verified_income_yuan"]) == ("verified", 1200, 1200)
    assert h["coverage_reason"] == "assessed check 2026-02-14 (review)"
    assert _coverage(con, fam.household_id, "2026-01")["income_coverage"] == "partial"  # before the check

    # a child born in April: the check no longer counts the household as it is
    con2, p2 = province()
    p2.rows = {k: list(v) for k, v in p.rows.items()}
    p2.add("mps_hukou_events", "2026-04", event_id="E-1", person_id="330102202604010013", hukou_no=fam.hukou_no,
           event_type="birth", event_date=d("2026-04-02"), region_code=RURAL)
    p2.load()
    build_core(con2)
    h = _coverage(con2, fam.household_id, "2026-04")
    assert h["income_coverage"] == "partial" and h["verified_income_yuan"] == 1200  # kept as information
    assert _coverage(con2, fam.household_id, "2026-03")["income_coverage"] == "verified"


def test_coverage_surveyed_relapse_watch_household():
    """A household on the 防止返贫 list surveyed for 2025: 9,600 yuan net per head a year of which 1,200
    transfers -> (9,600 - 1,200) / 12 = 700 a head, x 3 members = 2,100 yuan of its own; the transfers
    include the grandfather's basic pension of 180, which HRSS shows this month: 2,100 + 180 = 2,280, more
    than the 180 observed."""
    con, p = province()
    old, son, grandson = p.person(None, birth="19500101"), p.person(None, birth="19800101"), \
        p.person(None, birth="20150101")
    for period in MONTHS:
        old.by_month[period] = ("retired", 0, 0, 180)
    hh = p.resident_household(RURAL, [old, son, grandson])
    for period in MONTHS:
        p.add("moa_relapse_watch", period, watch_id="W-9", head_person_id=son.person_id, hukou_no=hh.hukou_no,
              region_code=RURAL, watch_type="edge_at_risk", risk_types=["illness"], household_size=3,
              income_year=2025, net_income_per_capita_yuan=9600, transfer_income_per_capita_yuan=1200,
              identified_on=d("2025-11-03"), risk_eliminated=False)
    p.load()
    build_core(con)
    h = _coverage(con, hh.household_id)
    assert (h["income_coverage"], h["observed_income_yuan"], h["rule_income_yuan"]) == ("surveyed", 180, 2280)
    assert h["coverage_reason"] == "relapse-watch survey of 2025"


# --- hardship signals (core.hardship_signal) ---------------------------------------------------------

def test_hardship_signals_each_kind_and_its_near_miss():
    """One household per kind of signal, and what is not a signal: a reversed catastrophic settlement,
    out-of-pocket below size x standard, a certificate renewal, the death of a member aged 60, an
    unemployment registration that continues, a no_change visit, a moderately damaged house."""
    con, p = province()

    def claim(sid, person, date, oop, catastrophic=False, reversal_of=None):
        p.add("nhsa_claims", date[:7], settle_id=sid, person_id=person.person_id, settle_date=d(date),
              visit_type="inpatient", catastrophic=catastrophic, total_yuan=oop * 3, fund_yuan=oop * 2,
              critical_illness_yuan=0, medical_aid_yuan=0, oop_yuan=oop, reversal_of=reversal_of)

    def household(*people, rural=False):
        return p.resident_household(RURAL if rural else URBAN, list(people))

    # catastrophic settlement (1,500 out of pocket, < 2 x 1,000: no 3-month signal); a reversed one is not live
    c1 = p.person(None, income=3000)
    cat = household(c1, p.person(None, birth="20150101"))
    claim("S-C1", c1, "2026-04-08", 1500, catastrophic=True)
    c2 = p.person(None, income=3000)
    rev = household(c2)
    claim("S-C2", c2, "2026-04-08", 9000, catastrophic=True)
    claim("S-C3", c2, "2026-04-09", -9000, catastrophic=True, reversal_of="S-C2")
    # 3 months of out-of-pocket: 900 + 700 + 600 = 2,200 >= 2 x 1,000 (dated by April's settlement);
    # the same with 500 in April: 2,000 ... 1,900 < 2,000
    m1 = p.person(None, income=3000)
    med = household(m1, p.person(None, birth="20150101"))
    for sid, date, oop in (("S-M1", "2026-02-10", 900), ("S-M2", "2026-03-10", 700), ("S-M3", "2026-04-21", 600)):
        claim(sid, m1, date, oop)
    m2 = p.person(None, income=3000)
    med_miss = household(m2, p.person(None, birth="20150101"))
    for sid, date, oop in (("S-N1", "2026-02-10", 900), ("S-N2", "2026-03-10", 500), ("S-N3", "2026-04-21", 500)):
        claim(sid, m2, date, oop)
    # a first grade-2 certificate; a renewal (grade 1 already held since 2015) is not new
    d1, d2 = p.person(None, income=3000), p.person(None, income=3000)
    dis, renewal = household(d1), household(d2)
    for period in MONTHS:
        p.add("cdpf_disability", period, person_id=d2.person_id, disability_type="visual", disability_grade=1,
              issued_on=d("2015-06-01"), cert_status="valid" if period < "2026-04" else "cancelled")
    p.add("cdpf_disability", "2026-04", person_id=d1.person_id, disability_type="physical", disability_grade=2,
          issued_on=d("2026-04-03"), cert_status="valid")
    p.add("cdpf_disability", "2026-04", person_id=d2.person_id, disability_type="visual", disability_grade=1,
          issued_on=d("2026-04-05"), cert_status="valid")
    # deaths: a member of 45 (in the household of March), one of 60
    k1, k2 = p.person(None, birth="19810101", income=3000), p.person(None, birth="19660101", income=3000)
    death = household(k1, p.person(None, income=2000))
    old_death = household(k2, p.person(None, income=2000))
    for i, (k, date) in enumerate(((k1, "2026-04-12"), (k2, "2026-04-12"))):
        p.add("mps_hukou_events", "2026-04", event_id=f"E-D{i}", person_id=k.person_id, hukou_no=None,
              event_type="death", event_date=d(date), region_code=URBAN)
    # registered unemployed in April after 无 in March; one registered since January
    j1, j2 = p.person(None), p.person(None)
    for period in MONTHS:
        j1.by_month[period] = ("none", 0, 0, 0) if period < "2026-04" else ("unemployed_registered", 0, 0, 0)
        j2.by_month[period] = ("unemployed_registered", 0, 0, 0)
    job, job_old = household(j1), household(j2)
    # disasters: house severely damaged; moderately damaged (not a signal)
    h1, h2 = p.person(None, income=3000), p.person(None, income=3000)
    dis_h, dis_m = household(h1, rural=True), household(h2, rural=True)
    for i, (h, damage) in enumerate(((h1, "severe"), (h2, "moderate"))):
        p.add("mem_disaster", "2026-04", disaster_id="D-9", disaster_type="flood", occurred_on=d("2026-04-18"),
              person_id=h.person_id, region_code=RURAL, house_damage=damage, loss_yuan=8000, emergency_aid_yuan=0)
    # field visits: illness + new_member (a signal, its hard finding only); no_change (none)
    v1, v2 = p.person(None, income=3000), p.person(None, income=3000)
    visit, quiet = household(v1), household(v2)
    for vid, hh, findings in (("V-1", visit, ["illness", "new_member"]), ("V-2", quiet, ["no_change"])):
        p.add("grid_visits", "2026-04", visit_id=vid, family_id=None, hukou_no=hh.hukou_no, visit_date=d("2026-04-09"),
              visitor_role="grid_worker", findings=findings, note="走访", person_id=None, region_code=URBAN)
    # a relapse-watch listing identified in April (shown from April's snapshot); one eliminated
    w1, w2 = p.person(None, income=3000), p.person(None, income=3000)
    listed, eliminated = household(w1, rural=True), household(w2, rural=True)
    for wid, hh, head, gone in (("W-1", listed, w1, False), ("W-2", eliminated, w2, True)):
        p.add("moa_relapse_watch", "2026-04", watch_id=wid, head_person_id=head.person_id, hukou_no=hh.hukou_no,
              region_code=RURAL, watch_type="sudden_hardship", risk_types=["illness"], household_size=1,
              income_year=2025, net_income_per_capita_yuan=30000, transfer_income_per_capita_yuan=0,
              identified_on=d("2026-04-11"), risk_eliminated=gone)
    p.load()
    build_core(con)

    got = {(r[0], r[1]): (str(r[2]), r[3], r[4]) for r in con.execute(
        "select household_id, kind, signal_date, person_id, cast(detail as varchar) from core.hardship_signal "
        "where period = '2026-04'").fetchall()}
    expected = {
        (cat.household_id, "catastrophic_settlement"): "2026-04-08",
        (med.household_id, "medical_oop_3m"): "2026-04-21",
        (dis.household_id, "severe_disability_first_certificate"): "2026-04-03",
        (death.household_id, "death_working_age"): "2026-04-12",
        (job.household_id, "became_unemployed"): "2026-04-01",
        (dis_h.household_id, "disaster_house_damage"): "2026-04-18",
        (visit.household_id, "grid_finding"): "2026-04-09",
        (listed.household_id, "relapse_listing"): "2026-04-11",
    }
    assert {k: v[0] for k, v in got.items()} == expected
    assert '"oop_3m_yuan":2200' in got[(med.household_id, "medical_oop_3m")][2].replace(".00", "")
    assert '"findings":["illness"]' in got[(visit.household_id, "grid_finding")][2]
    assert '"age":45' in got[(death.household_id, "death_working_age")][2]
    assert '"previous_status":"none"' in got[(job.household_id, "became_unemployed")][2]
    assert got[(job.household_id, "became_unemployed")][1] == j1.person_id
    # March: the out-of-pocket of Feb..Mar alone (1,600) is below 2,000; no signal yet
    assert con.execute("select count(*) from core.hardship_signal where period = '2026-03'").fetchone()[0] == 0


def test_a_changed_delivery_rebuilds_only_what_reads_it():
    """M-1's HRSS delivery feeds M's hardship signals (a new unemployment), not M's income; the nhsa
    deliveries of M-2 and M-1 feed M's 3-month out-of-pocket signal, not its household facts."""
    from pipelines.core import models_to_rebuild

    assert models_to_rebuild({("hrss_employment", -1)}) == ("hardship_signal",)
    assert models_to_rebuild({("nhsa_claims", -2)}) == ("hardship_signal",)
    assert models_to_rebuild({("grid_visits", 0)}) == ("hardship_signal",)
    assert models_to_rebuild({("hrss_employment", 0)}) == ("person_income_month", "member_income_month",
                                                           "household_coverage_month", "household_month",
                                                           "assistance_month", "roster_month",
                                                           "assistance_county_month", "hardship_signal")
