"""一户一条救助链: a household's assistance chain equals the sums its feeds carry (golden households,
amounts computed by hand), the household history and the chain view show it beside warnings, cases
and feedback, and every extract row carries the last 12 months the office may see in one cell."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal

import duckdb
import pytest

from pipelines.assistance import cell_text, received, yuan_text
from pipelines.cases import update_cases
from pipelines.core import build_core
from pipelines.dispatch import write_extracts
from pipelines.rules import default_rules
from tests.warehouse_fixtures import Province, d, month_range

MONTHS = month_range("2025-12", "2026-04")
URBAN, URBAN2, RURAL = "330102001001", "330103001002", "330102001201"
NIGHT = dt.date(2026, 5, 8)


def _claim(p: Province, period: str, settle_id: str, person, settle_date: str, aid: float,
           reversal_of: str | None = None) -> None:
    p.add("nhsa_claims", period, settle_id=settle_id, person_id=person.person_id, settle_date=d(settle_date),
          visit_type="inpatient", catastrophic=False, total_yuan=abs(aid) * 4, fund_yuan=abs(aid) * 2,
          critical_illness_yuan=0, medical_aid_yuan=aid, oop_yuan=abs(aid) if aid > 0 else -abs(aid),
          reversal_of=reversal_of)


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    con = duckdb.connect(str(tmp_path_factory.mktemp("assistance") / "w.duckdb"))
    p = Province(con, MONTHS)
    p.standard("3301", "urban", 1000, 1300)
    p.standard("3301", "rural", 800, 1100)
    # 张家: 低保, three members on the roster at 340 yuan each (1,020 a month)
    head = p.person("张三", "head", income=800)
    spouse = p.person("李四", "spouse", status="unemployed_registered")
    spouse.by_month = {m: ("unemployed_registered", 0, 1200, 0) for m in ("2026-01", "2026-02")}
    child = p.person("张小明", "child", birth="20080601")
    zhang = p.family("F330102001001000001", URBAN, "dibao", [head, spouse, child], benefit=340)
    # 医疗救助: 1,200 in February; in March 800 reversed the same month, and 2,220 settled on
    # 28 March that arrives in the April delivery: 2 settlements, 3,420 yuan
    _claim(p, "2026-02", "S1", head, "2026-02-10", 1200)
    _claim(p, "2026-03", "S2", head, "2026-03-05", 800)
    _claim(p, "2026-03", "S2R", head, "2026-03-20", -800, reversal_of="S2")
    _claim(p, "2026-04", "S3", spouse, "2026-03-28", 2220)
    _claim(p, "2026-03", "S4", head, "2026-03-06", 0)          # no medical aid in it
    # 教育资助: the spring term (period 2026-03) grants the child 1,500
    p.add("moe_students", "2026-03", term="2026-1", person_id=child.person_id, stage="senior",
          tuition_yuan=2000, boarding_yuan=600, aid_yuan=1500)
    # 受灾救助: a flood in January, 2,000 of emergency aid; a second record without aid
    p.add("mem_disaster", "2026-01", disaster_id="D1", disaster_type="flood", occurred_on=d("2026-01-12"),
          person_id=head.person_id, region_code=URBAN, house_damage="moderate", loss_yuan=10000,
          emergency_aid_yuan=2000)
    p.add("mem_disaster", "2026-01", disaster_id="D2", disaster_type="fire", occurred_on=d("2026-01-20"),
          person_id=child.person_id, region_code=URBAN, house_damage="none", loss_yuan=300,
          emergency_aid_yuan=0)
    # 特困: one person at 1,300 a month, in another county
    wang = p.family("F330103001002000002", URBAN2, "tekun", [p.person("王五", "head", birth="19400101")],
                    benefit=1300)
    # 低保边缘: no cash benefit, no chain
    edge = p.family("F330102001201000003", RURAL, "edge", [p.person("赵六", "head", income=1500)], benefit=0,
                    urban_rural="rural")
    # a household off the roster: unemployment benefit in April only, 300 of medical aid in April
    worker = p.person(None, status="unemployed_registered")
    worker.by_month = {"2026-04": ("unemployed_registered", 0, 1500, 0)}
    resident = p.resident_household(RURAL, [worker])
    _claim(p, "2026-04", "S5", worker, "2026-04-15", 300)
    p.load()
    build_core(con)
    yield con, p, {"zhang": zhang, "wang": wang, "edge": edge, "resident": resident}
    con.close()


def chain(con, household_id: str) -> dict[tuple[str, str], tuple[int, Decimal, int]]:
    rows = con.execute("select period, kind, payments, amount_yuan, persons from core.assistance_month "
                       "where household_id = ?", [household_id]).fetchall()
    return {(period, kind): (n, amount, persons) for period, kind, n, amount, persons in rows}


def test_chain_equals_the_sums_the_feeds_carry(golden):
    con, _, hh = golden
    zhang = chain(con, hh["zhang"].household_id)
    assert {k: v for k, v in zhang.items() if k[1] == "dibao"} == {
        (m, "dibao"): (1, Decimal("1020.00"), 3) for m in MONTHS}
    assert zhang[("2026-02", "medical_aid")] == (1, Decimal("1200.00"), 1)
    # March: 800 - 800 (the reversal, same month) + 2,220 settled on 28 March, delivered in April
    assert zhang[("2026-03", "medical_aid")] == (1, Decimal("2220.00"), 2)
    assert ("2026-04", "medical_aid") not in zhang
    assert zhang[("2026-03", "education_aid")] == (1, Decimal("1500.00"), 1)   # the term, in its first month
    assert zhang[("2026-01", "emergency_aid")] == (1, Decimal("2000.00"), 1)   # the record without aid: none
    assert {k: v for k, v in zhang.items() if k[1] == "unemployment_benefit"} == {
        ("2026-01", "unemployment_benefit"): (1, Decimal("1200.00"), 1),
        ("2026-02", "unemployment_benefit"): (1, Decimal("1200.00"), 1)}
    assert len(zhang) == 5 + 2 + 1 + 1 + 2
    assert chain(con, hh["wang"].household_id) == {(m, "tekun"): (1, Decimal("1300.00"), 1) for m in MONTHS}
    assert chain(con, hh["edge"].household_id) == {}
    assert chain(con, hh["resident"].household_id) == {
        ("2026-04", "unemployment_benefit"): (1, Decimal("1500.00"), 1),
        ("2026-04", "medical_aid"): (1, Decimal("300.00"), 1)}
    sources = con.execute("select source_ids from core.assistance_month where household_id = ? and period = '2026-03' "
                          "and kind = 'medical_aid'", [hh["zhang"].household_id]).fetchone()[0]
    assert sources == ["S2", "S2R", "S3"]


def test_twelve_months_in_one_cell(golden):
    con, _, hh = golden
    rules = default_rules()
    got = received(con, {"z": (hh["zhang"].household_id, "2026-04"), "early": (hh["zhang"].household_id, "2026-01")})
    assert cell_text(got["z"], rules.assistance_shown("MCA"), rules) == (
        "低保 5月 共 5,100 元；医疗救助 2次 3,420 元；教育资助 1次 1,500 元；受灾救助 1次 2,000 元；"
        "失业保险金 2月 共 2,400 元")
    # an office sees the roster benefit and what it pays itself
    assert cell_text(got["z"], rules.assistance_shown("NHSA"), rules) == "低保 5月 共 5,100 元；医疗救助 2次 3,420 元"
    assert cell_text(got["z"], rules.assistance_shown("MOHURD"), rules) == "低保 5月 共 5,100 元"
    # the window ends with the row's data month
    assert cell_text(got["early"], rules.assistance_shown("MCA"), rules) == (
        "低保 2月 共 2,040 元；受灾救助 1次 2,000 元；失业保险金 1月 共 1,200 元")
    assert cell_text({}, rules.assistance_shown("MCA"), rules) == "无 none"
    assert yuan_text(Decimal("1234.5")) == "1,234.50"


def test_every_extract_row_carries_the_cell(golden, tmp_path):
    con, _, hh = golden
    zhang = hh["zhang"]
    head_id = con.execute("select head_person_id from core.household_month where household_id = ? and period = '2026-04'",
                          [zhang.household_id]).fetchone()[0]
    con.execute("insert into mart.warnings (warning_id, indicator_code, severity, period, family_id, hukou_no, person_id, "
                "county_code, departments, evidence, explanation, raised_at, household_id) values "
                "('W-1', 'EXP_MED', 'high', '2026-04', ?, ?, ?, '330102', ['NHSA', 'MCA', 'MEM'], '{}', '医疗支出骤增', "
                "timestamptz '2026-05-08 02:00:00+08', ?)", [zhang.family_id, zhang.hukou_no, head_id, zhang.household_id])
    update_cases(con, NIGHT)
    write_extracts(con, tmp_path, NIGHT)

    def cell(dept: str) -> str:
        with open(tmp_path / dept / "330102" / NIGHT.isoformat() / "cases.csv", encoding="utf-8-sig") as f:
            return next(csv.DictReader(f))["近12个月救助 assistance"]

    assert cell("MCA").startswith("低保 5月 共 5,100 元；医疗救助 2次 3,420 元；教育资助")
    assert cell("NHSA") == "低保 5月 共 5,100 元；医疗救助 2次 3,420 元"
    assert cell("MEM") == "低保 5月 共 5,100 元；受灾救助 1次 2,000 元"
    record = json.loads(con.execute("select record from mart.case_dispatches where department = 'MEM'").fetchone()[0])
    assert record["assistance"] == cell("MEM")   # what was sent is kept

    # the chain shows the month's warning, the case it opened and an answer with its amount beside
    # the assistance (a feedback step as pipelines/feedback.py records it)
    case_id = con.execute("select case_id from mart.cases where household_id = ?", [zhang.household_id]).fetchone()[0]
    con.execute("insert into mart.case_events values (?, 99, timestamptz '2026-05-12 00:00:00+08', 'wang@NHSA', "
                "'dispatched', 'assisted', 'assisted', ?, 'feedback')",
                [case_id, json.dumps({"department": "NHSA", "amount_yuan": "2500.00", "implied": False})])
    april = con.execute("select assistance_yuan, warnings, cases_opened from mart.assistance_chain "
                        "where household_id = ? and period = '2026-04'", [zhang.household_id]).fetchone()
    assert april[0] == Decimal("1020.00")
    assert [w["indicator_code"] for w in april[1]] == ["EXP_MED"]
    assert [(c["case_id"], c["indicator_code"]) for c in april[2]] == [(case_id, "EXP_MED")]
    may = con.execute("select assistance, feedback, feedback_amount_yuan from mart.assistance_chain "
                      "where household_id = ? and period = '2026-05'", [zhang.household_id]).fetchone()
    assert may[0] is None
    assert [(f["department"], f["status"], f["amount_yuan"]) for f in may[1]] == [("NHSA", "assisted", Decimal("2500.00"))]
    assert may[2] == Decimal("2500.00")


def test_history_and_chain_view(golden):
    con, _, hh = golden
    hid = hh["zhang"].household_id
    rows = con.execute("""select "at", event, actor, detail from mart.household_history
                          where household_id = ? and source = 'assistance' order by "at", actor""", [hid]).fetchall()
    assert len(rows) == 11
    first = rows[0]
    assert first[0] == dt.datetime(2025, 12, 1) and first[1] == "assistance" and first[2] == "MCA"
    assert json.loads(first[3]).items() >= {"kind": "dibao", "name_zh": "低保", "amount_yuan": "1020.00",
                                            "period": "2025-12"}.items()
    march = con.execute("select assistance, assistance_yuan from mart.assistance_chain where household_id = ? "
                        "and period = '2026-03'", [hid]).fetchone()
    assert [(a["kind"], a["amount_yuan"]) for a in march[0]] == [
        ("dibao", Decimal("1020.00")), ("medical_aid", Decimal("2220.00")), ("education_aid", Decimal("1500.00"))]
    assert march[1] == Decimal("4740.00")
