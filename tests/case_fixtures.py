"""A small hand-built warehouse for the case, dispatch and feedback tests.

The real schema (pipelines.warehouse.migrate); ``mart.warnings`` rows are inserted by hand: the
indicators stage is not needed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb

from pipelines.config import Settings
from pipelines.warehouse import connect, migrate

# Two counties (330102, 330103), households on and off the roster.
PEOPLE = {
    # person_id (身份证号, valid check characters)  name, household, family_id, hukou_no, county
    "330102198001010018": ("张三", "F001", "F001", "HK001", "330102"),
    "33010219850202002X": ("李四", "F002", "F002", "HK002", "330102"),
    "330103197003030030": ("王五", "F003", "F003", "HK003", "330103"),
    "330103199004040045": ("=HYPERLINK(\"http://x\")", "HHK004", None, "HK004", "330103"),
}


def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    settings = Settings(warehouse=tmp_path / "w.duckdb", duckdb_threads=1, duckdb_memory_limit="512MB")
    con = connect(settings)
    migrate(con)
    # core.person_month rows so dispatch can put names on the key persons.
    for pid, (name, hh, fam, hk, county) in PEOPLE.items():
        con.execute("insert into core.person_month (period, person_id, household_id, family_id, hukou_no, "
                    "on_roster, county_code, name) values ('2026-01', ?, ?, ?, ?, ?, ?, ?)",
                    [pid, hh, fam, hk, fam is not None, county, name])
    return con


def person_of(household_id: str) -> str:
    return next(pid for pid, v in PEOPLE.items() if v[1] == household_id)


def add_warning(con: duckdb.DuckDBPyConnection, household_id: str, indicator: str, severity: str,
                period: str, departments: list[str], explanation: str | None = None,
                county: str | None = None, office_region: str | None = None) -> str:
    """A warning of the household; ``office_region`` (12 digits) is the region whose offices act
    (None: only the county is known, every office is the county's)."""
    pid = person_of(household_id)
    name, hh, fam, hk, home_county = PEOPLE[pid]
    wid = "W-" + hashlib.sha256(f"{indicator}|{household_id}|{period}|{severity}".encode()).hexdigest()[:16]
    con.execute(
        "insert into mart.warnings (warning_id, indicator_code, severity, period, family_id, hukou_no, person_id, "
        "county_code, departments, evidence, explanation, case_id, raised_at, household_id, office_region) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, ?, ?, ?)",
        [wid, indicator, severity, period, fam, hk, pid, county or home_county, departments,
         json.dumps({"secret_evidence": "bank balance 123456"}),
         explanation or f"{indicator} {period}: 家庭 {household_id} 触发预警 (test)",
         dt.datetime(2026, 1, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=8))), hh, office_region],
    )
    return wid


def add_regions(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, str, str | None]]) -> None:
    """A region list in force (staging.ref_regions): (12-digit code, name, level, parent)."""
    con.executemany("insert into staging.ref_regions (region_code, name, level, parent_code, delivery_id, period) "
                    "values (?, ?, ?, ?, 'ref_regions/2026-01-01', '2026-01')", rows)


def case_rows(con: duckdb.DuckDBPyConnection, where: str = "true") -> list[dict]:
    cols = ["case_id", "household_id", "indicator_code", "severity", "status", "county_code", "departments",
            "opened_period", "last_period", "dispatch_round", "escalated", "awaiting_feedback",
            "previous_case_id"]
    rows = con.execute(f"select {', '.join(cols)} from mart.cases where {where} order by case_id").fetchall()
    return [dict(zip(cols, r)) for r in rows]


def events_of(con: duckdb.DuckDBPyConnection, case_id: str) -> list[tuple]:
    return con.execute(
        "select seq, action, from_status, to_status, actor from mart.case_events where case_id = ? order by seq",
        [case_id]).fetchall()
