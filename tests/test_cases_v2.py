"""Case life cycle v2 and the town office, on golden households written by hand.

Regions: county 330102 with the towns 330102001 湖滨街道 and 330102002 小营街道; county 330103 with
the town 330103001 长庆街道. F001 lives in 湖滨街道, F002 in 小营街道, F003 in 330103 (长庆街道).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from case_fixtures import add_regions, add_warning, case_rows, events_of, warehouse
from pipelines.cases import update_cases
from pipelines.dispatch import FEEDBACK_COLUMNS, write_extracts
from pipelines.feedback import apply_feedback
from pipelines.rules import rules_from_dict

NIGHT = dt.date(2026, 2, 7)
HUBIN, XIAOYING, CHANGQING = "330102001", "330102002", "330103001"
F001_HOME, F002_HOME, F003_HOME = HUBIN + "001", XIAOYING + "003", CHANGQING + "002"


@pytest.fixture
def con(tmp_path):
    c = warehouse(tmp_path)
    add_regions(c, [
        ("330100000000", "杭州市", "city", None),
        ("330102000000", "上城区", "county", "330100000000"),
        ("330102001000", "湖滨街道", "town", "330102000000"),
        ("330102002000", "小营街道", "town", "330102000000"),
        ("330103000000", "下城区", "county", "330100000000"),
        ("330103001000", "长庆街道", "town", "330103000000"),
    ])
    yield c
    c.close()


def _folders(written: list[Path], outbox: Path) -> list[str]:
    return sorted(p.relative_to(outbox).as_posix() for p in written)


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _case(con, household: str, indicator: str) -> str:
    return case_rows(con, f"household_id = '{household}' and indicator_code = '{indicator}' "
                          f"and status <> 'closed'")[-1]["case_id"]


def _answer(tmp: Path, dept: str, office: str, day: dt.date, rows: list[dict], name: str = "feedback.csv") -> Path:
    path = tmp / "feedback" / dept / office / day.isoformat() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(FEEDBACK_COLUMNS)
        for r in rows:
            w.writerow([r.get(c, "") for c in FEEDBACK_COLUMNS])
    return path


def _states(con, case_id: str) -> dict[str, tuple[str, str]]:
    """department -> (office, status)."""
    rows = con.execute("select s.department, s.office_code, s.status from (select unnest(department_status) as s "
                       "from mart.cases where case_id = ?)", [case_id]).fetchall()
    return {d: (o, st) for d, o, st in rows}


def _status(con, case_id: str) -> str:
    return con.execute("select status from mart.cases where case_id = ?", [case_id]).fetchone()[0]


# --- the town office ------------------------------------------------------------------------------

def test_mca_goes_to_the_town_office_county_acts_and_other_departments_to_the_county(con, tmp_path):
    add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA"], office_region=F001_HOME)
    add_warning(con, "F001", "DUP_ENROLL", "high", "2026-01", ["MCA"], office_region=F001_HOME)
    add_warning(con, "F001", "BENEFIT_AFTER_DEATH", "high", "2026-01", ["MCA"], office_region=F001_HOME)
    add_warning(con, "F001", "AID_EMPLOYMENT", "medium", "2026-01", ["HRSS"], office_region=F001_HOME)
    update_cases(con, NIGHT)
    outbox = tmp_path / "outbox"
    assert _folders(write_extracts(con, outbox, NIGHT), outbox) == [
        "HRSS/330102/2026-02-07", "MCA/330102/2026-02-07", "MCA/330102001/2026-02-07"]
    town = _rows(outbox / "MCA/330102001/2026-02-07/cases.csv")
    assert [r["指标代码 indicator_code"] for r in town] == ["INC_DROP"]
    county = _rows(outbox / "MCA/330102/2026-02-07/cases.csv")
    assert sorted(r["指标代码 indicator_code"] for r in county) == ["BENEFIT_AFTER_DEATH", "DUP_ENROLL"]
    # every extract row carries the town, code and name, whatever the office's level
    for rows in (town, county, _rows(outbox / "HRSS/330102/2026-02-07/cases.csv")):
        assert all(r["乡镇街道代码 town_code"] == HUBIN and r["乡镇街道 town_name"] == "湖滨街道" for r in rows)
    manifest = (outbox / "MCA/330102001/2026-02-07/manifest.json").read_text(encoding="utf-8")
    assert '"office_level": "town"' in manifest and "feedback/MCA/330102001/<YYYY-MM-DD>/feedback.csv" in manifest
    assert con.execute("select distinct county_code from mart.case_dispatches where department = 'MCA' "
                       "order by 1").fetchall() == [("330102",), (HUBIN,)]


def test_a_disaster_goes_to_the_offices_where_it_happened(con, tmp_path):
    # F003 lives in 330103; its house collapsed in a flood in 小营街道 (330102002)
    add_warning(con, "F003", "DISASTER", "urgent", "2026-01", ["MEM", "MCA", "MOHURD"],
                office_region=XIAOYING + "005")
    update_cases(con, NIGHT)
    outbox = tmp_path / "outbox"
    assert _folders(write_extracts(con, outbox, NIGHT), outbox) == [
        "MCA/330102002/2026-02-07", "MEM/330102/2026-02-07", "MOHURD/330102/2026-02-07"]
    (case,) = case_rows(con)
    assert case["county_code"] == "330103"  # the household's county: case id and statistics
    assert _states(con, case["case_id"]) == {"MEM": ("330102", "dispatched"), "MCA": (XIAOYING, "dispatched"),
                                             "MOHURD": ("330102", "dispatched")}


def test_a_household_s_cases_are_adjacent_rows(con, tmp_path):
    for hh, code in (("F002", "INC_DROP"), ("F001", "INC_DROP"), ("F002", "ELIG_DIBAO"), ("F001", "REVIEW_OVERDUE"),
                     ("F002", "EXIT_REVIEW"), ("F001", "ELIG_EDGE")):
        add_warning(con, hh, code, "medium", "2026-01", ["MCA"], office_region=HUBIN + "009")
    update_cases(con, NIGHT)
    write_extracts(con, tmp_path / "outbox", NIGHT)
    rows = _rows(tmp_path / f"outbox/MCA/{HUBIN}/2026-02-07/cases.csv")
    # each household's three cases are adjacent rows (the households in the order of their most urgent case:
    # here all medium, no triage model, so the order between the two is the case ids')
    families = [r["低保家庭编号 family_id"] for r in rows]
    assert families in (["F001"] * 3 + ["F002"] * 3, ["F002"] * 3 + ["F001"] * 3), families
    template = _rows(tmp_path / f"outbox/MCA/{HUBIN}/2026-02-07/feedback_template.csv")
    assert [r["case_id"] for r in template] == [r["案件编号 case_id"] for r in rows]


# --- feedback from town offices ------------------------------------------------------------------------

def test_a_line_for_another_town_s_case_is_rejected_line_by_line(con, tmp_path):
    add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA"], office_region=F001_HOME)
    add_warning(con, "F002", "INC_DROP", "medium", "2026-01", ["MCA"], office_region=F002_HOME)
    update_cases(con, NIGHT)
    write_extracts(con, tmp_path / "outbox", NIGHT)
    f001, f002 = _case(con, "F001", "INC_DROP"), _case(con, "F002", "INC_DROP")
    day = dt.date(2026, 2, 9)
    _answer(tmp_path, "MCA", XIAOYING, day, [
        {"case_id": f001, "status": "verified", "handled_on": "2026-02-08", "handler": "赵"},  # 湖滨's case
        {"case_id": f002, "status": "verified", "handled_on": "2026-02-08", "handler": "赵"},
    ])
    # the county office answers no town case that was not escalated to it
    _answer(tmp_path, "MCA", "330102", day, [
        {"case_id": f001, "status": "accepted", "handled_on": "2026-02-08", "handler": "钱"}])
    s = apply_feedback(con, tmp_path / "feedback", day, work_dir=tmp_path / "work")
    assert (s.applied, s.rejected) == (1, 2)
    assert _status(con, f002) == "verified" and _status(con, f001) == "dispatched"
    rejects = con.execute("select office, line, case_id, field, reason from ops.feedback_rejects "
                          "order by office, line").fetchall()
    assert [(o, line, c, f) for o, line, c, f, _ in rejects] == [("330102", 2, f001, "case_id"),
                                                                  (XIAOYING, 2, f001, "case_id")]
    assert f"case was not sent to office {XIAOYING} of MCA (sent to MCA {HUBIN})" in rejects[1][4]
    assert f"(sent to MCA {HUBIN})" in rejects[0][4]
    report = (tmp_path / "work/feedback_reports/MCA/2026-02-09/feedback_rejects.csv")
    assert report.exists()


def test_multi_department_case_is_final_only_when_every_department_answered(con, tmp_path):
    # a collapsed house: MEM, MCA (town) and MOHURD each answer for their part
    add_warning(con, "F001", "DISASTER", "urgent", "2026-01", ["MEM", "MCA", "MOHURD"], office_region=F001_HOME)
    update_cases(con, NIGHT)
    write_extracts(con, tmp_path / "outbox", NIGHT)
    cid = _case(con, "F001", "DISASTER")
    day = dt.date(2026, 2, 9)
    _answer(tmp_path, "MEM", "330102", day, [{"case_id": cid, "status": "assisted", "amount_yuan": "3000",
                                              "handled_on": "2026-02-08", "handler": "孙"}])
    _answer(tmp_path, "MCA", HUBIN, day, [{"case_id": cid, "status": "verified", "handled_on": "2026-02-08",
                                           "handler": "李"}])
    assert apply_feedback(con, tmp_path / "feedback", day, work_dir=tmp_path / "work").applied == 2
    assert _states(con, cid) == {"MEM": ("330102", "assisted"), "MCA": (HUBIN, "verified"),
                                 "MOHURD": ("330102", "dispatched")}
    assert _status(con, cid) == "dispatched"  # MOHURD owes its answer: the case waits for it
    closed_at = con.execute("select closed_at from mart.cases where case_id = ?", [cid]).fetchone()[0]
    assert closed_at is None
    # MEM's part is final: another MEM answer is rejected, MCA's goes on
    day2 = dt.date(2026, 2, 11)
    _answer(tmp_path, "MEM", "330102", day2, [{"case_id": cid, "status": "verified", "handled_on": "2026-02-10",
                                               "handler": "孙"}])
    _answer(tmp_path, "MOHURD", "330102", day2, [{"case_id": cid, "status": "not_verified",
                                                  "handled_on": "2026-02-10", "handler": "吴"}])
    s = apply_feedback(con, tmp_path / "feedback", day2, work_dir=tmp_path / "work")
    assert (s.applied, s.rejected) == (1, 1)
    assert "already final" in con.execute("select reason from ops.feedback_rejects").fetchone()[0]
    assert _status(con, cid) == "verified"  # only MCA is not final, at verified
    day3 = dt.date(2026, 2, 13)
    _answer(tmp_path, "MCA", HUBIN, day3, [{"case_id": cid, "status": "assisted", "amount_yuan": "2000",
                                            "handled_on": "2026-02-12", "handler": "李"}])
    apply_feedback(con, tmp_path / "feedback", day3, work_dir=tmp_path / "work")
    assert _status(con, cid) == "assisted"  # every department final; someone assisted
    closed_on = con.execute("select timezone('Asia/Shanghai', closed_at)::date from mart.cases where case_id = ?",
                            [cid]).fetchone()[0]
    assert closed_on == dt.date(2026, 2, 12)
    actions = [e[1] for e in events_of(con, cid)]
    assert actions.count("case_final") == 1 and actions[-1] == "case_final"


def test_county_mca_answers_an_escalated_town_case(con, tmp_path):
    add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA"], office_region=F001_HOME)
    add_warning(con, "F001", "AID_EMPLOYMENT", "medium", "2026-01", ["HRSS"], office_region=F001_HOME)
    update_cases(con, NIGHT)
    outbox = tmp_path / "outbox"
    write_extracts(con, outbox, NIGHT)
    town_case, hrss_case = _case(con, "F001", "INC_DROP"), _case(con, "F001", "AID_EMPLOYMENT")
    late = NIGHT + dt.timedelta(days=20)  # medium: 15 days, nobody answered
    assert _folders(write_extracts(con, outbox, late), outbox) == [f"MCA/330102/{late}"]
    escalated = _rows(outbox / f"MCA/330102/{late}/cases.csv")
    assert {r["案件编号 case_id"] for r in escalated} == {town_case, hrss_case}
    assert all(r["派发类型 dispatch_kind"] == "逾期升级 escalated" for r in escalated)
    day = late + dt.timedelta(days=2)
    _answer(tmp_path, "MCA", "330102", day, [
        {"case_id": town_case, "status": "verified", "handled_on": day.isoformat(), "handler": "县民政 钱"},
        {"case_id": hrss_case, "status": "accepted", "handled_on": day.isoformat(), "handler": "县民政 钱"},
    ])
    s = apply_feedback(con, tmp_path / "feedback", day, work_dir=tmp_path / "work")
    assert (s.applied, s.rejected) == (2, 0)
    assert _states(con, town_case) == {"MCA": (HUBIN, "verified")}
    assert _states(con, hrss_case) == {"HRSS": ("330102", "accepted")}  # answered for the silent department
    detail = con.execute("select detail->>'escalation_answer' from mart.case_events where case_id = ? and "
                         "action = 'verified'", [town_case]).fetchone()[0]
    assert detail == "true"
    # the town office still answers its own case
    day2 = day + dt.timedelta(days=1)
    _answer(tmp_path, "MCA", HUBIN, day2, [{"case_id": town_case, "status": "assisted", "handled_on": day2.isoformat(),
                                            "handler": "李"}])
    assert apply_feedback(con, tmp_path / "feedback", day2, work_dir=tmp_path / "work").applied == 1
    assert _status(con, town_case) == "assisted"


# --- after closure: cool-down and new dated events -----------------------------------------------------

def test_closed_case_cool_down_and_new_dated_event(con, tmp_path):
    add_warning(con, "F001", "ELIG_DIBAO", "high", "2026-01", ["MCA"], office_region=F001_HOME)
    add_warning(con, "F002", "DISASTER", "high", "2026-01", ["MEM", "MCA"], office_region=F002_HOME)
    update_cases(con, NIGHT)
    write_extracts(con, tmp_path / "outbox", NIGHT)
    elig, disaster = _case(con, "F001", "ELIG_DIBAO"), _case(con, "F002", "DISASTER")
    day = dt.date(2026, 2, 10)
    _answer(tmp_path, "MCA", HUBIN, day, [{"case_id": elig, "status": "ineligible", "handled_on": "2026-02-09",
                                           "handler": "李"}])
    _answer(tmp_path, "MCA", XIAOYING, day, [{"case_id": disaster, "status": "assisted", "handled_on": "2026-02-09",
                                              "handler": "周"}])
    _answer(tmp_path, "MEM", "330102", day, [{"case_id": disaster, "status": "assisted", "handled_on": "2026-02-09",
                                              "handler": "孙"}])
    apply_feedback(con, tmp_path / "feedback", day, work_dir=tmp_path / "work")
    assert _status(con, elig) == "ineligible" and _status(con, disaster) == "assisted"  # closed 2026-02-09

    # the unchanged condition every month, within 6 months of the closing: no new case
    for period, night in (("2026-02", dt.date(2026, 3, 7)), ("2026-05", dt.date(2026, 6, 7)),
                          ("2026-07", dt.date(2026, 8, 8))):
        add_warning(con, "F001", "ELIG_DIBAO", "high", period, ["MCA"], office_region=F001_HOME)
        s = update_cases(con, night)
        assert (s.opened, s.linked_after_close) == (0, 1), period
    # the same disaster's month again (a re-evaluation): the same event, no new case
    add_warning(con, "F002", "DISASTER", "medium", "2026-01", ["MEM", "MCA"], office_region=F002_HOME)
    assert update_cases(con, dt.date(2026, 3, 7)).opened == 0
    # a new dated event (a disaster of a later month) re-alerts at once, within the cool-down
    add_warning(con, "F002", "DISASTER", "high", "2026-03", ["MEM", "MCA"], office_region=F002_HOME)
    s = update_cases(con, dt.date(2026, 4, 7))
    assert (s.opened, s.returned) == (1, 1)
    assert update_cases(con, dt.date(2026, 8, 8)).opened == 0
    # the unchanged condition outlasts the cool-down (2026-02-09 + 6 months): a new case
    add_warning(con, "F001", "ELIG_DIBAO", "high", "2026-08", ["MCA"], office_region=F001_HOME)
    s = update_cases(con, dt.date(2026, 9, 9))
    assert (s.opened, s.returned) == (1, 1)
    new = case_rows(con, "household_id = 'F001' and status = 'open'")
    assert len(new) == 1 and new[0]["previous_case_id"] == elig and new[0]["opened_period"] == "2026-08"


def test_cool_down_is_configurable(con, tmp_path):
    rules = rules_from_dict({"cases": {"cooldown_months": 1}})
    assert rules.cooldown_months == 1
    add_warning(con, "F001", "ELIG_DIBAO", "high", "2026-01", ["MCA"], office_region=F001_HOME)
    update_cases(con, NIGHT, rules=rules)
    write_extracts(con, tmp_path / "outbox", NIGHT, rules=rules)
    cid = _case(con, "F001", "ELIG_DIBAO")
    day = dt.date(2026, 2, 10)
    _answer(tmp_path, "MCA", HUBIN, day, [{"case_id": cid, "status": "not_verified", "handled_on": "2026-02-09",
                                           "handler": "李"}])
    apply_feedback(con, tmp_path / "feedback", day, work_dir=tmp_path / "work", rules=rules)
    add_warning(con, "F001", "ELIG_DIBAO", "high", "2026-03", ["MCA"], office_region=F001_HOME)
    assert update_cases(con, dt.date(2026, 4, 7), rules=rules).opened == 1
    with pytest.raises(Exception, match="cooldown_months"):
        rules_from_dict({"cases": {"cooldown_months": "six"}})


# --- MOA ----------------------------------------------------------------------------------------------

def test_moa_gets_extracts_and_returns_feedback(con, tmp_path):
    add_warning(con, "F001", "EXP_HARDSHIP", "medium", "2026-01", ["MOA", "MCA"], office_region=F001_HOME)
    update_cases(con, NIGHT)
    outbox = tmp_path / "outbox"
    assert _folders(write_extracts(con, outbox, NIGHT), outbox) == ["MCA/330102001/2026-02-07",
                                                                    "MOA/330102/2026-02-07"]
    rows = _rows(outbox / "MOA/330102/2026-02-07/cases.csv")
    assert len(rows) == 1 and rows[0]["乡镇街道 town_name"] == "湖滨街道"
    assert "近12个月救助 assistance" in rows[0] and "身份证号 id_number" in rows[0]
    cid = rows[0]["案件编号 case_id"]
    day = dt.date(2026, 2, 9)
    _answer(tmp_path, "MOA", "330102", day, [{"case_id": cid, "status": "verified", "handled_on": "2026-02-08",
                                              "handler": "农业农村 郑"}])
    assert apply_feedback(con, tmp_path / "feedback", day, work_dir=tmp_path / "work").applied == 1
    assert _states(con, cid)["MOA"] == ("330102", "verified")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_town_and_moa_extracts_open_in_libreoffice_with_chinese_intact(con, tmp_path):
    add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA"], office_region=F001_HOME,
                explanation="家庭人均收入由 1,200 元降至 300 元，低于低保标准")
    add_warning(con, "F002", "EXP_HARDSHIP", "medium", "2026-01", ["MOA"], office_region=F002_HOME)
    update_cases(con, NIGHT)
    outbox = tmp_path / "outbox"
    write_extracts(con, outbox, NIGHT)
    for folder, expected in ((outbox / f"MCA/{HUBIN}/2026-02-07", ["湖滨街道", "家庭人均收入由", "张三", "新案件 new"]),
                             (outbox / "MOA/330102/2026-02-07", ["小营街道", "李四"])):
        out = tmp_path / "lo" / folder.parts[-3]
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo_profile",
                        "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(out),
                        str(folder / "cases.xlsx")], check=True, capture_output=True, timeout=180)
        text = (out / "cases.csv").read_text(encoding="utf-8")
        assert "乡镇街道代码 town_code" in text and "案件编号 case_id" in text
        for word in expected:
            assert word in text, (folder, word)
