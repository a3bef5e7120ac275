"""Case life cycle: one case per household and indicator, re-alerts, returns, deadlines, history."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from case_fixtures import add_warning, case_rows, events_of, warehouse
from pipelines.rules import load_rules, rules_from_dict
from pipelines.cases import (
    close_case, escalate_overdue, forward_path, update_cases,
)
from pipelines.dispatch import write_extracts

NIGHT1 = dt.date(2026, 2, 7)
NIGHT2 = dt.date(2026, 3, 7)
NIGHT3 = dt.date(2026, 4, 7)


@pytest.fixture
def con(tmp_path):
    c = warehouse(tmp_path)
    yield c
    c.close()


def test_one_case_per_household_and_indicator(con, tmp_path):
    add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA"])
    add_warning(con, "F001", "POP_DEATH", "high", "2026-01", ["MCA"])
    add_warning(con, "F002", "INC_DROP", "medium", "2026-01", ["MCA"])
    add_warning(con, "F001", "INC_DROP", "medium", "2025-12", ["MCA"])  # an older month, same condition
    s = update_cases(con, NIGHT1)
    assert (s.warnings_read, s.opened, s.linked) == (4, 3, 1)
    rows = case_rows(con)
    assert len(rows) == 3
    assert {(r["household_id"], r["indicator_code"]) for r in rows} == {
        ("F001", "INC_DROP"), ("F001", "POP_DEATH"), ("F002", "INC_DROP")}
    for r in rows:
        assert re.fullmatch(r"C-330102-[0-9a-f]{10}", r["case_id"])
        assert r["status"] == "open"
    # every warning is linked to its case
    assert con.execute("select count(*) from mart.warnings where case_id is null").fetchone()[0] == 0
    # the older month opened the case (warnings are taken oldest first), the newer one is linked
    inc = next(r for r in rows if r["household_id"] == "F001" and r["indicator_code"] == "INC_DROP")
    assert (inc["opened_period"], inc["last_period"]) == ("2025-12", "2026-01")
    # deterministic ids: the same warnings in another warehouse give the same case ids
    other = warehouse(tmp_path / "again")
    for args in (("F001", "INC_DROP", "medium", "2026-01", ["MCA"]), ("F001", "POP_DEATH", "high", "2026-01", ["MCA"]),
                 ("F002", "INC_DROP", "medium", "2026-01", ["MCA"]), ("F001", "INC_DROP", "medium", "2025-12", ["MCA"])):
        add_warning(other, *args)
    update_cases(other, NIGHT1)
    assert [r["case_id"] for r in case_rows(other)] == [r["case_id"] for r in rows]
    other.close()


def test_persisting_condition_does_not_realert(con, tmp_path):
    add_warning(con, "F001", "ELIG_DIBAO", "high", "2026-01", ["MCA"])
    update_cases(con, NIGHT1)
    assert len(write_extracts(con, tmp_path / "outbox", NIGHT1)) == 1
    wid = add_warning(con, "F001", "ELIG_DIBAO", "high", "2026-02", ["MCA"])
    s = update_cases(con, NIGHT2)
    assert (s.opened, s.linked, s.raised) == (0, 1, 0)
    (case,) = case_rows(con)
    assert case["status"] == "dispatched" and case["last_period"] == "2026-02" and case["dispatch_round"] == 1
    assert con.execute("select case_id from mart.warnings where warning_id = ?", [wid]).fetchone()[0] == case["case_id"]
    assert [e[1] for e in events_of(con, case["case_id"])] == ["opened", "dispatched", "warning_linked"]
    # nothing new to send (the night is before the deadline: no escalation either)
    assert write_extracts(con, tmp_path / "outbox", dt.date(2026, 2, 10)) == []


def test_worsening_realerts(con, tmp_path):
    add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA"])
    update_cases(con, NIGHT1)
    write_extracts(con, tmp_path / "outbox", NIGHT1)
    add_warning(con, "F001", "INC_DROP", "medium", "2026-02", ["MCA"])  # same: no re-alert
    add_warning(con, "F001", "INC_DROP", "high", "2026-02", ["MCA", "HRSS"])  # worse: re-alert
    s = update_cases(con, dt.date(2026, 2, 9))
    assert (s.opened, s.linked, s.raised) == (0, 1, 1)
    (case,) = case_rows(con)
    assert case["severity"] == "high" and case["dispatch_round"] == 2
    assert case["departments"] == ["MCA", "HRSS"]
    written = write_extracts(con, tmp_path / "outbox", dt.date(2026, 2, 9))
    assert sorted(p.relative_to(tmp_path / "outbox").as_posix() for p in written) == [
        "HRSS/330102/2026-02-09", "MCA/330102/2026-02-09"]
    mca_csv = (tmp_path / "outbox/MCA/330102/2026-02-09/cases.csv").read_text(encoding="utf-8-sig")
    assert "升级 realert" in mca_csv and "high 高" in mca_csv and "2026-02-16" in mca_csv  # high: 7 days
    hrss_csv = (tmp_path / "outbox/HRSS/330102/2026-02-09/cases.csv").read_text(encoding="utf-8-sig")
    assert "新案件 new" in hrss_csv  # HRSS sees the case for the first time
    actions = [e[1] for e in events_of(con, case["case_id"])]
    assert actions[:5] == ["opened", "dispatched", "warning_linked", "severity_raised", "department_added"]
    assert sorted(actions[5:]) == ["dispatched", "redispatched"]  # HRSS first time, MCA again
    # a lower severity later never lowers the case
    add_warning(con, "F001", "INC_DROP", "medium", "2026-03", ["MCA"])
    update_cases(con, NIGHT3)
    assert case_rows(con)[0]["severity"] == "high"
    assert write_extracts(con, tmp_path / "outbox", dt.date(2026, 2, 10)) == []


def test_return_after_close_opens_new_case(con, tmp_path):
    add_warning(con, "F001", "ELIG_DIBAO", "high", "2026-01", ["MCA"])
    update_cases(con, NIGHT1)
    write_extracts(con, tmp_path / "outbox", NIGHT1)
    (first,) = case_rows(con)
    close_case(con, first["case_id"], dt.date(2026, 2, 8), actor="analyst 王", reason="已入户核实，情况已解决 resolved")
    assert case_rows(con)[0]["status"] == "closed"
    # the condition continues the very next month: same episode, no new case, nothing sent
    add_warning(con, "F001", "ELIG_DIBAO", "high", "2026-02", ["MCA"])
    s = update_cases(con, NIGHT2)
    assert (s.opened, s.linked_after_close) == (0, 1)
    assert len(case_rows(con)) == 1
    # a month without the condition, then the same condition again within the cool-down (closed
    # 2026-02-08, 6 months: until 2026-08-08): still the closed case, nothing sent
    add_warning(con, "F001", "ELIG_DIBAO", "high", "2026-04", ["MCA"])
    s = update_cases(con, dt.date(2026, 5, 7))
    assert (s.opened, s.linked_after_close) == (0, 1)
    assert write_extracts(con, tmp_path / "outbox", dt.date(2026, 5, 7)) == []
    # the unchanged condition outlasts the cool-down: a new case pointing back to the old one
    add_warning(con, "F001", "ELIG_DIBAO", "high", "2026-07", ["MCA"])
    s = update_cases(con, dt.date(2026, 8, 8))
    assert (s.opened, s.returned) == (1, 1)
    rows = case_rows(con)
    new = next(r for r in rows if r["case_id"] != first["case_id"])
    assert new["status"] == "open" and new["previous_case_id"] == first["case_id"]
    assert new["opened_period"] == "2026-07"
    # and it is dispatched again
    assert len(write_extracts(con, tmp_path / "outbox", dt.date(2026, 8, 8))) == 1


def test_worse_condition_after_close_is_a_new_case(con):
    add_warning(con, "F003", "DISASTER", "high", "2026-01", ["MEM"])
    update_cases(con, NIGHT1)
    (first,) = case_rows(con)
    close_case(con, first["case_id"], NIGHT1, actor="analyst", reason="test")
    add_warning(con, "F003", "DISASTER", "urgent", "2026-02", ["MEM", "MOHURD"])
    s = update_cases(con, NIGHT2)
    assert s.opened == 1 and len(case_rows(con)) == 2


def test_deadlines_configurable_and_escalation(con, tmp_path):
    toml = tmp_path / "indicators.toml"
    toml.write_text("[deadlines]\nurgent_days = 2\nhigh = 5\n", encoding="utf-8")
    defaults = load_rules().deadlines
    rules = load_rules(toml)
    assert rules.deadlines == {**defaults, "urgent": 2, "high": 5}
    assert rules_from_dict({"deadlines": {"low": 60}}).deadlines["low"] == 60

    add_warning(con, "F001", "POP_DEATH", "high", "2026-01", ["MCA"])
    add_warning(con, "F002", "EXP_MED", "high", "2026-01", ["NHSA"])
    update_cases(con, NIGHT1, rules)
    write_extracts(con, tmp_path / "outbox", NIGHT1, rules)
    due = con.execute("select distinct (timezone('Asia/Shanghai', due_at))::date from mart.cases").fetchall()
    assert due == [(dt.date(2026, 2, 12),)]
    # on the due date nothing is overdue; the day after, both are
    assert escalate_overdue(con, dt.date(2026, 2, 12)) == []
    # F001 answered in time (feedback handled by MCA): only the NHSA case escalates
    con.execute("update mart.cases set awaiting_feedback = false where household_id = 'F001'")
    escalated = escalate_overdue(con, dt.date(2026, 2, 13))
    assert len(escalated) == 1
    case = case_rows(con, "household_id = 'F002'")[0]
    assert case["escalated"] and case["status"] == "dispatched"
    assert [e[1] for e in events_of(con, case["case_id"])][-1] == "escalated"
    # escalates once only
    assert escalate_overdue(con, dt.date(2026, 3, 1)) == []
    # the next extract carries it to the county MCA office, marked 逾期升级
    written = write_extracts(con, tmp_path / "outbox", dt.date(2026, 2, 14))
    assert [p.relative_to(tmp_path / "outbox").as_posix() for p in written] == ["MCA/330102/2026-02-14"]
    text = (written[0] / "cases.csv").read_text(encoding="utf-8-sig")
    assert "逾期升级" in text and case["case_id"] in text and "NHSA" in text
    assert write_extracts(con, tmp_path / "outbox", dt.date(2026, 2, 15)) == []


def test_household_history_one_query(con, tmp_path):
    add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA"])
    add_warning(con, "F001", "POP_DEATH", "high", "2026-01", ["MCA"])
    add_warning(con, "F002", "INC_DROP", "medium", "2026-01", ["MCA"])
    update_cases(con, NIGHT1)
    write_extracts(con, tmp_path / "outbox", NIGHT1)
    add_warning(con, "F001", "INC_DROP", "high", "2026-02", ["MCA"])
    update_cases(con, NIGHT2)
    history = con.execute("""
        select household_id, case_id, indicator_code, "at", event, status, actor, detail
        from mart.household_history where household_id = ? order by "at", case_id, seq
    """, ["F001"]).fetchall()
    assert {h[0] for h in history} == {"F001"}
    assert {h[2] for h in history} == {"INC_DROP", "POP_DEATH"}
    events = [(h[2], h[4], h[5]) for h in history]
    assert ("INC_DROP", "opened", "open") in events and ("POP_DEATH", "dispatched", "dispatched") in events
    assert events[-1] == ("INC_DROP", "severity_raised", "dispatched")
    # the documented contract query gives the same rows
    n = con.execute("select count(*) from mart.case_events join mart.cases using (case_id) where household_id = ?",
                    ["F001"]).fetchone()[0]
    assert n == len(history)


def test_links_survive_a_rebuild_of_warnings(con):
    add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA"])
    add_warning(con, "F002", "EXP_MED", "high", "2026-01", ["NHSA", "MCA"])
    update_cases(con, NIGHT1)
    n_events = con.execute("select count(*) from mart.case_events").fetchone()[0]
    # the indicators stage recomputes mart.warnings from scratch: same deterministic ids, no case_id
    con.execute("delete from mart.warnings")
    add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA"])
    add_warning(con, "F002", "EXP_MED", "high", "2026-01", ["NHSA", "MCA"])
    s = update_cases(con, NIGHT1)
    assert (s.links_restored, s.warnings_read, s.opened) == (2, 0, 0)
    assert con.execute("select count(*) from mart.warnings where case_id is null").fetchone()[0] == 0
    assert con.execute("select count(*) from mart.case_events").fetchone()[0] == n_events


def test_forward_path():
    assert forward_path("dispatched", "verified") == ["accepted", "verified"]
    assert forward_path("dispatched", "assisted") == ["accepted", "verified", "assisted"]
    assert forward_path("accepted", "not_verified") == ["not_verified"]
    assert forward_path("verified", "verified") == []
    assert forward_path("verified", "accepted") is None  # back
    assert forward_path("verified", "not_verified") is None  # sideways
    assert forward_path("not_verified", "assisted") is None  # after final
    assert forward_path("assisted", "closed") is None


def test_every_table_and_column_is_documented(con):
    update_cases(con, NIGHT1)
    undocumented = con.execute("""
        select schema_name || '.' || table_name || '.' || column_name from duckdb_columns()
        where schema_name || '.' || table_name in (
            'mart.cases', 'mart.case_events', 'mart.case_warnings', 'mart.case_dispatches',
            'mart.case_statuses', 'ops.audit_log', 'ops.feedback_files', 'ops.feedback_rejects')
          and comment is null
    """).fetchall()
    assert undocumented == []
    tables = con.execute("""
        select table_name from duckdb_tables() where schema_name in ('mart', 'ops') and comment is null
          and table_name not like 'warnings%'""").fetchall()
    assert tables == []
    views = con.execute("""select view_name from duckdb_views() where schema_name = 'mart'
        and view_name in ('household_history', 'case_overview', 'feedback_stats') and comment is not null""").fetchall()
    assert len(views) == 3


def test_first_night_on_an_empty_warehouse(tmp_path):
    """A warehouse no night has written yet: the schema is created and there is nothing to case."""
    from pipelines.config import Settings
    from pipelines.warehouse import connect

    c = connect(Settings(warehouse=tmp_path / "empty.duckdb"))
    s = update_cases(c, NIGHT1)
    assert (s.warnings_read, s.opened, s.open_cases) == (0, 0, 0)
    assert c.execute("select count(*) from mart.cases").fetchone()[0] == 0
    c.close()


def test_deadlines_override_in_config_reaches_the_cases(tmp_path):
    """A [deadlines] table in the --config file (Settings.indicator_config) sets the due dates of the
    cases the night opens and dispatches, through the stages as the CLI and the DAG run them."""
    from pipelines import nightly
    from pipelines.config import load_settings

    con = warehouse(tmp_path)
    add_warning(con, "F001", "POP_DEATH", "high", "2026-01", ["MCA"])
    add_warning(con, "F002", "INC_DROP", "medium", "2026-01", ["MCA"])
    con.close()
    config = tmp_path / "lowincome.toml"
    config.write_text('[settings]\nduckdb_threads = 1\n\n[deadlines]\nhigh = 4\nmedium_days = 20\n', encoding="utf-8")
    # as the CLI builds its settings from --config
    settings = load_settings(config_file=config, env={}, warehouse=tmp_path / "w.duckdb", outbox=tmp_path / "outbox")
    assert settings.indicator_config == config and settings.duckdb_threads == 1
    nightly.run_stage(settings, "cases", NIGHT1)
    nightly.run_stage(settings, "extracts", NIGHT1)
    import duckdb

    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as c:
        due = dict(c.execute("select severity, (timezone('Asia/Shanghai', due_at))::date from mart.cases").fetchall())
        days = dict(c.execute("select severity, deadline_days from mart.cases").fetchall())
    assert due == {"high": NIGHT1 + dt.timedelta(days=4), "medium": NIGHT1 + dt.timedelta(days=20)}
    assert days == {"high": 4, "medium": 20}
