"""A small restricted warehouse with the contract tables the analyst database and the report read.

Written by hand (seeded), independent of the synthetic province generator, so the analyst and
report tests run before the rest of the pipeline exists. It deliberately carries everything the
analyst database must NOT: 身份证号, full names, birth dates, family ids that contain 18 digits,
hukou numbers, explanations and feedback notes that quote names and ids, error messages that
quote a rejected id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.dates import month_end, shift_period
from pipelines.warehouse import migrate

from pipelines.ids import check_char

CST = dt.timezone(dt.timedelta(hours=8))
COUNTIES = {"110101": "东城区", "110102": "西城区", "110105": "朝阳区"}
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "欧阳", "司马"]
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
         "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "晓东", "玉珍", "子涵", "雨桐"]
CATEGORIES = ["dibao", "tekun", "edge"]
SEVERITY_DAYS = {"urgent": 3, "high": 7, "medium": 15, "low": 30}
INDICATOR_DEPTS = {
    "INC_DROP": (["MCA", "HRSS"], "high"),
    "EXP_MED": (["NHSA", "MCA"], "high"),
    "EXP_EDU": (["MOE"], "medium"),
    "DISASTER": (["MEM", "MOHURD"], "urgent"),
    "POP_DEATH": (["MCA"], "medium"),
    "ELIG_DIBAO": (["MCA"], "high"),
    "REVIEW_OVERDUE": (["MCA"], "low"),
}
FEEDS = ["mca_roster", "hrss_employment", "nhsa_claims", "moe_students", "mps_hukou_members",
         "mps_vehicles", "cdpf_disability", "bank_deposits", "grid_visits", "ref_standards"]


@dataclass
class Fixture:
    warehouse: Path
    as_of: dt.date
    periods: list[str]
    names: set[str] = field(default_factory=set)
    person_ids: set[str] = field(default_factory=set)
    family_ids: set[str] = field(default_factory=set)
    hukou_nos: set[str] = field(default_factory=set)


def _months(start: str, n: int) -> list[str]:
    return [shift_period(start, k) for k in range(n)]


_month_end = month_end


def _person_id(rng: random.Random, county: str, birth: dt.date) -> str:
    body = f"{county}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    pid = body + check_char(body)
    if rng.random() < 0.1:
        pid = pid.lower()  # some systems send a lowercase x; most ids have none
    return pid.upper()


def _night(period: str, hour: int = 2) -> dt.datetime:
    """The logical time of the night after the period's deliveries (the 8th of the next month)."""
    y, m = map(int, period.split("-"))
    y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return dt.datetime(y, m, 8, hour, 0, tzinfo=CST)


DDL = """
create schema if not exists ops; create schema if not exists core; create schema if not exists mart;
create schema if not exists staging;
create or replace table ops.deliveries (delivery_id varchar, feed_id varchar, period varchar, folder varchar,
    delivery_date date, produced_at timestamptz, files json, rows bigint, status varchar, errors json,
    warnings json, first_seen_at timestamptz, status_at timestamptz, superseded_by varchar, delivery_kind varchar,
    manifest_sha256 varchar, as_of date, retry boolean);
create or replace table core.person_month (period varchar, person_id varchar, household_id varchar,
    family_id varchar, hukou_no varchar, on_roster boolean, category varchar, region_code varchar,
    county_code varchar, city_code varchar, urban_rural varchar, relation varchar, birth_date date, name varchar);
create or replace table core.household_month (period varchar, household_id varchar, family_id varchar,
    hukou_no varchar, on_roster boolean, category varchar, county_code varchar, city_code varchar,
    urban_rural varchar, size integer, head_person_id varchar, income_yuan decimal(14,2), income_known boolean,
    oop_yuan decimal(14,2), edu_cost_yuan decimal(14,2), dibao_std_yuan decimal(14,2), tekun_std_yuan decimal(14,2));
create or replace table mart.warnings (warning_id varchar, indicator_code varchar, severity varchar,
    period varchar, family_id varchar, hukou_no varchar, person_id varchar, county_code varchar,
    departments varchar[], evidence json, explanation varchar, case_id varchar, raised_at timestamptz,
    household_id varchar);
create or replace table mart.cases (case_id varchar, household_id varchar, family_id varchar, hukou_no varchar,
    person_id varchar, indicator_code varchar, severity varchar, county_code varchar, departments varchar[],
    status varchar, opened_period varchar, last_period varchar, opened_at timestamptz, dispatched_at timestamptz,
    due_at timestamptz, deadline_days integer, last_warning_id varchar, explanation varchar,
    dispatch_round integer default 1, awaiting_feedback boolean default false, last_feedback_on date,
    escalated boolean default false, escalated_at timestamptz, closed_at timestamptz, previous_case_id varchar,
    updated_at timestamptz, office_region varchar, department_status struct(department varchar,
    office_code varchar, status varchar, awaiting_feedback boolean, last_feedback_on date)[]);
create or replace table mart.case_events (case_id varchar, seq integer, "at" timestamptz, actor varchar,
    from_status varchar, to_status varchar, action varchar, detail json, source varchar);
create or replace table staging.mca_roster (snapshot_month varchar, family_id varchar, person_id varchar,
    name varchar, birth_date date, region_code varchar, category varchar, delivery_id varchar, period varchar);
create or replace table staging.ref_regions (region_code varchar, name varchar, level varchar,
    parent_code varchar, delivery_id varchar, period varchar);
"""


LEDGER_COLUMNS = ["delivery_id", "feed_id", "period", "folder", "delivery_date", "produced_at", "files", "rows", "status",
                  "errors", "warnings", "first_seen_at", "status_at", "superseded_by"]  # delivery_kind: null


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple], columns: list[str] | None = None) -> None:
    """Bulk insert through Arrow (executemany is slow); by position, or by name when columns are given."""
    if not rows:
        return
    data = list(zip(*rows))
    names = columns or [f"c{i}" for i in range(len(data))]
    con.register("_rows", pa.table({n: pa.array(list(col)) for n, col in zip(names, data)}))
    con.execute(f"insert into {table} {'by name ' if columns else ''}select * from _rows")
    con.unregister("_rows")


def build_restricted_warehouse(path: Path, *, households: int = 30, months: int = 6, start: str = "2025-10",
                               seed: int = 7, extra_warnings: int = 0) -> Fixture:
    """Write the fixture warehouse to ``path`` (replacing it) and return what it holds."""
    rng = random.Random(seed)
    periods = _months(start, months)
    as_of = _month_end(periods[-1]) + dt.timedelta(days=10)
    fx = Fixture(warehouse=Path(path), as_of=as_of, periods=periods)
    Path(path).unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    migrate(con)  # the real schema (ops.feeds, ops.feed_status, views), then the contract tables over it
    con.execute(DDL)

    # Reference regions, down to villages (the analyst database keeps only down to towns).
    regions = [("110000000000", "北京市", "province", None), ("110100000000", "市辖区", "city", "110000000000")]
    for county, cname in COUNTIES.items():
        regions.append((county + "000000", cname, "county", "110100000000"))
        for t in (1, 2):
            town = f"{county}{t:03d}"
            regions.append((town + "000", f"{cname}第{t}街道", "town", county + "000000"))
            regions.append((town + "001", f"{cname}第{t}社区居委会", "village", town + "000"))
            regions.append((town + "201", f"{cname}第{t}村委会", "village", town + "000"))
    _insert(con, "staging.ref_regions", [r + ("ref_regions/2025-09-01", "2025-09") for r in regions])

    # Households and members.
    hh = []
    used_names: set[str] = set()
    for h in range(households):
        county = list(COUNTIES)[h % 3]
        urban = h % 2 == 0
        village = f"{county}{1 + h % 2:03d}{'001' if urban else '201'}"
        on_roster = h < households * 2 // 3
        family_id = f"F{village}{h + 1:06d}" if on_roster else None
        hukou_no = str(300000000 + h * 137)
        members = []
        for k in range(rng.randint(1, 4)):
            while True:
                name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.3 else "")
                if name not in used_names:
                    used_names.add(name)
                    break
            birth = dt.date(rng.randint(1940, 2020), rng.randint(1, 12), rng.randint(1, 28))
            pid = _person_id(rng, county, birth)
            members.append({"person_id": pid, "name": name, "birth": birth, "relation": "head" if k == 0 else "member"})
            fx.names.add(name)
            fx.person_ids.add(pid)
        fx.hukou_nos.add(hukou_no)
        if family_id:
            fx.family_ids.add(family_id)
        hh.append({"h": h, "county": county, "village": village, "urban": urban, "on_roster": on_roster,
                   "family_id": family_id, "hukou_no": hukou_no, "members": members,
                   "category": CATEGORIES[h % 3] if on_roster else None,
                   "household_id": family_id or "H" + hukou_no, "base_income": rng.choice([0, 800, 1500, 2600, 4200])})

    # Roster movements: household 0 edge -> dibao from month 3; the last roster family leaves in month 4;
    # the first non-roster household joins the roster (as edge) from month 2.
    def state(hd: dict, i: int) -> tuple[bool, str | None]:
        last_roster = households * 2 // 3 - 1
        if hd["h"] == 2 and i >= 2:
            return True, "dibao"
        if hd["h"] == last_roster and i >= 4:
            return False, None
        if hd["h"] == last_roster + 1 and i >= 2:
            return True, "edge"
        return hd["on_roster"], hd["category"]

    pm_rows, hm_rows, roster_rows, am_rows = [], [], [], []
    for i, period in enumerate(periods):
        for hd in hh:
            on_roster, category = state(hd, i)
            household_id = hd["household_id"]
            family_id = hd["family_id"] if on_roster or hd["family_id"] else None
            for m in hd["members"]:
                pm_rows.append((period, m["person_id"], household_id, family_id, hd["hukou_no"], on_roster, category,
                                hd["village"], hd["county"], hd["county"][:4], "urban" if hd["urban"] else "rural",
                                m["relation"], m["birth"], m["name"]))
                if on_roster:
                    roster_rows.append((period, family_id, m["person_id"], m["name"], m["birth"], hd["village"],
                                        category, f"mca_roster/{period}-05", period))
            # the assistance chain: the roster benefit of 低保/特困 families, medical aid now and then
            if on_roster and category in ("dibao", "tekun"):
                am_rows.append((period, household_id, category, "MCA", "mca_roster", 1, 500.0 * len(hd["members"]),
                                len(hd["members"]), None, [f"mca_roster/{period}-05"]))
            if hd["h"] % 4 == 0 and i % 2 == 0:
                am_rows.append((period, household_id, "medical_aid", "NHSA", "nhsa_claims", 1, 1234.5, 1,
                                [f"S{hd['h']}-{i}"], [f"nhsa_claims/{period}-05"]))
            income_known = not (i == 3)  # the HRSS delivery for month 4 was rejected
            income = hd["base_income"] * len(hd["members"]) * (0.4 if (hd["h"] % 5 == 1 and i >= 4) else 1.0)
            std = 1100 if hd["urban"] else 900
            hm_rows.append((period, household_id, family_id, hd["hukou_no"], on_roster, category, hd["county"],
                            hd["county"][:4], "urban" if hd["urban"] else "rural", len(hd["members"]),
                            hd["members"][0]["person_id"], round(income, 2) if income_known else None, income_known,
                            round(rng.choice([0, 0, 120.5, 860.0, 6400.0]), 2), 0, std, round(std * 1.3, 2)))
    _insert(con, "core.person_month", pm_rows)
    _insert(con, "core.household_month", hm_rows)
    _insert(con, "staging.mca_roster", roster_rows)
    _insert(con, "core.assistance_month", am_rows,
            columns=["period", "household_id", "kind", "department", "feed_id", "payments", "amount_yuan", "persons",
                     "source_ids", "delivery_ids"])

    # Warnings, cases and case events.
    codes = list(INDICATOR_DEPTS)
    warnings, cases, events = [], {}, []
    n_warn = 2 * months + extra_warnings
    for k in range(n_warn):
        period = periods[min(months - 1, k // 2)] if k < 2 * months else periods[-1]
        hd = hh[rng.randrange(households)]
        code = codes[k % len(codes)]
        depts, severity = INDICATOR_DEPTS[code]
        head = hd["members"][0]
        other = hd["members"][-1]
        household_id = hd["household_id"]
        warning_id = "W-" + hashlib.sha256(f"{code}|{household_id}|{period}|{severity}".encode()).hexdigest()[:16]
        case_id = "C-" + hashlib.sha256(f"{code}|{household_id}".encode()).hexdigest()[:12]
        ref = f"家庭编号{hd['family_id']}" if hd["family_id"] else f"户号{hd['hukou_no']}"
        explanation = (f"{head['name']}（身份证号{head['person_id']}）家，{ref}，成员{other['name']}：本月家庭收入"
                       f"{hd['base_income']}元，低于前6个月中位数的70%，人均降幅不低于低保标准的20%。"
                       f"联系电话13812345678。")
        evidence = {"household_id": household_id, "person_id": head["person_id"], "family_id": hd["family_id"],
                    "hukou_no": hd["hukou_no"], "baseline_yuan": 3000, "income_yuan": hd["base_income"],
                    "threshold_ratio": 0.7, "member_names": [head["name"], other["name"]],
                    "source_records": [{"settle_id": f"S{rng.randrange(10**12):012d}", "oop_yuan": 6400.0,
                                        "person_id": other["person_id"], "settle_date": f"{period}-12"}],
                    "note": f"户主{head['name']}，证件{head['person_id']}"}
        raised_at = _night(period)
        warnings.append((warning_id, code, severity, period, hd["family_id"], None if hd["family_id"] else hd["hukou_no"],
                         head["person_id"], hd["county"], depts, json.dumps(evidence, ensure_ascii=False),
                         explanation, case_id, raised_at, household_id))
        if case_id in cases:
            cases[case_id]["last_warning_id"] = warning_id
            continue
        opened = raised_at
        dispatched = opened + dt.timedelta(minutes=30)
        due = dispatched + dt.timedelta(days=SEVERITY_DAYS[severity])
        outcome = rng.choice(["open", "dispatched", "accepted", "verified", "not_verified", "assisted", "ineligible"])
        # Steps as pipelines/cases.py, dispatch.py and feedback.py write them (actions, actors, sources).
        trail = [(opened, "system", None, "open", "opened",
                  {"warning_id": warning_id, "period": period, "severity": severity}, "warning")]
        if outcome != "open":
            trail.append((dispatched, "system", "open", "dispatched", "dispatched",
                          {"department": depts[0], "county": hd["county"],
                           "extract": f"outbox/{depts[0]}/{hd['county']}/{dispatched.date()}"}, "dispatch"))
        path = {"accepted": ["accepted"], "verified": ["accepted", "verified"], "not_verified": ["accepted", "not_verified"],
                "assisted": ["accepted", "verified", "assisted"], "ineligible": ["accepted", "ineligible"]}.get(outcome, [])
        status = "open" if outcome == "open" else "dispatched"
        t = dispatched
        for to in path:
            t = dt.datetime.combine((t + dt.timedelta(days=rng.randint(1, 6))).date(), dt.time(0), CST)
            note = f"已入户核实，{head['name']}家确有困难，联系人{other['name']}" if to in ("verified", "assisted") else "核实中"
            trail.append((t, f"王小明@{depts[0]}", status, to, to,
                          {"action": to, "amount_yuan": 500 if to == "assisted" else None, "note": note,
                           "handler": "王小明", "file": f"feedback/{depts[0]}/{t.date()}/feedback.csv", "line": 3},
                          "feedback"))
            status = to
        escalated = status in ("dispatched", "accepted") and due < dt.datetime.combine(as_of, dt.time(2), CST)
        if escalated:
            trail.append((_night(periods[-1]), "system", status, status, "escalated",
                          {"to": "MCA", "county": hd["county"]}, "escalation"))
        for seq, (at, actor, frm, to, action, detail, source) in enumerate(trail, 1):
            events.append((case_id, seq, at, actor, frm, to, action, json.dumps(detail, ensure_ascii=False), source))
        cases[case_id] = {"case_id": case_id, "household_id": household_id, "family_id": hd["family_id"],
                          "hukou_no": hd["hukou_no"], "person_id": head["person_id"], "indicator_code": code,
                          "severity": severity, "county_code": hd["county"], "departments": depts, "status": status,
                          "opened_period": period, "last_period": period, "opened_at": opened,
                          "dispatched_at": None if outcome == "open" else dispatched,
                          "due_at": None if outcome == "open" else due, "deadline_days": SEVERITY_DAYS[severity],
                          "last_warning_id": warning_id, "explanation": explanation,
                          "escalated": escalated, "closed_at": t if status in ("assisted", "ineligible") else None}
    _insert(con, "mart.warnings", warnings)
    _insert(con, "mart.cases", [tuple(c.values()) for c in cases.values()], columns=list(next(iter(cases.values()))))
    _insert(con, "mart.case_events", events)
    # what was sent to which office (pipelines/dispatch.py): every dispatched case, to each of its departments
    con.execute("""insert into mart.case_dispatches
                   select case_id, unnest(departments), county_code, 'new', 1, cast(timezone('Asia/Shanghai', dispatched_at) as date),
                          dispatched_at, due_at, 'outbox/' || departments[1] || '/' || county_code, '{}'
                   from mart.cases where dispatched_at is not null""")

    # The delivery ledger: mostly loaded; HRSS month 4 rejected then corrected; NHSA's latest rejected;
    # vehicles stop after month 3 (stale); a CDPF folder still waiting; grid visits daily.
    deliveries = []
    some_id = next(iter(sorted(fx.person_ids)))
    for feed in FEEDS:
        for i, period in enumerate(periods):
            if feed == "mps_vehicles" and i > 2:
                continue
            if feed in ("bank_deposits",) and i % 3 != 0:
                continue
            if feed == "moe_students" and period[-2:] not in ("09", "03"):
                continue
            if feed == "ref_standards" and i > 0:
                continue
            y, m = map(int, period.split("-"))
            ddate = dt.date(y + (m == 12), m % 12 + 1, 3)
            status, errors, superseded_by = "loaded", [], None
            if feed == "hrss_employment" and i == 3:
                status, superseded_by = "rejected", None
                errors = [{"file": "emp.csv", "row": 17, "field": "person_id", "check": "id_check_character",
                           "message": f"身份证号 {some_id[:17]}0 check character wrong"}]
            if feed == "nhsa_claims" and i == months - 1:
                status = "rejected"
                errors = [{"file": "claims.parquet", "row": None, "field": None, "check": "row_count",
                           "message": "manifest says 1200 rows, file has 1180"}]
            delivery_id = f"{feed}/{ddate.isoformat()}"
            ts = dt.datetime.combine(ddate, dt.time(1, 12), CST)
            deliveries.append((delivery_id, feed, period, f"/srv/landing/{delivery_id}", ddate, ts,
                               json.dumps([{"name": f"{feed}.csv", "rows": 100 + i, "sha256": "0" * 64, "bytes": 4096}]),
                               100 + i if status == "loaded" else 0, status, json.dumps(errors, ensure_ascii=False),
                               json.dumps([]), ts + dt.timedelta(hours=12), ts + dt.timedelta(hours=13), superseded_by))
        if feed == "cdpf_disability":
            ddate = as_of - dt.timedelta(days=1)
            deliveries.append((f"{feed}/{ddate.isoformat()}", feed, periods[-1], "/srv/landing/x", ddate, None, None,
                               None, "waiting", None, None, None, None, None))
    # HRSS correction for month 4, loaded a week later.
    y, m = map(int, periods[3].split("-"))
    corr = dt.date(y + (m == 12), m % 12 + 1, 10)
    deliveries.append((f"hrss_employment/{corr.isoformat()}", "hrss_employment", periods[3], "/srv/x", corr,
                       dt.datetime.combine(corr, dt.time(1), CST), json.dumps([]), 103, "loaded", json.dumps([]),
                       json.dumps([]), None, None, None))
    _insert(con, "ops.deliveries", deliveries, columns=LEDGER_COLUMNS)
    con.execute("checkpoint")
    con.close()
    return fx


def analyst_tables(path: Path) -> dict[str, list[tuple]]:
    """Every table of an analyst database but build_info (when and how it was built), as sorted rows
    of text: two builds that wrote the same data compare equal."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database()").fetchall()]
        return {t: sorted(con.execute(f'select columns(*)::varchar from "{t}"').fetchall(), key=repr)
                for t in names if t != "build_info"}
    finally:
        con.close()
