"""Catalog v2 end to end on tiny hand-written deliveries: the two new feeds (one of them in two files),
layouts chosen by period side by side in one warehouse, unannounced columns, daily additive
disaster deliveries with corrections and withdrawals, the mid-term marker of moe_students, and
months before a feed's first period (``since``)."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import duckdb
import pytest

import ingest_fixtures as fx
from pipelines.config import Settings
from pipelines.feeds import FEEDS
from pipelines.ingest import ingest

P = "2026-01"


@pytest.fixture
def s(tmp_path) -> Settings:
    return Settings(landing=tmp_path / "landing", warehouse=tmp_path / "wh.duckdb", show_progress=False,
                    duckdb_threads=1, duckdb_memory_limit="1GB", extra={"data_docs": False})


def night(s: Settings, day: str):
    return ingest(s, as_of=dt.date.fromisoformat(day))


def sql(s: Settings, query: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


def ledger(s: Settings) -> dict[str, dict]:
    rows = sql(s, "select delivery_id, status, rows, errors, warnings, delivery_kind, superseded_by from ops.deliveries")
    return {r[0]: {"status": r[1], "rows": r[2], "errors": json.loads(r[3] or "[]"), "warnings": json.loads(r[4] or "[]"),
                   "kind": r[5], "superseded_by": r[6]} for r in rows}


def completeness(s: Settings, feed_id: str) -> dict[str, tuple[str, str | None]]:
    return {p: (st, d) for p, st, d in sql(s, "select period, status, delivery_id from ops.completeness "
                                              "where feed_id = ? order by period", [feed_id])}


def refs(s: Settings, date: str = "2025-09-20", period: str = "2025-10") -> None:
    fx.deliver_references(s.landing, date, period)


# --- mca_econ_checks: two files, one delivery -------------------------------------------------------

def test_econ_checks_load_both_parts_together_and_a_redelivery_replaces_both(s):
    refs(s)
    checks, members = fx.econ_check_rows(P, n=3)
    fx.deliver(s.landing, "mca_econ_checks", "2026-02-05", P, fx.econ_check_files(P, checks, members))
    night(s, "2026-02-06")
    d = ledger(s)["mca_econ_checks/2026-02-05"]
    assert d["status"] == "loaded" and d["rows"] == 3 + 6 and d["errors"] == [] and d["warnings"] == []
    assert sql(s, "select count(*) from staging.mca_econ_checks") == [(3,)]
    assert sql(s, "select count(*) from staging.mca_econ_check_members") == [(6,)]
    assert sql(s, "select count(*) from raw.mca_econ_check_members where _file = 'check_members_202601.csv'") == [(6,)]
    assert completeness(s, "mca_econ_checks")[P] == ("loaded", "mca_econ_checks/2026-02-05")
    # a correction: both files replaced in the delivery's one transaction
    checks2, members2 = fx.econ_check_rows(P, n=1, start=50, members_each=3)
    fx.deliver(s.landing, "mca_econ_checks", "2026-02-20", P, fx.econ_check_files(P, checks2, members2))
    night(s, "2026-02-21")
    led = ledger(s)
    assert led["mca_econ_checks/2026-02-05"]["status"] == "superseded"
    assert sql(s, "select check_id, household_size, delivery_id from staging.mca_econ_checks") == \
        [("C20260100050", 3, "mca_econ_checks/2026-02-20")]
    assert sql(s, "select count(*), min(delivery_id) from staging.mca_econ_check_members") == \
        [(3, "mca_econ_checks/2026-02-20")]
    assert sql(s, "select count(*) from raw.mca_econ_checks") == [(1,)]


def test_econ_checks_member_of_no_check_rejects_the_whole_delivery(s):
    refs(s)
    checks, members = fx.econ_check_rows(P, n=2)
    members[3]["check_id"] = "C-NOT-IN-CHECKS"
    fx.deliver(s.landing, "mca_econ_checks", "2026-02-05", P, fx.econ_check_files(P, checks, members))
    night(s, "2026-02-06")
    d = ledger(s)["mca_econ_checks/2026-02-05"]
    assert d["status"] == "rejected"
    (e,) = [e for e in d["errors"] if e["check"] == "check_reference"]
    assert (e["file"], e["row"], e["field"]) == ("check_members_202601.csv", 4, "check_id")
    assert "checks file of the same delivery" in e["message"]
    # rejected together: neither part is loaded
    assert sql(s, "select count(*) from staging.mca_econ_checks") == [(0,)]
    assert sql(s, "select count(*) from staging.mca_econ_check_members") == [(0,)]
    report = s.work / "reports" / "2026-02-06" / "mca_econ_checks__2026-02-05.md"
    assert "check_members_202601.csv" in report.read_text(encoding="utf-8")


def test_econ_checks_household_size_not_matching_members_is_a_warning(s):
    refs(s)
    checks, members = fx.econ_check_rows(P, n=3)
    checks[1]["household_size"] = "4"  # the members file lists 2
    fx.deliver(s.landing, "mca_econ_checks", "2026-02-05", P, fx.econ_check_files(P, checks, members))
    night(s, "2026-02-06")
    d = ledger(s)["mca_econ_checks/2026-02-05"]
    assert d["status"] == "loaded"
    (w,) = [w for w in d["warnings"] if w["check"] == "member_count"]
    assert (w["file"], w["row"], w["field"], w["severity"]) == ("checks_202601.csv", 2, "household_size", "warning")
    assert sql(s, "select household_size from staging.mca_econ_checks where _row = 2") == [(4,)]  # as delivered


@pytest.mark.parametrize("fault,file,row,field,check", [
    ("applicant_check_digit", "checks_202601.csv", 2, "applicant_id", "id_check_character"),
    ("member_check_digit", "check_members_202601.csv", 3, "person_id", "id_check_character"),
    ("reason", "checks_202601.csv", 3, "reason", "enumeration"),
    ("outcome", "checks_202601.csv", 1, "outcome", "enumeration"),
    ("negative_income", "checks_202601.csv", 2, "monthly_income_yuan", "range"),
    ("region", "checks_202601.csv", 1, "region_code", "region_known"),
])
def test_econ_checks_faults_name_file_row_and_field(s, fault, file, row, field, check):
    refs(s)
    checks, members = fx.econ_check_rows(P, n=3)
    if fault == "applicant_check_digit":
        checks[1]["applicant_id"] = fx.bad_check_char(checks[1]["applicant_id"])
    elif fault == "member_check_digit":
        members[2]["person_id"] = fx.bad_check_char(members[2]["person_id"])
    elif fault == "reason":
        checks[2]["reason"] = "audit"
    elif fault == "outcome":
        checks[0]["outcome"] = "eligible"
    elif fault == "negative_income":
        checks[1]["monthly_income_yuan"] = "-10"
    else:
        checks[0]["region_code"] = "440303009999"
    fx.deliver(s.landing, "mca_econ_checks", "2026-02-05", P, fx.econ_check_files(P, checks, members))
    night(s, "2026-02-06")
    d = ledger(s)["mca_econ_checks/2026-02-05"]
    assert d["status"] == "rejected"
    assert any((e["file"], e["row"], e["field"], e["check"]) == (file, row, field, check) for e in d["errors"]), d["errors"]


def test_econ_checks_missing_part_or_stray_file_is_rejected(s):
    refs(s)
    checks, members = fx.econ_check_rows(P, n=2)
    files = fx.econ_check_files(P, checks, members)
    only_checks = {k: v for k, v in files.items() if k.startswith("checks_")}
    fx.deliver(s.landing, "mca_econ_checks", "2026-02-05", P, only_checks)
    fx.deliver(s.landing, "mca_econ_checks", "2026-03-05", "2026-02",
               {**fx.econ_check_files("2026-02", checks, members), "notes.csv": (b"a\n1\n", 1)})
    night(s, "2026-03-06")
    led = ledger(s)
    (e,) = led["mca_econ_checks/2026-02-05"]["errors"]
    assert e["check"] == "part" and e["field"] == "files" and "check_members_<YYYYMM>.csv" in e["message"]
    (e,) = led["mca_econ_checks/2026-03-05"]["errors"]
    assert e["check"] == "part" and e["file"] == "notes.csv"
    assert sql(s, "select count(*) from staging.mca_econ_checks") == [(0,)]


# --- moa_relapse_watch ------------------------------------------------------------------------------

def test_moa_relapse_watch_loads_and_faults_are_named(s):
    refs(s)
    fx.deliver_feed(s.landing, "moa_relapse_watch", "2026-02-05", P)
    bad = fx.moa_rows("2026-02", n=3)
    bad[1]["watch_type"] = "一般农户"
    bad[2]["head_person_id"] = fx.bad_check_char(bad[2]["head_person_id"])
    bad[0]["risk_types"] = "因病;因穷"
    fx.deliver_feed(s.landing, "moa_relapse_watch", "2026-03-05", "2026-02", bad)
    night(s, "2026-03-06")
    led = ledger(s)
    assert led["moa_relapse_watch/2026-02-05"]["status"] == "loaded"
    assert sql(s, "select watch_type, risk_types from staging.moa_relapse_watch order by _row limit 2") == \
        [("unstable_poverty_exit", ["illness"]), ("edge_at_risk", ["disability", "education"])]
    d = led["moa_relapse_watch/2026-03-05"]
    assert d["status"] == "rejected"
    got = {(e["row"], e["field"], e["check"]) for e in d["errors"]}
    assert {(2, "watch_type", "enumeration"), (3, "head_person_id", "id_check_character"),
            (1, "risk_types", "enumeration")} <= got, got
    assert any("一般农户" in e["message"] for e in d["errors"])


# --- schema drift ------------------------------------------------------------------------------------

def test_unannounced_column_loads_with_a_warning_and_a_report(s):
    refs(s)
    from pipelines.feeds.mca_roster import RAW_COLUMNS

    rows = fx.roster_rows(P, n=2)
    cols = list(RAW_COLUMNS) + ["phone"]
    fx.deliver(s.landing, "mca_roster", "2026-02-03", P,
               {"roster.csv": (fx.csv_bytes(cols, [[r.get(c, "13800000000") for c in cols] for r in rows]), 2)})
    renamed = [c if c != "urban_rural" else "urbanrural" for c in RAW_COLUMNS]
    fx.deliver(s.landing, "mca_roster", "2026-03-03", "2026-02",
               {"roster.csv": (fx.csv_bytes(renamed, [[r.get(c, "urban") for c in renamed] for r in rows]), 2)})
    night(s, "2026-03-04")
    led = ledger(s)
    ok = led["mca_roster/2026-02-03"]
    assert ok["status"] == "loaded" and ok["rows"] == 2
    (w,) = [w for w in ok["warnings"] if w["check"] == "extra_column"]
    assert (w["file"], w["field"], w["severity"]) == ("roster.csv", "phone", "warning") and "ignored" in w["message"]
    assert "phone" not in [r[0] for r in sql(s, "select column_name from duckdb_columns() where table_name = 'mca_roster'")]
    report = s.work / "reports" / "2026-03-04" / "mca_roster__2026-02-03.md"
    assert "loaded with warnings" in report.read_text(encoding="utf-8") and "phone" in report.read_text(encoding="utf-8")
    bad = led["mca_roster/2026-03-03"]
    assert bad["status"] == "rejected" and bad["errors"][0]["check"] == "columns"
    assert bad["errors"][0]["field"] == "urban_rural" and "urbanrural" in bad["errors"][0]["message"]


# --- layouts side by side ------------------------------------------------------------------------------

def test_cdpf_v1_and_v2_periods_side_by_side_with_a_late_v1_redelivery(s):
    refs(s)
    xlsx = fx.cdpf_disability
    fx.deliver(s.landing, "cdpf_disability", "2026-07-03", "2026-06", {"c.xlsx": xlsx(fx.cdpf_rows(3))})
    fx.deliver(s.landing, "cdpf_disability", "2026-08-03", "2026-07",
               {"c.xlsx": xlsx(fx.cdpf_rows(3, v2=True), headers=fx.CDPF_V2_HEADERS)})
    night(s, "2026-08-04")
    # after v2 started: a late correction of June (v1 period) in the v1 layout loads and replaces June;
    # the same correction in the v2 layout is rejected naming the columns
    fx.deliver(s.landing, "cdpf_disability", "2026-09-10", "2026-06", {"c.xlsx": xlsx(fx.cdpf_rows(4, start=10))})
    fx.deliver(s.landing, "cdpf_disability", "2026-09-12", "2026-05",
               {"c.xlsx": xlsx(fx.cdpf_rows(2, v2=True), headers=fx.CDPF_V2_HEADERS)})
    fx.deliver(s.landing, "cdpf_disability", "2026-09-03", "2026-08",
               {"c.xlsx": xlsx(fx.cdpf_rows(2, v2=True), headers=fx.CDPF_V2_HEADERS)})
    night(s, "2026-09-13")
    led = ledger(s)
    assert led["cdpf_disability/2026-07-03"]["status"] == "superseded"
    assert led["cdpf_disability/2026-09-10"]["status"] == "loaded"
    assert led["cdpf_disability/2026-08-03"]["status"] == led["cdpf_disability/2026-09-03"]["status"] == "loaded"
    wrong = led["cdpf_disability/2026-09-12"]
    assert wrong["status"] == "rejected"
    (e,) = wrong["errors"]
    assert (e["file"], e["check"], e["field"]) == ("c.xlsx", "layout", "困难残疾人生活补贴")
    by_period = sql(s, "select period, count(*), count(living_subsidy), count(nursing_subsidy), "
                       "count(*) filter (where living_subsidy) from staging.cdpf_disability group by 1 order by 1")
    assert by_period == [("2026-06", 4, 0, 0, 0), ("2026-07", 3, 3, 3, 2), ("2026-08", 2, 2, 2, 1)]
    assert sql(s, "select count(*) from raw.cdpf_disability where living_subsidy is not null") == [(5,)]
    assert {p: st for p, (st, _) in completeness(s, "cdpf_disability").items() if p >= "2026-05"} == \
        {"2026-05": "rejected", "2026-06": "loaded", "2026-07": "loaded", "2026-08": "loaded"}


def test_grid_visits_v1_and_v2(s):
    from pipelines.feeds.grid_visits import LAYOUTS

    refs(s)
    v2 = list(LAYOUTS[1].columns)
    fx.deliver_feed(s.landing, "grid_visits", "2026-06-28", "2026-06")
    rows = fx.grid_v2_rows("2026-07", n=3)
    for r in rows:
        r["visit_date"] = "2026-07-20"
    fx.deliver(s.landing, "grid_visits", "2026-07-20", "2026-07", {"g.csv": fx.grid_visits(rows, v2)})
    bad = fx.grid_v2_rows("2026-07", n=3, start=10)
    for r in bad:
        r["visit_date"] = "2026-07-21"
    bad[0]["region_code"] = "440303009999"
    bad[2]["person_id"] = fx.bad_check_char(fx.person_id(12))
    bad[1]["region_code"] = ""
    fx.deliver(s.landing, "grid_visits", "2026-07-21", "2026-07", {"g.csv": fx.grid_visits(bad, v2)})
    night(s, "2026-07-22")
    led = ledger(s)
    assert led["grid_visits/2026-06-28"]["status"] == led["grid_visits/2026-07-20"]["status"] == "loaded"
    assert sql(s, "select period, count(person_id), count(region_code) from staging.grid_visits group by 1 order by 1") == \
        [("2026-06", 0, 0), ("2026-07", 2, 3)]
    d = led["grid_visits/2026-07-21"]
    assert d["status"] == "rejected"
    got = {(e["row"], e["field"], e["check"]) for e in d["errors"]}
    assert {(1, "region_code", "region_known"), (3, "person_id", "id_check_character"),
            (2, "region_code", "not_null")} <= got, got


# --- mem_disaster: daily, additive, keyed ----------------------------------------------------------

def _daily(s: Settings, date: str, rows: list[dict], produced_at: str | None = None) -> None:
    day = dt.date.fromisoformat(date)
    period = f"{day - dt.timedelta(days=1):%Y-%m}"  # the month of the day before the delivery date
    fx.deliver(s.landing, "mem_disaster", date, period, {f"disaster_{date.replace('-', '')}.jsonl": fx.mem_disaster(rows)},
               produced_at=produced_at)


def current(s: Settings, period: str) -> dict[tuple, tuple]:
    return {(r[0], r[1]): r[2:] for r in sql(
        s, "select disaster_id, person_id, loss_yuan, delivery_id from staging.mem_disaster_current where period = ?",
        [period])}


def test_daily_disaster_month_corrections_withdrawals_and_completeness(s):
    refs(s)
    p = [fx.person_id(k) for k in range(1, 8)]
    # March 2026: still one monthly delivery, replacing its month (dated 1 April: the day before is in March)
    fx.deliver(s.landing, "mem_disaster", "2026-04-01", "2026-03",
               {"march.jsonl": fx.mem_disaster([fx.disaster("DM", p[0], "2026-03-10", loss=1000),
                                                fx.disaster("DM", p[0], "2026-03-10", loss=1500)])})
    _daily(s, "2026-04-02", [fx.disaster("D1", p[0], "2026-04-01", loss=10000, status="active"),
                             fx.disaster("D1", p[1], "2026-04-01", loss=20000, status="active")])
    _daily(s, "2026-04-03", [])  # nothing new: an empty file
    _daily(s, "2026-04-10", [fx.disaster("D1", p[0], "2026-04-01", loss=12500, status="active"),   # correction
                             fx.disaster("D2", p[2], "2026-04-09", loss=3000, status="active")])
    _daily(s, "2026-04-15", [fx.disaster("D3", p[3], "2026-04-14", loss=999, status="active")],
           produced_at="2026-04-15T01:00:00+08:00")
    night(s, "2026-04-16")
    # the 15th is re-delivered in place: it replaces that day only (D3 gone; a withdrawal of D1/p1, and D4)
    _daily(s, "2026-04-15", [fx.disaster("D1", p[1], "2026-04-01", loss=20000, status="withdrawn"),
                             fx.disaster("D4", p[4], "2026-04-15", loss=4000, status="active")],
           produced_at="2026-04-15T09:00:00+08:00")
    _daily(s, "2026-05-01", [fx.disaster("D5", p[5], "2026-04-30", loss=5000, status="active")])
    _daily(s, "2026-05-03", [fx.disaster("D6", p[6], "2026-04-30", loss=6000, status="active")])  # a late April record
    night(s, "2026-05-04")
    led = ledger(s)
    assert all(led[k]["status"] == "loaded" for k in led if k.startswith("mem_disaster/"))
    assert led["mem_disaster/2026-04-03"]["rows"] == 0 and led["mem_disaster/2026-04-02"]["kind"] == "daily"
    assert led["mem_disaster/2026-04-01"]["kind"] is None  # the monthly March delivery
    assert not any(d["superseded_by"] for d in led.values())  # daily deliveries add, they do not replace
    # every daily delivery is its own partition: only the re-delivered day changed
    assert dict(sql(s, "select delivery_id, count(*) from staging.mem_disaster group by 1")) == {
        "mem_disaster/2026-04-01": 2, "mem_disaster/2026-04-02": 2, "mem_disaster/2026-04-10": 2,
        "mem_disaster/2026-04-15": 2, "mem_disaster/2026-05-01": 1, "mem_disaster/2026-05-03": 1}
    assert sql(s, "select count(*) from staging.mem_disaster where disaster_id = 'D3'") == [(0,)]
    # the record in force per key: the correction wins, the withdrawal retracts, late records land in April
    april = current(s, "2026-04")
    assert april == {
        ("D1", p[0]): (Decimal("12500.00"), "mem_disaster/2026-04-10"),
        ("D2", p[2]): (Decimal("3000.00"), "mem_disaster/2026-04-10"),
        ("D4", p[4]): (Decimal("4000.00"), "mem_disaster/2026-04-15"),
        ("D5", p[5]): (Decimal("5000.00"), "mem_disaster/2026-05-01"),
        ("D6", p[6]): (Decimal("6000.00"), "mem_disaster/2026-05-03"),
    }
    # March: the monthly delivery, last line of a key wins (as before)
    assert current(s, "2026-03") == {("DM", p[0]): (Decimal("1500.00"), "mem_disaster/2026-04-01")}
    comp = completeness(s, "mem_disaster")
    assert comp["2026-03"] == ("loaded", "mem_disaster/2026-04-01")
    assert comp["2026-04"] == ("open", "mem_disaster/2026-05-03")  # no delivery after 5 May yet
    # a delivery dated after the 5th of May closes April (even an empty one)
    _daily(s, "2026-05-06", [])
    night(s, "2026-05-07")
    comp = completeness(s, "mem_disaster")
    assert comp["2026-04"] == ("loaded", "mem_disaster/2026-05-06") and comp["2026-05"][0] == "open"
    # a rejected daily delivery is a gap in its month(s): not complete until re-delivered
    bad = fx.disaster("D7", fx.bad_check_char(p[0]), "2026-05-19")
    _daily(s, "2026-05-20", [bad])
    _daily(s, "2026-06-08", [])
    night(s, "2026-06-09")
    assert completeness(s, "mem_disaster")["2026-05"] == ("rejected", "mem_disaster/2026-05-20")
    _daily(s, "2026-05-20", [fx.disaster("D7", p[0], "2026-05-19")], produced_at="2026-06-10T01:00:00+08:00")
    night(s, "2026-06-11")
    assert completeness(s, "mem_disaster")["2026-05"] == ("loaded", "mem_disaster/2026-06-08")


def test_core_feed_month_follows_late_corrections_of_a_closed_daily_month(s):
    """A correction arriving after its month closed changes the month's token in core.feed_month,
    so the month's core facts are rebuilt and its indicators re-evaluated."""
    from pipelines import core
    from pipelines.warehouse import connect

    refs(s)
    pid = fx.person_id(1)
    _daily(s, "2026-04-10", [fx.disaster("D1", pid, "2026-04-09", loss=10000)])
    _daily(s, "2026-05-06", [])
    night(s, "2026-05-07")

    def token() -> tuple:
        con = connect(s)
        try:
            core._refresh_global(con)
            return con.execute("select status, delivery_id from core.feed_month "
                               "where feed_id = 'mem_disaster' and period = '2026-04'").fetchone()
        finally:
            con.close()

    assert token() == ("loaded", "mem_disaster/2026-04-10")
    _daily(s, "2026-06-02", [fx.disaster("D1", pid, "2026-04-09", status="withdrawn")])
    night(s, "2026-06-03")
    assert token() == ("loaded", "mem_disaster/2026-06-02")
    assert current(s, "2026-04") == {}


# --- moe_students: the mid-term marker ------------------------------------------------------------

def test_moe_mid_term_delivery_is_marked_and_completeness_knows(s):
    refs(s)
    fx.deliver_feed(s.landing, "moe_students", "2025-09-05", "2025-09")            # term 2025-2: one delivery
    fx.deliver_feed(s.landing, "moe_students", "2026-03-05", "2026-03")            # term 2026-1, start of term
    fx.deliver_feed(s.landing, "hrss_employment", "2026-04-03", "2026-03")
    night(s, "2026-04-10")
    led = ledger(s)
    assert led["moe_students/2025-09-05"]["kind"] == "term"
    assert led["moe_students/2026-03-05"]["kind"] == "start_of_term"
    mid = completeness(s, "moe_students_midterm")
    assert mid["2025-12"] == ("not_expected", "moe_students/2025-09-05")
    assert mid["2026-03"] == ("open", "moe_students/2026-03-05")
    assert completeness(s, "moe_students")["2026-03"] == ("loaded", "moe_students/2026-03-05")
    # the mid-term delivery (60 days in, aid granted) replaces the first like any re-delivery
    rows = fx.feed_rows("moe_students", "2026-03")
    for r in rows:
        r["aid_yuan"] = "1500"
    fx.deliver_feed(s.landing, "moe_students", "2026-04-30", "2026-03", rows)
    night(s, "2026-05-01")
    led = ledger(s)
    assert led["moe_students/2026-04-30"]["kind"] == "mid_term" and led["moe_students/2026-04-30"]["status"] == "loaded"
    assert led["moe_students/2026-03-05"]["status"] == "superseded"
    assert completeness(s, "moe_students_midterm")["2026-03"] == ("loaded", "moe_students/2026-04-30")
    assert sql(s, "select distinct aid_yuan from staging.moe_students where period = '2026-03'") == [(Decimal("1500.00"),)]
    # the ledger of a warehouse from before the marker existed is filled in on the next publish
    con = duckdb.connect(str(s.warehouse))
    con.execute("update ops.deliveries set delivery_kind = null")
    con.close()
    fx.deliver_feed(s.landing, "hrss_employment", "2026-05-03", "2026-04")
    night(s, "2026-05-04")
    assert ledger(s)["moe_students/2026-04-30"]["kind"] == "mid_term"


def test_midterm_rule_boundary():
    spec = FEEDS["moe_students"]
    assert spec.delivery_kind("2026-03", dt.date(2026, 4, 14)) == "start_of_term"   # 44 days after 1 March
    assert spec.delivery_kind("2026-03", dt.date(2026, 4, 15)) == "mid_term"        # 45 days
    assert spec.delivery_kind("2026-09", dt.date(2026, 11, 1)) == "mid_term"
    assert spec.delivery_kind("2025-09", dt.date(2025, 11, 30)) == "term"
    assert FEEDS["hrss_employment"].delivery_kind("2026-03", dt.date(2026, 4, 3)) is None


# --- since: not expected before the first period ---------------------------------------------------

def test_months_before_since_are_not_expected_and_not_started_feeds_are_not_missing(s, tmp_path):
    from pipelines.report import write_report

    refs(s)
    for period, date in (("2025-11", "2025-12-03"), ("2025-12", "2026-01-03"), ("2026-01", "2026-02-03")):
        fx.deliver_feed(s.landing, "hrss_employment", date, period)
    fx.deliver_feed(s.landing, "mca_econ_checks", "2026-02-05", "2026-01")
    night(s, "2025-12-20")
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        status = dict(con.execute("select feed_id, freshness_status from ops.feed_status(?)",
                                  [dt.date(2025, 12, 20)]).fetchall())
        path = write_report(con, tmp_path / "outbox", dt.date(2025, 12, 20))
    finally:
        con.close()
    assert status["mca_econ_checks"] == status["moa_relapse_watch"] == "not_started"
    assert status["hrss_employment"] == "ok" and status["mca_roster"] == "missing"
    html = path.read_text(encoding="utf-8")
    rows = {feed: st for st, feed in re.findall(r'<tr data-status="(\w+)"><td>[^<]*<code>(\w+)</code>', html)}
    assert rows["mca_econ_checks"] == rows["moa_relapse_watch"] == "not_started" and "未开始" in html
    assert "delivered from 2026-01" in html and "daily from 2026-04" in html and "2 files per delivery" in html
    night(s, "2026-02-10")
    econ, moa = completeness(s, "mca_econ_checks"), completeness(s, "moa_relapse_watch")
    assert econ == {"2025-11": ("not_expected", None), "2025-12": ("not_expected", None),
                    "2026-01": ("loaded", "mca_econ_checks/2026-02-05")}
    assert moa == {"2025-11": ("not_expected", None), "2025-12": ("not_expected", None), "2026-01": ("missing", None)}
    assert completeness(s, "mca_roster")["2025-11"] == ("missing", None)  # a v1 feed: expected from the start
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        status = dict(con.execute("select feed_id, freshness_status from ops.feed_status(?)",
                                  [dt.date(2026, 2, 10)]).fetchall())
    finally:
        con.close()
    assert status["moa_relapse_watch"] == "missing" and status["mca_econ_checks"] == "ok"
