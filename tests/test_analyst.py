"""The analysts' database: no identifiers, stable pseudonyms, atomic refresh, read-only query CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import stat
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from analyst_fixtures import analyst_tables, build_restricted_warehouse
from pipelines import analyst
from pipelines.analyst import schema as analyst_schema
from pipelines.analyst import (
    EXAMPLES,
    AnalystDbError,
    AnalystKeyMissing,
    build_analyst_db,
    pseudonyms,
    query_cli,
    schema_markdown,
)
from pipelines.config import REPO_ROOT, Settings

KEY = "k3y-for-tests-0123456789abcdef0123456789"
ID18 = re.compile(r"[0-9]{17}[0-9Xx]")
DOC = REPO_ROOT / "docs" / "analyst.md"
VIEWS = {"warnings_by_indicator_county_month", "alert_load", "open_cases_by_department", "confirmation_rate",
         "roster_flows", "household_history", "assistance_chain"}
TABLES = {"person_month", "household_month", "assistance_month", "warnings", "cases", "case_events", "deliveries",
          "regions", "feed_status", "build_info", "indicators", "departments", "feeds", "assistance_kinds",
          "roster_statistics", "assistance_statistics", "warning_statistics", "case_disposal", "delivery_quality"}


@pytest.fixture
def keyed(monkeypatch):
    monkeypatch.setenv("LOWINCOME_HMAC_KEY", KEY)
    monkeypatch.delenv("LOWINCOME_ALLOW_EPHEMERAL_HMAC_KEY", raising=False)


@pytest.fixture
def built(tmp_path, keyed):
    """A fresh fixture warehouse and its analyst database, for tests that change them."""
    fx = build_restricted_warehouse(tmp_path / "warehouse.duckdb")
    settings = Settings(warehouse=fx.warehouse)
    path = build_analyst_db(settings, as_of=fx.as_of)
    return fx, settings, path


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One analyst database shared by the read-only tests."""
    root = tmp_path_factory.mktemp("analyst")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOWINCOME_HMAC_KEY", KEY)
        fx = build_restricted_warehouse(root / "warehouse.duckdb")
        settings = Settings(warehouse=fx.warehouse)
        path = build_analyst_db(settings, as_of=fx.as_of)
    return fx, settings, path


def _all_text_values(con: duckdb.DuckDBPyConnection):
    """(relation, column, value-as-text) for every cell of every table and view."""
    rels = con.execute(
        """select table_name from duckdb_tables() where database_name = current_database()
           union all select view_name from duckdb_views() where database_name = current_database() and not internal"""
    ).fetchall()
    for (rel,) in rels:
        cols = [c[0] for c in con.execute(f'describe "{rel}"').fetchall()]
        for col in cols:
            for (v,) in con.execute(f'select distinct cast("{col}" as varchar) from "{rel}"').fetchall():
                if v is not None:
                    yield rel, col, v


def test_analyst_db_holds_no_ids_and_no_names(shared):
    fx, _, path = shared
    con = duckdb.connect(str(path), read_only=True)
    try:
        found = []
        for rel, col, v in _all_text_values(con):
            if ID18.search(v):
                found.append(f"{rel}.{col}: id-shaped {v[:60]!r}")
            for name in fx.names:
                if name in v:
                    found.append(f"{rel}.{col}: name {name}")
            for raw in fx.family_ids | fx.hukou_nos | fx.person_ids:
                if raw in v:
                    found.append(f"{rel}.{col}: raw id {raw}")
            if "/srv/landing" in v or "王小明" in v:
                found.append(f"{rel}.{col}: folder path or caseworker name {v[:60]!r}")
        assert found == []
        columns = {c for (c,) in con.execute("select distinct column_name from duckdb_columns() where database_name = current_database()").fetchall()}
        assert not columns & {"name", "birth_date", "person_id", "family_id", "hukou_no", "household_id",
                              "errors", "folder", "actor", "warning_id", "case_id"}
        assert "region_code" not in {c for (c,) in con.execute("select column_name from (describe person_month)").fetchall()}
    finally:
        con.close()


def test_the_scrubbed_text_is_still_useful(shared):
    fx, _, path = shared
    con = duckdb.connect(str(path), read_only=True)
    try:
        explanation, evidence, hh = con.execute(
            "select explanation, evidence::varchar, household_key from warnings order by warning_key limit 1").fetchone()
        assert "[姓名]" in explanation and "低于前6个月中位数的70%" in explanation
        assert '"baseline_yuan": 3000' in evidence and "settle_id" not in evidence and "member_names" not in evidence
        assert '"person_key": "p_' in evidence and '"household_key": "h_' in evidence
        # the household referred to in the text is the household of the warning
        assert hh in explanation or hh in evidence
        # ages instead of birth dates, town instead of village codes
        ages = con.execute("select min(age), max(age), max(length(town_code)) from person_month").fetchone()
        assert 0 <= ages[0] <= ages[1] <= 90 and ages[2] == 9
        kinds = {k for (k,) in con.execute("select distinct actor_kind from case_events").fetchall()}
        assert kinds <= {"system", "staff", "MCA", "HRSS", "NHSA", "MOE", "MOHURD", "MEM", "CDPF"} and "system" in kinds
    finally:
        con.close()


def test_age_at_month_end_instead_of_birth_date(built):
    fx, settings, path = built
    with duckdb.connect(str(fx.warehouse)) as w:
        pid, birth = w.execute("select person_id, birth_date from core.person_month order by person_id limit 1").fetchone()
        # hukou members come without a birth date: the age then comes from the 身份证号
        w.execute("update core.person_month set birth_date = null where not on_roster")
    build_analyst_db(settings, as_of=fx.as_of)
    key = pseudonyms([pid], KEY.encode(), "person", "p_")[0]
    con = duckdb.connect(str(path), read_only=True)
    try:
        ages = dict(con.execute("select period, age from person_month where person_key = ?", [key]).fetchall())
        assert con.execute("select count(*) from person_month where age is null").fetchone()[0] == 0
    finally:
        con.close()
    for period, age in ages.items():
        y, m = map(int, period.split("-"))
        end = (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1))
        assert age == end.year - birth.year - ((end.month, end.day) < (birth.month, birth.day))


def test_every_table_view_and_column_has_a_comment(shared):
    _, _, path = shared
    con = duckdb.connect(str(path), read_only=True)
    try:
        rels = dict(analyst.relations(con))
        assert VIEWS <= {r for r, k in rels.items() if k == "view"}
        assert TABLES <= {r for r, k in rels.items() if k == "table"}
        bare = con.execute(
            """select table_name from duckdb_tables() where database_name = current_database() and comment is null
               union all select view_name from duckdb_views() where database_name = current_database()
               and not internal and comment is null""").fetchall()
        assert bare == []
        bare_cols = con.execute(
            "select table_name || '.' || column_name from duckdb_columns() "
            "where database_name = current_database() and comment is null").fetchall()
        assert bare_cols == []
    finally:
        con.close()
    assert {p.stem for p in analyst.view_files()} == VIEWS, "one view per file in warehouse/analyst/"


def test_views_answer_the_questions(shared):
    fx, settings, path = shared
    con = duckdb.connect(str(path), read_only=True)
    w = duckdb.connect(str(fx.warehouse), read_only=True)
    try:
        assert con.execute("select sum(warnings) from warnings_by_indicator_county_month").fetchone()[0] == \
            w.execute("select count(*) from mart.warnings").fetchone()[0]
        status = dict(con.execute("select feed_id, freshness_status from feed_status").fetchall())
        assert status["nhsa_claims"] == "rejected" and status["mps_vehicles"] == "stale"
        assert status["cdpf_disability"] == "waiting" and status["mca_roster"] == "ok"
        assert status["bank_deposits"] == "ok"  # quarterly: two months behind is on time
        last = con.execute("select last_loaded_period, rejected from feed_status where feed_id = 'hrss_employment'").fetchone()
        assert last == (fx.periods[-1], 1)
        # roster movements built into the fixture: a family changes edge -> dibao in month 3
        flows = {(p, c): (i, o) for p, c, i, o in con.execute(
            "select period, category, households_in, households_out from roster_flows").fetchall()}
        assert flows[(fx.periods[0], "dibao")] == (None, None)
        assert flows[(fx.periods[2], "dibao")][0] >= 1 and flows[(fx.periods[2], "edge")][1] >= 1
        # overdue feedback: recomputed independently from the restricted warehouse
        expected = w.execute(
            """select count(*) from (select unnest(coalesce(department_status, list_transform(departments, d -> {
                   'department': d, 'office_code': county_code, 'status': status,
                   'awaiting_feedback': awaiting_feedback, 'last_feedback_on': last_feedback_on}))) p, *
               from mart.cases)
               where closed_at is null and p.status in ('dispatched', 'accepted')
               and due_at < ?::timestamptz""", [f"{fx.as_of} 02:00:00+08"]).fetchone()[0]
        assert con.execute("select sum(overdue_feedback) from open_cases_by_department").fetchone()[0] == expected
        rates = con.execute("select confirmed, not_confirmed, pending, cases from confirmation_rate").fetchall()
        assert all(c + n + p == total for c, n, p, total in rates)
        # a household's history by key: the case of its warning, with every step
        hh = con.execute("select household_key from warnings order by warning_key limit 1").fetchone()[0]
        hist = con.execute("select kind, action from household_history where household_key = ? order by event_at", [hh]).fetchall()
        assert ("warning", "raise") in hist and ("case_event", "opened") in hist
        for _question, sql in EXAMPLES:
            columns, rows = analyst.run_query(con, sql)
            assert columns and rows, f"example returns nothing on the fixture: {_question}"
    finally:
        con.close()
        w.close()


def test_assistance_chain_and_statistics(shared):
    """The chain by household key, in the history and month by month, with the warehouse's amounts;
    the 民政统计 tables are the warehouse's definitions copied as of the night."""
    fx, _, path = shared
    con = duckdb.connect(str(path), read_only=True)
    w = duckdb.connect(str(fx.warehouse), read_only=True)
    try:
        by_kind = "select period, kind, sum(amount_yuan), sum(payments), count(*) from {} group by all order by all"
        assert con.execute(by_kind.format("assistance_month")).fetchall() == \
            w.execute(by_kind.format("core.assistance_month")).fetchall()
        assert con.execute("select count(*) from assistance_month where household_key is null").fetchone()[0] == 0
        hh = con.execute("select min(household_key) from assistance_month where kind = 'medical_aid'").fetchone()[0]
        hist = con.execute("select period, action, detail from household_history where household_key = ? "
                           "and kind = 'assistance' order by event_at, action", [hh]).fetchall()
        assert ("medical_aid", "医疗救助 1次 1234.50 元") in {(a, d) for _, a, d in hist}
        chain = dict(con.execute("select period, assistance_yuan from assistance_chain where household_key = ?",
                                 [hh]).fetchall())
        assert chain[fx.periods[0]] >= Decimal("1234.50")
        for table in ("roster_statistics", "assistance_statistics", "warning_statistics"):
            assert con.execute(f"select count(*) from {table}").fetchone()[0] == \
                w.execute(f"select count(*) from mart.{table}").fetchone()[0]
        night = dt.datetime.combine(fx.as_of, dt.time(2), dt.timezone(dt.timedelta(hours=8)))
        total = w.execute("select sent, due, disposed, overdue from mart.case_disposal(?) where level = 'total'",
                          [night]).fetchone()
        assert con.execute("select sent, due, disposed, overdue from case_disposal where level = 'total'").fetchone() == total
        assert total[1] > 0
    finally:
        con.close()
        w.close()


def test_pseudonyms_are_stable_and_keyed(tmp_path, monkeypatch):
    fx = build_restricted_warehouse(tmp_path / "warehouse.duckdb")
    settings = Settings(warehouse=fx.warehouse)
    pid = sorted(fx.person_ids)[0]

    def keys(key: str, target: Path) -> tuple[set, set, str]:
        monkeypatch.setenv("LOWINCOME_HMAC_KEY", key)
        build_analyst_db(settings, as_of=fx.as_of, target=target)
        con = duckdb.connect(str(target), read_only=True)
        try:
            persons = {k for (k,) in con.execute("select distinct person_key from person_month").fetchall()}
            households = {k for (k,) in con.execute("select distinct household_key from household_month").fetchall()}
            fingerprint = con.execute("select key_fingerprint from build_info").fetchone()[0]
        finally:
            con.close()
        return persons, households, fingerprint

    a = keys(KEY, tmp_path / "a.duckdb")
    b = keys(KEY, tmp_path / "b.duckdb")
    c = keys("another-key-0123456789abcdef-xyz", tmp_path / "c.duckdb")
    assert a == b, "same key -> same pseudonyms across rebuilds"
    assert not (a[0] & c[0]) and not (a[1] & c[1]) and a[2] != c[2], "different key -> different pseudonyms"
    assert len(a[0]) == len(fx.person_ids)
    assert pseudonyms([pid], KEY.encode(), "person", "p_")[0] in a[0]
    # domains keep a person and a household with the same raw value apart; no key looks like an id
    assert pseudonyms(["X"], b"k" * 16, "person", "p_")[0][2:] != pseudonyms(["X"], b"k" * 16, "household", "h_")[0][2:]
    assert all(re.fullmatch(r"p_[a-z2-7]{16}", k) for k in a[0])


def test_refuses_without_a_key_unless_ephemeral(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("LOWINCOME_HMAC_KEY", raising=False)
    monkeypatch.delenv("LOWINCOME_ALLOW_EPHEMERAL_HMAC_KEY", raising=False)
    fx = build_restricted_warehouse(tmp_path / "warehouse.duckdb")
    settings = Settings(warehouse=fx.warehouse)
    with pytest.raises(AnalystKeyMissing, match="LOWINCOME_HMAC_KEY"):
        build_analyst_db(settings)
    assert not settings.analyst_db.exists()
    with pytest.raises(AnalystKeyMissing, match="at least"):
        monkeypatch.setenv("LOWINCOME_HMAC_KEY", "short")
        build_analyst_db(settings)
    monkeypatch.delenv("LOWINCOME_HMAC_KEY")

    # a key file (outside the repo) works like the env var
    key_file = tmp_path / "secrets" / "hmac.key"
    key_file.parent.mkdir()
    key_file.write_text(KEY + "\n")
    build_analyst_db(settings.with_(hmac_key_file=key_file), as_of=fx.as_of, target=tmp_path / "from_file.duckdb")
    monkeypatch.setenv("LOWINCOME_HMAC_KEY", KEY)
    build_analyst_db(settings, as_of=fx.as_of, target=tmp_path / "from_env.duckdb")
    monkeypatch.delenv("LOWINCOME_HMAC_KEY")
    q = "select string_agg(person_key, ',' order by person_key) from person_month"
    assert duckdb.connect(str(tmp_path / "from_file.duckdb"), read_only=True).execute(q).fetchone() == \
        duckdb.connect(str(tmp_path / "from_env.duckdb"), read_only=True).execute(q).fetchone()

    # the explicit demo escape hatch: a random key, 0600, in the work dir, said out loud, reused
    capsys.readouterr()
    path = build_analyst_db(settings, allow_ephemeral_key=True, as_of=fx.as_of)
    err = capsys.readouterr().err
    key_path = analyst.ephemeral_key_path(settings)
    assert "EPHEMERAL" in err and str(key_path) in err
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert not key_path.resolve().is_relative_to(REPO_ROOT)
    con = duckdb.connect(str(path), read_only=True)
    first = con.execute(q).fetchone()
    assert con.execute("select ephemeral_key from build_info").fetchone()[0] is True
    con.close()
    monkeypatch.setenv("LOWINCOME_ALLOW_EPHEMERAL_HMAC_KEY", "1")  # the same, switched on from the environment
    build_analyst_db(settings, as_of=fx.as_of)
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute(q).fetchone() == first, "the demo key is reused: pseudonyms stable across nights"
    con.close()


READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("select count(*) from warnings").fetchone()[0], flush=True)
    sys.stdin.readline()          # the parent rebuilds the file now
    print(con.execute("select count(*) from warnings").fetchone()[0], flush=True)
    print(con.execute("select count(*) from warnings_by_indicator_county_month").fetchone()[0], flush=True)
""")


def test_atomic_refresh_while_a_reader_holds_the_old_file(built):
    fx, settings, path = built
    reader = subprocess.Popen([sys.executable, "-c", READER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        before = int(reader.stdout.readline())
        in_process = duckdb.connect(str(path), read_only=True)  # a second reader, in this process
        # the warehouse gets more warnings; the night rebuilds the analyst database under the readers
        with duckdb.connect(str(fx.warehouse)) as w:
            w.execute("""insert into mart.warnings select * replace ('W-extra' || warning_id as warning_id)
                         from mart.warnings""")
        build_analyst_db(settings, as_of=fx.as_of)
        assert in_process.execute("select count(*) from warnings").fetchone()[0] == before
        in_process.close()
        out, _ = reader.communicate("go\n", timeout=60)
        assert reader.returncode == 0
        after_old, view_rows = map(int, out.split())
        assert after_old == before and view_rows > 0, "the open reader keeps its (old, whole) file"
    finally:
        if reader.poll() is None:
            reader.kill()
    fresh = subprocess.run([sys.executable, "-c", "import sys, duckdb; print(duckdb.connect(sys.argv[1], read_only=True)"
                            ".execute('select count(*) from warnings').fetchone()[0])", str(path)],
                           capture_output=True, text=True, check=True)
    assert int(fresh.stdout) == 2 * before, "a new reader sees the new file"
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".analyst")) == [], "no temp files left"


def test_a_failed_build_leaves_the_old_file(built, monkeypatch):
    fx, settings, path = built
    before = path.read_bytes()
    monkeypatch.setattr(analyst_schema, "create_views", lambda con: (_ for _ in ()).throw(AnalystDbError("boom")))
    with pytest.raises(AnalystDbError, match="boom"):
        build_analyst_db(settings, as_of=fx.as_of)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".analyst")] == []


def test_identifier_scan_fails_closed(built):
    """An id that slips through an unscrubbed column stops the build; the old file stays."""
    fx, settings, path = built
    before = path.read_bytes()
    pid = sorted(fx.person_ids)[0]
    name = sorted(fx.names)[0]
    with duckdb.connect(str(fx.warehouse)) as w:
        w.execute("update mart.cases set status = ? where case_id = (select min(case_id) from mart.cases)", [f"open {pid}"])
    with pytest.raises(AnalystDbError, match=r"cases\.status"):
        build_analyst_db(settings, as_of=fx.as_of)
    with duckdb.connect(str(fx.warehouse)) as w:
        w.execute("update mart.cases set status = ? where status like 'open %'", [f"open {name}"])
    with pytest.raises(AnalystDbError, match="roster name"):
        build_analyst_db(settings, as_of=fx.as_of)
    assert path.read_bytes() == before


def test_build_through_the_writer_connection(tmp_path, keyed):
    """The nightly passes its open read-write connection; the build must not change the warehouse."""
    fx = build_restricted_warehouse(tmp_path / "warehouse.duckdb")
    settings = Settings(warehouse=fx.warehouse)
    con = duckdb.connect(str(fx.warehouse))
    try:
        tables_before = con.execute("select database_name, schema_name, table_name from duckdb_tables() order by all").fetchall()
        path = build_analyst_db(settings, con=con, as_of=fx.as_of)
        assert con.execute("select count(*) from mart.warnings").fetchone()[0] > 0, "writer connection still usable"
        assert con.execute("select database_name, schema_name, table_name from duckdb_tables() order by all").fetchall() \
            == tables_before, "nothing written into the warehouse, nothing left attached"
    finally:
        con.close()
    assert path == settings.analyst_db
    own = duckdb.connect(str(path), read_only=True)
    assert own.execute("select count(*) from warnings").fetchone()[0] == 12
    own.close()


def test_an_unmigrated_warehouse_is_refused(tmp_path, keyed):
    """The build reads a warehouse this code has migrated: a warehouse without its relations (never run,
    or migrated by an older version) stops a standalone build with a clear message, and no file."""
    wh = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(wh)) as w:
        w.execute("create schema ops; create table ops.deliveries (delivery_id varchar, feed_id varchar, period varchar, "
                  "folder varchar, delivery_date date, produced_at timestamptz, files json, rows bigint, status varchar, "
                  "errors json, warnings json, first_seen_at timestamptz, status_at timestamptz, superseded_by varchar)")
    settings = Settings(warehouse=wh)
    with pytest.raises(AnalystDbError, match="warehouse not initialised: run a night first") as e:
        build_analyst_db(settings)
    assert "mart.warnings" in str(e.value) and "ops.feed_status" in str(e.value)
    assert not settings.analyst_db.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".analyst")] == []
    with pytest.raises(AnalystDbError, match="does not exist"):
        build_analyst_db(Settings(warehouse=tmp_path / "none.duckdb"))


def test_build_on_an_empty_migrated_warehouse(tmp_path, keyed):
    """Night one: the warehouse is migrated but holds no rows yet; the build gives whole, empty views."""
    from pipelines.warehouse import migrate

    wh = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(wh)) as w:
        migrate(w)
    path = build_analyst_db(Settings(warehouse=wh))
    con = duckdb.connect(str(path), read_only=True)
    try:
        for view in VIEWS:
            analyst.run_query(con, f"select * from {view}")  # (fetchall of timestamptz needs pytz)
        sources = json.loads(con.execute("select sources from build_info").fetchone()[0])
        assert sources["mart.warnings"] == 0 and sources["ops.deliveries"] == 0
        assert con.execute("select count(*) from warnings").fetchone()[0] == 0
        # every feed is listed, and missing
        assert set(con.execute("select distinct freshness_status from feed_status").fetchall()) == {("missing",)}
        from pipelines.feeds import FEEDS

        assert con.execute("select count(*) from feed_status").fetchone()[0] == len(FEEDS)
    finally:
        con.close()


def test_feed_status_is_the_warehouses_as_of_the_night(shared):
    """The analyst feed_status is a copy of the warehouse's one freshness definition,
    ops.feed_status(as_of), for the night the file reflects: same columns, same rows."""
    fx, _, path = shared
    con = duckdb.connect(str(path), read_only=True)
    w = duckdb.connect(str(fx.warehouse), read_only=True)
    try:
        assert con.execute("select as_of from build_info").fetchone()[0] == fx.as_of
        mine = con.execute("select columns(*)::varchar from feed_status order by feed_id").fetchall()
        theirs = w.execute("select columns(*)::varchar from ops.feed_status(?) order by feed_id", [fx.as_of]).fetchall()
        from pipelines.feeds import FEEDS

        assert mine == theirs and len(mine) == len(FEEDS)
        assert [c[0] for c in con.execute("describe feed_status").fetchall()] == \
            [c[0] for c in w.execute("describe select * from ops.feed_status(?)", [fx.as_of]).fetchall()]
    finally:
        con.close()
        w.close()


def test_reference_tables_come_from_the_rules_and_the_registry(shared):
    """indicators carries each rule as in force by default; departments and feeds list all of them."""
    from pipelines.feeds import FEEDS
    from pipelines.rules import default_rules

    _, _, path = shared
    rules = default_rules()
    con = duckdb.connect(str(path), read_only=True)
    try:
        indicators = {c: (zh, en, rule) for c, zh, en, rule in con.execute("select * from indicators").fetchall()}
        assert indicators == {c: (rules.indicator(c).name_zh, rules.indicator(c).name_en, rules.rule_text(c))
                              for c in rules.codes}
        assert "70%" in indicators["INC_DROP"][2]
        assert {d for (d,) in con.execute("select department from departments").fetchall()} == set(rules.departments)
        assert {f for (f,) in con.execute("select feed_id from feeds").fetchall()} == set(FEEDS)
    finally:
        con.close()


def test_query_cli_prints_a_table_and_csv(shared, capsys):
    _, settings, path = shared
    sql = "select indicator_code, sum(warnings) as n from warnings_by_indicator_county_month group by 1 order by 1"
    assert query_cli(settings, sql) == 0
    out = capsys.readouterr().out
    assert "indicator_code" in out and "INC_DROP" in out and "│" in out and "row(s)" in out
    assert query_cli(settings, sql, csv=True) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["indicator_code", "n"] and ["INC_DROP", "2"] in rows
    # through the console script, with an explicit database
    from pipelines.cli import main

    assert main(["query", "select count(*) as n from feeds", "--database", str(path), "--csv"]) == 0
    from pipelines.feeds import FEEDS

    assert capsys.readouterr().out.splitlines()[1] == str(len(FEEDS))  # one row per feed of the registry


@pytest.mark.parametrize("sql, why", [
    ("create table x (a int)", "read-only"),
    ("insert into feeds (feed_id) values ('x')", "read-only"),
    ("drop table feed_status", "read-only"),
    ("copy warnings to '/tmp/leak.csv'", "no files"),
    ("select * from read_csv('/etc/passwd')", "no files"),
    ("attach 'warehouse.duckdb' as wh", "no files"),
    ("set enable_external_access = true", "locked"),
    ("selec 1", "syntax"),
])
def test_query_cli_rejects_writes_and_file_access(shared, capsys, sql, why):
    _, settings, path = shared
    before = path.read_bytes()
    assert query_cli(settings, sql) == 1, why
    err = capsys.readouterr().err
    assert err.startswith("lowincome query: error:")
    assert path.read_bytes() == before
    assert not Path("/tmp/leak.csv").exists()


def test_query_cli_without_database(tmp_path, capsys):
    assert query_cli(Settings(warehouse=tmp_path / "w.duckdb"), "select 1") == 2
    assert "not found" in capsys.readouterr().err


def test_schema_doc_is_current(shared):
    """docs/analyst.md's data dictionary is generated from the COMMENT ONs. Regenerate with
    ``LOWINCOME_REGENERATE_DOCS=1 uv run pytest tests/test_analyst.py -k schema_doc`` (also re-runs
    the ten examples on this fixture warehouse and records their output)."""
    _, _, path = shared
    con = duckdb.connect(str(path), read_only=True)
    try:
        if os.environ.get("LOWINCOME_REGENERATE_DOCS") == "1":
            analyst.update_doc(DOC, con, examples_note=(
                "> The outputs below were produced by running each query on the **fixture warehouse** of the "
                "tests (`tests/analyst_fixtures.py`: 30 households, 6 months, seed 7), built with a test key — "
                "not on the synthetic province. Regenerate: `LOWINCOME_REGENERATE_DOCS=1 uv run pytest "
                "tests/test_analyst.py -k schema_doc`, or on a real analyst database: "
                "`uv run lowincome dictionary --database <analyst.duckdb> --examples`."))
        text = DOC.read_text(encoding="utf-8")
        start = text.index(analyst.SCHEMA_START) + len(analyst.SCHEMA_START)
        section = text[start:text.index(analyst.SCHEMA_END)]
        assert section.strip() == schema_markdown(con).strip(), "docs/analyst.md is stale: regenerate it (see docstring)"
        for question, sql in EXAMPLES:
            assert sql in text, f"example missing from docs/analyst.md: {question}"
    finally:
        con.close()


def test_dictionary_command_keeps_the_doc_in_step_with_the_sql(tmp_path, capsys):
    """``lowincome dictionary`` regenerates the schema section from this checkout's SQL (an empty
    analyst database built with a throwaway key): on a copy of docs/analyst.md it changes nothing."""
    from pipelines.cli import main

    doc = tmp_path / "analyst.md"
    doc.write_text(DOC.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["dictionary", "--doc", str(doc)]) == 0
    assert doc.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8"), \
        "docs/analyst.md is stale: run `uv run lowincome dictionary`"
    # the examples need data
    assert main(["dictionary", "--doc", str(doc), "--examples"]) == 2
    assert "--database" in capsys.readouterr().err


# NOT NULL columns of the pipeline's tables that the contract fixture does not carry.
EXTRA_NOT_NULL = {
    "core.household_month": ", cast(left(period, 4) as integer) * 12 + cast(right(period, 2) as integer) as month_idx"
                            ", true as oop_known, 0 as disaster_loss_yuan",
}


def test_build_on_the_pipelines_own_ddl(tmp_path, keyed):
    """The same fixture rows, loaded into the warehouse's real schema (pipelines.warehouse.migrate; its
    tables carry more columns than the contract): the analyst build must not depend on column order or
    trip over the extra restricted columns (mart.cases.person_id / explanation, ...)."""
    from pipelines.warehouse import migrate

    fx = build_restricted_warehouse(tmp_path / "fixture.duckdb")
    wh = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(wh)) as w:
        migrate(w)
        w.execute(f"attach '{fx.warehouse}' as fx (read_only)")
        for table in ("ops.deliveries", "core.person_month", "core.household_month", "mart.warnings", "mart.cases",
                      "mart.case_events", "staging.ref_regions", "staging.mca_roster"):
            schema, name = table.split(".")
            extra = EXTRA_NOT_NULL.get(table, "")
            w.execute(f"insert into {table} by name select *{extra} from fx.{schema}.{name}")
        w.execute("detach fx")
    path = build_analyst_db(Settings(warehouse=wh), as_of=fx.as_of)
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert analyst.find_identifiers(con, fx.names, include_views=True) == []
        assert con.execute("select count(*) from warnings where household_key is null").fetchone()[0] == 0
        assert con.execute("select count(*) from cases").fetchone()[0] > 0
        for view in VIEWS:
            analyst.run_query(con, f"select * from {view}")  # (fetchall of timestamptz needs pytz)
    finally:
        con.close()


# --- incremental builds -----------------------------------------------------------------------

def _build_info(path: Path) -> tuple[str, dict]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        mode, stats = con.execute("select build_mode, build_stats from build_info").fetchone()
    finally:
        con.close()
    return mode, json.loads(stats)


def _record_core_builds(warehouse: Path, stamp: str = "2026-04-02 02:00:00+08") -> list[str]:
    """A core.build_runs row per month, as pipelines.core writes it (inputs = the deliveries used)."""
    with duckdb.connect(str(warehouse)) as w:
        w.execute((REPO_ROOT / "warehouse" / "core" / "build_runs.sql").read_text(encoding="utf-8"))
        periods = [r[0] for r in w.execute("select distinct period from core.person_month order by 1").fetchall()]
        for p in periods:
            inputs = [[feed, p, "loaded", f"{feed}/{p}-05", stamp]
                      for feed in ("mca_roster", "mps_hukou_members", "hrss_employment", "nhsa_claims")]
            w.execute("insert into core.build_runs values (?, ?, ?, now(), 0)", [p, "h" + p, json.dumps(inputs)])
    return periods


def test_second_build_copies_unchanged_months_and_reuses_scrubbed_text(tmp_path, keyed):
    fx = build_restricted_warehouse(tmp_path / "warehouse.duckdb")
    periods = _record_core_builds(fx.warehouse)
    settings = Settings(warehouse=fx.warehouse)
    first = analyst_tables(build_analyst_db(settings, as_of=fx.as_of))
    path = build_analyst_db(settings, as_of=fx.as_of)
    mode, stats = _build_info(path)
    assert mode == "incremental" and stats["previous_build"] == "reused"
    assert stats["months_copied"] == {"person_month": len(periods), "household_month": len(periods),
                                      "assistance_month": len(periods)}
    assert stats["months_built"]["person_month"] == [] and stats["texts_scrubbed"] == 0
    assert stats["texts_from_cache"] > 10
    assert analyst_tables(path) == first
    # where the build's time went, step by step, for the data team watching a slow night
    steps = stats["seconds"]
    assert {"copy previous", "plan", "keys", "text digests", "table warnings", "table person_month",
            "identifier scan"} <= set(steps)
    assert all(isinstance(v, (int, float)) and v >= 0 for v in steps.values())


def test_a_changed_month_is_rebuilt_and_the_others_copied(tmp_path, keyed):
    """A new delivery for one month (its core inputs change): only that month is rebuilt, and the
    result is what a full build writes; a new raw id in that month is still caught by the scan."""
    fx = build_restricted_warehouse(tmp_path / "warehouse.duckdb")
    periods = _record_core_builds(fx.warehouse)
    settings = Settings(warehouse=fx.warehouse)
    build_analyst_db(settings, as_of=fx.as_of)
    changed = periods[2]
    with duckdb.connect(str(fx.warehouse)) as w:
        w.execute("update core.household_month set size = size + 1 where period = ?", [changed])
        w.execute("update core.build_runs set inputs = replace(cast(inputs as varchar), 'hrss_employment/', "
                  "'hrss_employment/re') where period = ?", [changed])
    path = build_analyst_db(settings, as_of=fx.as_of)
    mode, stats = _build_info(path)
    assert mode == "incremental"
    # hrss feeds household_month (and the unemployment benefit of the assistance chain) only: person_month
    # of that month is still copied
    assert stats["months_built"] == {"person_month": [], "household_month": [changed], "assistance_month": [changed]}
    assert stats["months_copied"]["household_month"] == len(periods) - 1
    full = build_analyst_db(settings, as_of=fx.as_of, target=tmp_path / "full.duckdb", full=True)
    assert analyst_tables(path) == analyst_tables(full)

    pid = sorted(fx.person_ids)[0]
    with duckdb.connect(str(fx.warehouse)) as w:
        w.execute("update core.household_month set category = ? where period = ? and household_id = "
                  "(select min(household_id) from core.household_month where period = ?)", [f"dibao {pid}", changed, changed])
        w.execute("update core.build_runs set inputs = replace(cast(inputs as varchar), 'nhsa_claims/', "
                  "'nhsa_claims/re') where period = ?", [changed])
    before = path.read_bytes()
    with pytest.raises(AnalystDbError, match=r"household_month\.category"):
        build_analyst_db(settings, as_of=fx.as_of)
    assert path.read_bytes() == before


@pytest.mark.parametrize("change, reason", [
    ("key", "the key changed"),
    ("age", "last full build older than 0 days"),
    ("garbage", "previous build unreadable"),
])
def test_falls_back_to_a_full_build(tmp_path, monkeypatch, keyed, change, reason):
    fx = build_restricted_warehouse(tmp_path / "warehouse.duckdb")
    _record_core_builds(fx.warehouse)
    settings = Settings(warehouse=fx.warehouse)
    path = build_analyst_db(settings, as_of=fx.as_of)
    if change == "key":
        monkeypatch.setenv("LOWINCOME_HMAC_KEY", KEY + "-rotated")
    elif change == "age":
        settings = settings.with_(analyst_full_rebuild_days=0)
    else:
        path.write_bytes(b"not a duckdb file" * 100)
    path = build_analyst_db(settings, as_of=fx.as_of)
    mode, stats = _build_info(path)
    assert mode == "full" and stats["previous_build"].startswith(reason), stats
    assert stats["texts_from_cache"] == 0


def test_a_damaged_pseudonym_cache_is_replaced(tmp_path, keyed):
    """The cache is only a cache: garbage in its file costs a re-keying, never the build."""
    fx = build_restricted_warehouse(tmp_path / "warehouse.duckdb")
    settings = Settings(warehouse=fx.warehouse)
    first = analyst_tables(build_analyst_db(settings, as_of=fx.as_of))
    cache = analyst.pseudonym_cache_path(settings)
    assert cache.exists() and stat.S_IMODE(cache.stat().st_mode) == 0o600
    cache.write_bytes(b"not a duckdb file" * 100)
    path = build_analyst_db(settings, as_of=fx.as_of)
    assert analyst_tables(path) == first
    assert _build_info(path)[1]["new_ids_keyed"] > 0
    with duckdb.connect(str(cache), read_only=True) as c:
        assert c.execute("select count(*) from keys_person").fetchone()[0] > 0


@pytest.mark.parametrize("secret", [b"k" * 32, b"short", b"x" * 100])
def test_text_cache_digest_in_sql_is_hmac_sha256(secret):
    """The text cache's digest is computed in SQL from the RFC 2104 pads: it must be the HMAC."""
    import hashlib
    import hmac

    ipad, opad = analyst.hmac_pads(secret)
    con = duckdb.connect()
    for text in ["收入下降 62% & <x>", "", "{\"a\": 1}"]:
        got = con.execute("select sha256(?::blob || unhex(sha256(?::blob || encode(?))))", [opad, ipad, text]).fetchone()[0]
        assert got == hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def test_mentioned_ids_are_found_in_any_month_and_any_id_column():
    """The Scrubber gets exactly the ids its texts mention, looked up in every month: a household by
    its id, family id or H + hukou_no, a person by the upper-cased 身份证号; nothing else."""
    con = duckdb.connect()
    con.execute("create schema core; create schema mart")
    con.execute("create table core.person_month (period varchar, person_id varchar, household_id varchar, "
                "family_id varchar, hukou_no varchar)")
    con.execute("""insert into core.person_month values
        ('2025-01', '11010119800101001X', 'F000000000001', 'F000000000001', '440100000001'),
        ('2025-02', '110101198001010020', 'H440100000002', null, '440100000002')""")
    con.execute("create table core.household_month (period varchar, household_id varchar, head_person_id varchar)")
    con.execute("insert into core.household_month values ('2025-03', 'F000000000003', '110101198001010039')")
    con.execute("create table mart.warnings (family_id varchar, hukou_no varchar, person_id varchar)")
    con.execute("insert into mart.warnings values ('', '440100000004', '110101198001010047')")
    con.execute("create table mart.cases (household_id varchar)")
    con.execute("insert into mart.cases values ('F000000000005')")
    mentions = {"F000000000001",  # a family id of an old month
                "440100000001",  # a roster person's hukou_no: the hukou household H440100000001
                "H440100000002", "440100000004", "F000000000003", "F000000000005",
                "11010119800101001x",  # written with a lowercase x
                "110101198001010020", "110101198001010039", "110101198001010047",
                "F999999999999", "110101198001010055", "收入"}  # not in the warehouse
    households, persons = analyst.mentioned_ids(con, mentions)
    assert set(households) == {"F000000000001", "F000000000003", "F000000000005", "H440100000001",
                               "H440100000002", "H440100000004"}
    assert set(persons) == {"11010119800101001X", "110101198001010020", "110101198001010039", "110101198001010047"}
    assert {t for (t,) in con.execute("select table_name from duckdb_tables() where temporary").fetchall()} == set()


def test_identifier_scan_tells_an_amount_from_an_identifier():
    """A province's yearly benefit total has 11 digits starting with a 1, like a mobile number: in a
    number column it is an amount. An 18-digit 身份证号 stored as a number is still found, and a
    mobile number in a text column too."""
    from pipelines.analyst.scan import find_identifiers

    con = duckdb.connect()
    con.execute("create table roster_statistics as select 13812345678.0::double as benefit_yuan, "
                "13912345678::bigint as persons")
    assert find_identifiers(con) == []
    con.execute("create table leaked as select 440303198001010011::bigint as n, '13812345678' as phone")
    found = find_identifiers(con)
    assert sorted(f.split(":")[0] for f in found) == ["leaked.n", "leaked.phone"], found


def test_identifier_scan_skips_only_the_texts_an_earlier_build_checked():
    """A text an earlier build scanned (in ``checked``) is not searched again -- for numbers or names --
    in the relations that take cached texts; a new text beside it, and the same text in another
    relation, still are. (At 1M the warnings' history of evidence JSON was most of the scan.)"""
    import pyarrow as pa

    from pipelines.analyst.scan import find_identifiers

    con = duckdb.connect()
    old_number, old_name = "核对电话 13812345678", "户主张三家"
    con.execute("create table warnings (warning_key varchar, explanation varchar, evidence json, period varchar)")
    con.execute("insert into warnings values ('w_1', ?, '{\"n\": 1}', '2026-09'), ('w_2', ?, null, '2026-09')",
                [old_number, old_name])
    con.execute("create table other (note varchar)")
    con.execute("insert into other values (?)", [old_number])
    con.register("checked", pa.table({"v": pa.array([old_number, old_name, None], pa.string())}))
    assert find_identifiers(con, ["张三"], checked="checked",
                            checked_in={"warnings": ("explanation", "evidence")}) == \
        ["other.note: 1 value(s) shaped like a 身份证号 or a mobile number"]
    # a new text in the same column is searched (a null in ``checked`` hides nothing)
    con.execute("insert into warnings values ('w_3', '联系 13912345678，户主李四', null, '2026-10')")
    found = find_identifiers(con, ["张三", "李四"], checked="checked",
                            checked_in={"warnings": ("explanation", "evidence")})
    assert sorted(found) == ["other.note: 1 value(s) shaped like a 身份证号 or a mobile number",
                             "warnings.explanation: 1 roster name(s)",
                             "warnings.explanation: 1 value(s) shaped like a 身份证号 or a mobile number"], found
    # without ``checked`` every value is searched
    assert len(find_identifiers(con, ["张三", "李四"])) == 3
