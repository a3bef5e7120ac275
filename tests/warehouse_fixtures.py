"""A small hand-built warehouse for the core and indicator tests.

The staging tables are created here with exactly the contract columns of docs/architecture.md
(plus delivery_id, period, _file, _row), and ``ops.deliveries`` / ``ops.completeness`` in a minimal
form with the contract columns: the ingest's real DDL is not needed, and a change to it that
breaks the contract breaks these tests only through the contract.

Usage::

    p = Province(con, months=month_range("2026-01", "2026-07"))
    p.standard("3301", "urban", dibao=1000, tekun=1300)
    fam = p.family("F330102001001000001", "330102001001", "dibao", [
        p.person("张三", "head", income=4000), p.person("李四", "spouse")])
    p.load()        # one loaded delivery per feed and month, and every row written so far
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import duckdb

from pipelines.ids import check_char
from pipelines.dates import shift_period
from pipelines.warehouse import migrate

STAGING_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "mca_roster": [("snapshot_month", "varchar"), ("family_id", "varchar"), ("person_id", "varchar"),
                   ("name", "varchar"), ("gender", "varchar"), ("birth_date", "date"), ("relation", "varchar"),
                   ("region_code", "varchar"), ("urban_rural", "varchar"), ("category", "varchar"),
                   ("enrolled_date", "date"), ("monthly_benefit_yuan", "decimal(14,2)"),
                   ("last_econ_check_date", "date"), ("last_home_visit_date", "date")],
    "hrss_employment": [("month", "varchar"), ("person_id", "varchar"), ("employment_status", "varchar"),
                        ("employer_code", "varchar"), ("contribution_base_yuan", "decimal(14,2)"),
                        ("unemployment_benefit_yuan", "decimal(14,2)"), ("pension_yuan", "decimal(14,2)")],
    "nhsa_claims": [("settle_id", "varchar"), ("person_id", "varchar"), ("settle_date", "date"),
                    ("visit_type", "varchar"), ("catastrophic", "boolean"), ("total_yuan", "decimal(14,2)"),
                    ("fund_yuan", "decimal(14,2)"), ("critical_illness_yuan", "decimal(14,2)"),
                    ("medical_aid_yuan", "decimal(14,2)"), ("oop_yuan", "decimal(14,2)"), ("reversal_of", "varchar")],
    "moe_students": [("term", "varchar"), ("person_id", "varchar"), ("stage", "varchar"),
                     ("tuition_yuan", "decimal(14,2)"), ("boarding_yuan", "decimal(14,2)"), ("aid_yuan", "decimal(14,2)")],
    "mohurd_housing": [("as_of", "date"), ("person_id", "varchar"), ("property_count", "integer"),
                       ("property_area_m2", "decimal(14,2)"), ("public_rental", "boolean"),
                       ("dilapidated_level", "varchar")],
    "samr_business": [("credit_code", "varchar"), ("person_id", "varchar"), ("role", "varchar"),
                      ("entity_type", "varchar"), ("registered_capital_yuan", "decimal(14,2)"),
                      ("status", "varchar"), ("event_date", "date")],
    "mps_hukou_events": [("event_id", "varchar"), ("person_id", "varchar"), ("hukou_no", "varchar"),
                         ("event_type", "varchar"), ("event_date", "date"), ("region_code", "varchar")],
    "mps_hukou_members": [("person_id", "varchar"), ("hukou_no", "varchar"), ("region_code", "varchar"),
                          ("as_of", "date")],
    "mps_vehicles": [("person_id", "varchar"), ("vehicle_class", "varchar"), ("first_registered", "date"),
                     ("event", "varchar"), ("event_date", "date")],
    "cdpf_disability": [("person_id", "varchar"), ("disability_type", "varchar"), ("disability_grade", "integer"),
                        ("issued_on", "date"), ("cert_status", "varchar"), ("living_subsidy", "boolean"),
                        ("nursing_subsidy", "boolean")],
    "mem_disaster": [("disaster_id", "varchar"), ("disaster_type", "varchar"), ("occurred_on", "date"),
                     ("person_id", "varchar"), ("region_code", "varchar"), ("house_damage", "varchar"),
                     ("loss_yuan", "decimal(14,2)"), ("emergency_aid_yuan", "decimal(14,2)"), ("status", "varchar")],
    "bank_deposits": [("as_of", "date"), ("person_id", "varchar"), ("deposits_yuan", "decimal(14,2)"),
                      ("securities_yuan", "decimal(14,2)")],
    "grid_visits": [("visit_id", "varchar"), ("family_id", "varchar"), ("hukou_no", "varchar"),
                    ("visit_date", "date"), ("visitor_role", "varchar"), ("findings", "varchar[]"), ("note", "varchar"),
                    ("person_id", "varchar"), ("region_code", "varchar")],
    "mca_econ_checks": [("check_id", "varchar"), ("check_date", "date"), ("reason", "varchar"),
                        ("family_id", "varchar"), ("hukou_no", "varchar"), ("applicant_id", "varchar"),
                        ("region_code", "varchar"), ("urban_rural", "varchar"), ("household_size", "integer"),
                        ("income_basis", "varchar"), ("monthly_income_yuan", "decimal(14,2)"),
                        ("financial_assets_yuan", "decimal(14,2)"), ("vehicles", "integer"), ("properties", "integer"),
                        ("outcome", "varchar")],
    "moa_relapse_watch": [("watch_id", "varchar"), ("head_person_id", "varchar"), ("hukou_no", "varchar"),
                          ("region_code", "varchar"), ("watch_type", "varchar"), ("risk_types", "varchar[]"),
                          ("household_size", "integer"), ("income_year", "integer"),
                          ("net_income_per_capita_yuan", "decimal(14,2)"),
                          ("transfer_income_per_capita_yuan", "decimal(14,2)"), ("identified_on", "date"),
                          ("risk_eliminated", "boolean")],
    "ref_regions": [("region_code", "varchar"), ("name", "varchar"), ("level", "varchar"), ("parent_code", "varchar")],
    "ref_standards": [("city_code", "varchar"), ("year", "integer"), ("urban_rural", "varchar"),
                      ("dibao_monthly_yuan", "decimal(14,2)"), ("tekun_monthly_yuan", "decimal(14,2)")],
}

# How many months one delivery covers (ops.completeness): quarterly 3, term 6, reference: all later.
MONTHLY = ("mca_roster", "hrss_employment", "nhsa_claims", "samr_business", "mps_hukou_events",
           "mps_hukou_members", "mps_vehicles", "cdpf_disability", "mem_disaster", "mca_econ_checks",
           "moa_relapse_watch", "grid_visits")   # grid_visits comes daily: here one delivery a month


def month_range(first: str, last: str) -> list[str]:
    out, p = [], first
    while p <= last:
        out.append(p)
        p = shift(p, 1)
    return out


shift = shift_period


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def create_staging(con: duckdb.DuckDBPyConnection) -> None:
    """The real warehouse schema (staging, ops.deliveries, ops.completeness, core ...)."""
    migrate(con)


def create_ops(con: duckdb.DuckDBPyConnection) -> None:
    migrate(con)


_SEQ = itertools.count(1)


def make_person_id(birth: str = "19800101", region6: str = "330102") -> str:
    body = f"{region6}{birth}{next(_SEQ) % 1000:03d}"
    return body + check_char(body)


@dataclass
class Person:
    person_id: str
    name: str | None
    relation: str | None
    birth: str
    income: float | None = None          # contribution base (employed) each month unless overridden
    status: str = "employed"
    by_month: dict = field(default_factory=dict)  # period -> (status, base, unemployment, pension) or None


@dataclass
class Household:
    household_id: str
    family_id: str | None
    hukou_no: str
    region_code: str
    category: str | None
    members: list[Person]
    months: list[str]


class Province:
    """Collects staging rows in memory, then :meth:`load` writes them with their deliveries."""

    def __init__(self, con: duckdb.DuckDBPyConnection, months: list[str]):
        self.con = con
        self.months = months
        self.rows: dict[tuple[str, str], list[dict]] = {}
        self.status: dict[tuple[str, str], str] = {}     # (feed, period) -> loaded/rejected/missing
        self.versions: dict[tuple[str, str], int] = {}
        self.kinds: dict[tuple[str, str], str] = {}      # (feed, period) -> ops.deliveries.delivery_kind
        self.households: list[Household] = []
        self._hukou = itertools.count(330102000001)
        create_staging(con)
        create_ops(con)

    # --- people ---------------------------------------------------------------------------------
    def person(self, name: str | None, relation: str | None = None, income: float | None = None,
               birth: str = "19800101", status: str = "employed") -> Person:
        return Person(make_person_id(birth), name, relation, birth, income, status)

    def family(self, family_id: str, region_code: str, category: str, members: list[Person],
               months: list[str] | None = None, hukou_no: str | None = None, benefit: float = 500,
               enrolled: str = "2025-06-01", econ_check: str | None = "2026-03-01",
               home_visit: str | None = "2026-03-01", urban_rural: str = "urban") -> Household:
        """A roster family: roster rows, hukou member rows and HRSS rows for each of its months."""
        hh = Household(family_id, family_id, hukou_no or str(next(self._hukou)), region_code, category,
                       members, months or self.months)
        for period in hh.months:
            for p in members:
                self.add("mca_roster", period, snapshot_month=period, family_id=family_id, person_id=p.person_id,
                         name=p.name, gender="M", birth_date=d(f"{p.birth[:4]}-{p.birth[4:6]}-{p.birth[6:]}"),
                         relation=p.relation, region_code=region_code, urban_rural=urban_rural, category=category,
                         enrolled_date=d(enrolled) if enrolled else None, monthly_benefit_yuan=benefit,
                         last_econ_check_date=d(econ_check) if econ_check else None,
                         last_home_visit_date=d(home_visit) if home_visit else None)
                self.add("mps_hukou_members", period, person_id=p.person_id, hukou_no=hh.hukou_no,
                         region_code=region_code, as_of=d(period + "-28"))
        self._incomes(hh)
        self.households.append(hh)
        return hh

    def resident_household(self, region_code: str, members: list[Person], months: list[str] | None = None,
                           hukou_no: str | None = None) -> Household:
        """A household not on the roster: hukou member rows and HRSS rows."""
        hk = hukou_no or str(next(self._hukou))
        hh = Household("H" + hk, None, hk, region_code, None, members, months or self.months)
        for period in hh.months:
            for p in members:
                self.add("mps_hukou_members", period, person_id=p.person_id, hukou_no=hk,
                         region_code=region_code, as_of=d(period + "-28"))
        self._incomes(hh)
        self.households.append(hh)
        return hh

    def _incomes(self, hh: Household) -> None:
        for period in hh.months:
            for p in hh.members:
                spec = p.by_month.get(period, "default")
                if spec == "default":
                    if p.income is None:
                        continue
                    spec = (p.status, p.income, 0, 0)
                if spec is None:
                    continue
                status, base, unemp, pension = spec
                self.add("hrss_employment", period, month=period, person_id=p.person_id, employment_status=status,
                         employer_code=None, contribution_base_yuan=base, unemployment_benefit_yuan=unemp,
                         pension_yuan=pension)

    # --- generic --------------------------------------------------------------------------------
    def add(self, feed: str, period: str, **row) -> None:
        cols = {c for c, _ in STAGING_COLUMNS[feed]}
        unknown = set(row) - cols
        if unknown:
            raise KeyError(f"{feed}: not contract columns: {sorted(unknown)}")
        self.rows.setdefault((feed, period), []).append(row)

    def standard(self, city: str, urban_rural: str, dibao: float, tekun: float, year: int = 2026,
                 valid_from: str | None = None) -> None:
        self.add("ref_standards", valid_from or self.months[0], city_code=city, year=year, urban_rural=urban_rural,
                 dibao_monthly_yuan=dibao, tekun_monthly_yuan=tekun)

    def reject(self, feed: str, period: str) -> None:
        """The only delivery of the feed for the month was rejected: none of its rows are loaded."""
        self.status[(feed, period)] = "rejected"

    def missing(self, feed: str, period: str) -> None:
        self.status[(feed, period)] = "missing"

    @staticmethod
    def delivery_id(feed: str, period: str, version: int = 1) -> str:
        return f"{feed}/{shift(period, 1)}-{2 + version:02d}"

    # --- writing --------------------------------------------------------------------------------
    def _periods(self, feed: str) -> list[str]:
        if feed == "ref_standards":
            return sorted({p for (f, p) in self.rows if f == feed})
        if feed in ("mohurd_housing", "bank_deposits"):
            return [m for m in self.months if int(m[5:7]) in (1, 4, 7, 10)] or self.months[:1]
        if feed == "moe_students":
            return [m for m in self.months if int(m[5:7]) in (3, 9)]
        if feed in MONTHLY:
            return list(self.months)
        return []

    def load(self) -> None:
        """Write a delivery for every feed and month (loaded unless rejected/missing) and its rows."""
        for feed in STAGING_COLUMNS:
            for period in self._periods(feed):
                self.deliver(feed, period, self.rows.get((feed, period), []), self.status.get((feed, period), "loaded"))

    def deliver(self, feed: str, period: str, rows: list[dict], status: str = "loaded",
                on: str | None = None, additive: bool = False) -> str:
        """One delivery of ``feed`` for ``period``; a newer delivery replaces the older (as the ingest does).

        ``on``: the folder date (default: the 3rd of the next month; mem_disaster from 2026-04 the 6th).
        ``additive``: a daily delivery (mem_disaster from 2026-04, grid_visits) that adds to the
        period's rows instead of replacing them."""
        con = self.con
        if status == "missing":
            return ""
        version = self.versions.get((feed, period), 0) + 1
        self.versions[(feed, period)] = version
        # a daily month of mem_disaster (catalog v2, from 2026-04) is complete once a delivery dated after
        # the 5th of the next month is in: the month's records come in one delivery dated the 6th here
        day = "-06" if feed == "mem_disaster" and period >= "2026-04" else "-03"
        date = d(on) if on else d(shift(period, 1) + day)
        did = f"{feed}/{date.isoformat()}" if on else self.delivery_id(feed, period, version)
        if status == "loaded" and not additive:
            con.execute("update ops.deliveries set status = 'superseded' where feed_id = ? and period = ? and status = 'loaded'",
                        [feed, period])
            con.execute(f"delete from staging.{feed} where period = ?", [period])
        kind = self.kinds.get((feed, period)) or ("daily" if additive and feed == "mem_disaster" else None)
        con.execute("insert into ops.deliveries (delivery_id, feed_id, period, folder, delivery_date, status, status_at, "
                    "delivery_kind) values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [did, feed, period, f"/landing/{did}", date, status,
                     dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=len(self.versions) + version),
                     kind])
        if status == "loaded" and rows:
            cols = [c for c, _ in STAGING_COLUMNS[feed]]
            con.executemany(
                f"insert into staging.{feed} ({', '.join(cols)}, delivery_id, period, _file, _row) "
                f"values ({', '.join('?' for _ in cols)}, ?, ?, ?, ?)",
                [[r.get(c) for c in cols] + [did, period, f"{feed}.csv", i] for i, r in enumerate(rows, start=1)])
        return did


def warnings(con: duckdb.DuckDBPyConnection, code: str | None = None, household_id: str | None = None) -> list[dict]:
    sql = "select * replace (cast(raised_at as varchar) as raised_at) from mart.warnings where true"
    args = []
    if code:
        sql += " and indicator_code = ?"
        args.append(code)
    if household_id:
        sql += " and household_id = ?"
        args.append(household_id)
    cur = con.execute(sql + " order by indicator_code, household_id, period", args)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def assert_rolls_up(rows: dict[tuple, tuple]) -> None:
    """Every city row = the sum of its counties' rows, the province = the sum of its cities, every
    'all' = the sum of its parts (same level, same region)."""
    def total(keys):
        return tuple(sum(rows[k][i] for k in keys) for i in range(3))
    for (level, region, cat, area), value in rows.items():
        if level in ("city", "province"):
            below = "county" if level == "city" else "city"
            parts = [k for k in rows if k[0] == below and k[1].startswith(region) and k[2:] == (cat, area)]
            assert total(parts) == value, (level, region, cat, area)
        if cat == "all":
            parts = [k for k in rows if k[:2] == (level, region) and k[2] != "all" and k[3] == area]
            assert total(parts) == value, (level, region, area)
        if area == "all":
            parts = [k for k in rows if k[:2] == (level, region) and k[3] != "all" and k[2] == cat]
            assert total(parts) == value, (level, region, cat)
