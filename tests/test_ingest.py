"""Ingest end to end on tiny deliveries: every fault ends as the ledger and the warehouse say it should,
nothing lost or doubled, and re-running a night changes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import pytest

import ingest_fixtures as fx
from pipelines.config import Settings
from pipelines.feeds import FEEDS
from pipelines.ingest import discover, ingest, prepare_delivery, prepare_feed, publish

P = "2026-01"


@pytest.fixture
def s(tmp_path) -> Settings:
    # Data Docs are built in the tests that look at them (rendering costs ~1 s a night)
    return Settings(landing=tmp_path / "landing", warehouse=tmp_path / "wh.duckdb", show_progress=False,
                    duckdb_threads=1, duckdb_memory_limit="1GB", extra={"data_docs": False})


def night(s: Settings, day: str, feeds=None):
    return ingest(s, as_of=dt.date.fromisoformat(day), feeds=feeds)


def sql(s: Settings, query: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


def ledger(s: Settings) -> dict[str, dict]:
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        # timestamptz as text: fetching it as datetime needs pytz, which is not a dependency
        cur = con.execute("select * replace (produced_at::varchar as produced_at, first_seen_at::varchar as "
                          "first_seen_at, status_at::varchar as status_at) from ops.deliveries")
        names = [d[0] for d in cur.description]
        out = {}
        for r in cur.fetchall():
            d = dict(zip(names, r))
            d["errors"] = json.loads(d["errors"]) if d["errors"] else []
            d["warnings"] = json.loads(d["warnings"]) if d["warnings"] else []
            out[d["delivery_id"]] = d
        return out
    finally:
        con.close()


def table_checksums(s: Settings) -> dict[str, tuple]:
    """Order-independent content checksum of every ingest-owned table."""
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        tables = con.execute("select schema_name || '.' || table_name from duckdb_tables() "
                             "where schema_name in ('raw', 'staging', 'ops') order by 1").fetchall()
        return {t: con.execute(f"select count(*), coalesce(sum(hash(x)), 0) from {t} x").fetchone() for (t,) in tables}
    finally:
        con.close()


def snapshot_files(folder: Path) -> dict[str, tuple]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def refs(s):
    fx.deliver_references(s.landing, "2025-12-20", P)


# --- the happy path ----------------------------------------------------------------------------------

def test_every_feed_loads_and_completeness(s):
    s = s.with_(extra={})  # with Data Docs
    fx.tiny_province(s.landing, P, "2026-02-03")
    summary = night(s, "2026-02-10")
    assert summary.total("rejected") == 0, summary.deliveries
    assert summary.total("loaded") == len(FEEDS)
    led = ledger(s)
    assert all(d["status"] == "loaded" for d in led.values())
    for table in (t for spec in FEEDS.values() for t in spec.tables):
        n = sql(s, f"select count(*), count(distinct delivery_id) from staging.{table}")[0]
        assert n[0] > 0 and n[1] == 1
        assert sql(s, f"select count(*) from raw.{table}")[0][0] == n[0]
    comp = dict(((f, p), (st, d)) for f, p, st, d in sql(s, "select * from ops.completeness"))
    assert comp[("hrss_employment", P)] == ("loaded", "hrss_employment/2026-02-03")
    # the calendar ends with the latest month delivered: a quarter's or a term's coverage does not
    # make months that no feed has reached yet look "missing"
    assert {p for (_, p) in comp} == {P}
    assert summary.data_docs is not None and summary.data_docs.exists()
    index = summary.data_docs.read_text()
    assert "nhsa_claims" in index and "hrss_employment" in index
    pages = list((summary.data_docs.parent / "validations").rglob("*.html"))
    assert len(pages) == sum(len(spec.parts) for spec in FEEDS.values())  # one GX result per part
    # a re-run validates nothing new and keeps the night's docs
    again = night(s, "2026-02-10")
    assert again.data_docs == summary.data_docs and summary.data_docs.read_text() == index


def test_completeness_quarterly_and_term_coverage(s):
    refs(s)
    fx.deliver_feed(s.landing, "hrss_employment", "2026-05-03", "2026-04")
    fx.deliver_feed(s.landing, "hrss_employment", "2026-02-03", P)
    fx.deliver_feed(s.landing, "mohurd_housing", "2026-02-03", P)
    fx.deliver_feed(s.landing, "moe_students", "2026-03-05", "2026-03")
    night(s, "2026-05-10")
    comp = {(f, p): st for f, p, st, _ in sql(s, "select * from ops.completeness")}
    assert [comp[("hrss_employment", m)] for m in ("2026-01", "2026-02", "2026-03", "2026-04")] == \
        ["loaded", "missing", "missing", "loaded"]
    assert [comp[("mohurd_housing", m)] for m in ("2026-01", "2026-02", "2026-03", "2026-04")] == \
        ["loaded", "loaded", "loaded", "missing"]
    assert [comp[("moe_students", m)] for m in ("2026-01", "2026-03", "2026-04")] == ["missing", "loaded", "loaded"]
    assert comp[("ref_regions", "2026-04")] == "loaded"


# --- faults ------------------------------------------------------------------------------------------

def test_corrupt_file_is_quarantined_untouched(s):
    refs(s)
    folder = fx.deliver_feed(s.landing, "hrss_employment", "2026-02-03", P)
    data_file = next(folder.glob("*.csv"))
    data_file.write_bytes(data_file.read_bytes()[:-10])  # truncated after the manifest was written
    before = snapshot_files(folder)
    fx.deliver_feed(s.landing, "mca_roster", "2026-02-03", P)  # a good delivery the same night
    summary = night(s, "2026-02-10")
    led = ledger(s)
    bad = led["hrss_employment/2026-02-03"]
    assert bad["status"] == "rejected"
    assert bad["errors"][0]["check"] == "checksum" and bad["errors"][0]["file"] == data_file.name
    assert led["mca_roster/2026-02-03"]["status"] == "loaded"  # one bad delivery does not stop the others
    assert sql(s, "select count(*) from staging.hrss_employment")[0][0] == 0
    assert sql(s, "select count(*) from raw.hrss_employment")[0][0] == 0
    assert snapshot_files(folder) == before  # files left exactly as delivered
    report = s.work / "reports" / "2026-02-10" / "hrss_employment__2026-02-03.json"
    assert json.loads(report.read_text())["errors"][0]["check"] == "checksum"
    assert report.with_suffix(".md").exists()
    assert summary.feeds["hrss_employment"].rejected == 1
    # same corrupt manifest next night: not processed again
    assert [r.delivery_id for r in discover(s, dt.date(2026, 2, 11))] == []


def test_row_count_disagreeing_with_manifest(s):
    refs(s)
    fx.deliver_feed(s.landing, "mca_roster", "2026-02-03", P,
                    file_patch={f"mca_roster_{P.replace('-', '')}.csv": {"rows": 99}})
    night(s, "2026-02-10")
    d = ledger(s)["mca_roster/2026-02-03"]
    assert d["status"] == "rejected" and d["errors"][0]["check"] == "row_count"
    assert "99" in d["errors"][0]["message"]


def test_missing_manifest_waits_then_loads(s):
    refs(s)
    folder = fx.deliver_feed(s.landing, "hrss_employment", "2026-02-03", P, manifest=False)
    summary = night(s, "2026-02-10")
    assert summary.feeds["hrss_employment"].waiting == 1
    d = ledger(s)["hrss_employment/2026-02-03"]
    assert d["status"] == "waiting" and d["period"] is None and d["rows"] == 0
    assert sql(s, "select count(*) from staging.hrss_employment")[0][0] == 0
    before = table_checksums(s)
    night(s, "2026-02-11")  # still uploading: nothing changes
    assert table_checksums(s) == before
    fx.deliver_feed(s.landing, "hrss_employment", "2026-02-03", P)  # upload finished, manifest last
    night(s, "2026-02-12")
    d2 = ledger(s)["hrss_employment/2026-02-03"]
    assert d2["status"] == "loaded" and d2["first_seen_at"] == d["first_seen_at"]
    assert sql(s, "select count(*) from staging.hrss_employment")[0][0] == 3
    assert folder.exists()


def test_duplicate_delivery_is_not_counted_twice(s):
    refs(s)
    fx.deliver_feed(s.landing, "hrss_employment", "2026-02-03", P)
    night(s, "2026-02-04")
    # the department sends exactly the same file again in a new folder
    fx.deliver_feed(s.landing, "hrss_employment", "2026-02-05", P)
    night(s, "2026-02-06")
    led = ledger(s)
    assert led["hrss_employment/2026-02-03"]["status"] == "superseded"
    assert led["hrss_employment/2026-02-03"]["superseded_by"] == "hrss_employment/2026-02-05"
    assert led["hrss_employment/2026-02-05"]["status"] == "loaded"
    assert sql(s, "select count(*), count(distinct person_id) from staging.hrss_employment") == [(3, 3)]
    assert sql(s, "select count(*) from raw.hrss_employment") == [(3,)]


def test_redelivery_with_changed_rows_replaces_the_period(s):
    refs(s)
    fx.deliver_feed(s.landing, "hrss_employment", "2026-02-03", P, fx.hrss_rows(P, n=4))
    fx.deliver_feed(s.landing, "hrss_employment", "2026-03-03", "2026-02", fx.hrss_rows("2026-02", n=2))
    night(s, "2026-03-04")
    corrected = fx.hrss_rows(P, n=4, start=10)  # other persons (a shrink beyond 20% would be held)
    corrected[0]["contribution_base"] = "9999.99"
    fx.deliver_feed(s.landing, "hrss_employment", "2026-03-10", P, corrected)
    summary = night(s, "2026-03-11")
    assert summary.feeds["hrss_employment"].loaded == 1 and summary.feeds["hrss_employment"].superseded == 1
    rows = sql(s, "select period, delivery_id, count(*), max(contribution_base_yuan) from staging.hrss_employment "
                  "group by all order by 1")
    assert [(r[0], r[1], r[2]) for r in rows] == [(P, "hrss_employment/2026-03-10", 4),
                                                  ("2026-02", "hrss_employment/2026-03-03", 2)]
    assert float(rows[0][3]) == 9999.99
    assert sql(s, "select count(*) from raw.hrss_employment where period = ?", [P]) == [(4,)]
    led = ledger(s)
    assert led["hrss_employment/2026-02-03"]["status"] == "superseded"
    assert led["hrss_employment/2026-02-03"]["superseded_by"] == "hrss_employment/2026-03-10"


def test_older_delivery_arriving_after_newer_is_superseded_without_loading(s):
    refs(s)
    fx.deliver_feed(s.landing, "hrss_employment", "2026-02-10", P, fx.hrss_rows(P, n=2),
                    produced_at="2026-02-10T08:00:00+08:00")
    night(s, "2026-02-11")
    # a folder produced earlier, uploaded late (its folder date is in the past)
    fx.deliver_feed(s.landing, "hrss_employment", "2026-02-03", P, fx.hrss_rows(P, n=5),
                    produced_at="2026-02-03T08:00:00+08:00")
    summary = night(s, "2026-02-12")
    led = ledger(s)
    old = led["hrss_employment/2026-02-03"]
    assert old["status"] == "superseded" and old["superseded_by"] == "hrss_employment/2026-02-10"
    assert old["rows"] == 0
    assert led["hrss_employment/2026-02-10"]["status"] == "loaded"
    assert sql(s, "select delivery_id, count(*) from staging.hrss_employment group by 1") == \
        [("hrss_employment/2026-02-10", 2)]
    assert summary.feeds["hrss_employment"].superseded == 1


def test_late_delivery_lands_in_its_own_period(s):
    refs(s)
    fx.deliver_feed(s.landing, "nhsa_claims", "2026-03-03", "2026-02", fx.nhsa_rows("2026-02", n=2))
    night(s, "2026-03-04")
    # January arrives in March, after February
    fx.deliver_feed(s.landing, "nhsa_claims", "2026-03-20", P, fx.nhsa_rows(P, n=3))
    night(s, "2026-03-21")
    assert sql(s, "select period, count(*) from staging.nhsa_claims group by 1 order by 1") == [(P, 3), ("2026-02", 2)]
    comp = {p: st for f, p, st, _ in sql(s, "select * from ops.completeness where feed_id = 'nhsa_claims'")}
    assert comp == {P: "loaded", "2026-02": "loaded"}
    assert all(d["status"] == "loaded" for d in ledger(s).values())


def test_invalid_id_rejects_with_file_row_field(s):
    refs(s)
    rows = fx.hrss_rows(P, n=4)
    rows[2]["person_id"] = fx.bad_check_char(rows[2]["person_id"])
    fx.deliver_feed(s.landing, "hrss_employment", "2026-02-03", P, rows)
    night(s, "2026-02-10")
    d = ledger(s)["hrss_employment/2026-02-03"]
    assert d["status"] == "rejected"
    e = [e for e in d["errors"] if e["check"] == "id_check_character"]
    assert e and e[0]["file"] == "hrss_employment_202601.csv" and e[0]["row"] == 3 and e[0]["field"] == "person_id"
    assert sql(s, "select count(*) from staging.hrss_employment")[0][0] == 0


def test_wrong_enumeration_rejects(s):
    refs(s)
    rows = fx.hrss_rows(P, n=3)
    rows[1]["employment_status"] = "待业"  # not one of the five documented values
    fx.deliver_feed(s.landing, "hrss_employment", "2026-02-03", P, rows)
    night(s, "2026-02-10")
    d = ledger(s)["hrss_employment/2026-02-03"]
    assert d["status"] == "rejected"
    (e,) = [e for e in d["errors"] if e["field"] == "employment_status"]
    assert e["row"] == 2 and e["check"] == "enumeration" and "待业" in e["message"]


def test_manifest_with_parent_path_is_rejected_and_nothing_outside_is_read(s):
    refs(s)
    secret = s.landing / "hrss_employment" / "secret.csv"
    secret.parent.mkdir(parents=True, exist_ok=True)
    data, n = fx.hrss_employment(fx.hrss_rows(P))
    secret.write_bytes(data)
    folder = s.landing / "hrss_employment" / "2026-02-03"
    folder.mkdir()
    manifest = {"feed_id": "hrss_employment", "period": P, "produced_at": "2026-02-03T01:00:00+08:00",
                "files": [{"name": "../secret.csv", "rows": n, "sha256": hashlib.sha256(data).hexdigest()}]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    for bad in ("/etc/passwd", "sub/dir.csv"):
        f2 = s.landing / "hrss_employment" / ("2026-02-04" if bad.startswith("/") else "2026-02-05")
        f2.mkdir()
        (f2 / "manifest.json").write_text(json.dumps({**manifest, "files": [{**manifest["files"][0], "name": bad}]}))
    night(s, "2026-02-10")
    led = ledger(s)
    for did in ("hrss_employment/2026-02-03", "hrss_employment/2026-02-04", "hrss_employment/2026-02-05"):
        assert led[did]["status"] == "rejected"
        assert led[did]["errors"][0]["check"] == "unsafe_file_name"
    assert sql(s, "select count(*) from raw.hrss_employment")[0][0] == 0


def test_parse_error_names_row_and_field(s):
    refs(s)
    rows = fx.roster_rows(P, n=3)
    rows[1]["birth_date"] = "1980-02-30"
    fx.deliver_feed(s.landing, "mca_roster", "2026-02-03", P, rows)
    night(s, "2026-02-10")
    d = ledger(s)["mca_roster/2026-02-03"]
    assert d["status"] == "rejected"
    assert [(e["check"], e["row"], e["field"]) for e in d["errors"]] == [("parse", 2, "birth_date")]
    assert "1980-02-30" in d["errors"][0]["message"]


def test_unknown_region_rejects_but_only_warns_without_reference(s, tmp_path):
    rows = fx.roster_rows(P, n=2)
    rows[1]["region_code"] = "440303009999"  # well-formed, but not in the region list
    # no ref_regions yet: a warning, the delivery loads
    fx.deliver_feed(s.landing, "mca_roster", "2026-02-03", P, rows)
    night(s, "2026-02-04")
    d = ledger(s)["mca_roster/2026-02-03"]
    assert d["status"] == "loaded"
    assert any(w["check"] == "region_known" for w in d["warnings"])
    # with the region list in force: rejected
    s2 = s.with_(landing=tmp_path / "landing2", warehouse=tmp_path / "wh2.duckdb")
    refs(s2)
    fx.deliver_feed(s2.landing, "mca_roster", "2026-02-03", P, rows)
    night(s2, "2026-02-04")
    d = ledger(s2)["mca_roster/2026-02-03"]
    assert d["status"] == "rejected"
    (e,) = [e for e in d["errors"] if e["check"] == "region_known"]
    assert e["row"] == 2 and e["field"] == "region_code"


def test_reversal_without_settlement_is_a_warning(s):
    refs(s)
    pid = fx.person_id(1)
    rows = [fx.claim("S1", pid, dt.date(2026, 1, 5), 10000, 6000),
            fx.claim("R1", pid, dt.date(2026, 1, 6), -10000, -6000, reversal_of="S1"),
            fx.claim("R2", pid, dt.date(2026, 1, 7), -500, 0, reversal_of="S-unknown")]
    fx.deliver_feed(s.landing, "nhsa_claims", "2026-02-03", P, rows)
    night(s, "2026-02-04")
    # a reversal in February of a January settlement (already loaded): fine
    fx.deliver_feed(s.landing, "nhsa_claims", "2026-03-03", "2026-02",
                    [fx.claim("R3", pid, dt.date(2026, 2, 2), -10000, -6000, reversal_of="S1")])
    night(s, "2026-03-04")
    led = ledger(s)
    jan, feb = led["nhsa_claims/2026-02-03"], led["nhsa_claims/2026-03-03"]
    assert jan["status"] == "loaded" and feb["status"] == "loaded"
    (w,) = [w for w in jan["warnings"] if w["check"] == "reversal_target"]
    assert w["row"] == 3 and w["field"] == "reversal_of"
    assert not [w for w in feb["warnings"] if w["check"] == "reversal_target"]
    assert sql(s, "select sum(oop_yuan) from staging.nhsa_claims")[0][0] == -45  # 40 - 40 - 5 - 40 yuan


def test_rerun_changes_nothing(s):
    fx.tiny_province(s.landing, P, "2026-02-03")
    fx.deliver_feed(s.landing, "mca_roster", "2026-02-05", P, fx.roster_rows(P, n=4))  # a re-delivery
    bad = fx.hrss_rows("2026-02", n=2)
    bad[0]["employment_status"] = "???"
    fx.deliver_feed(s.landing, "hrss_employment", "2026-03-03", "2026-02", bad)  # a rejected one
    fx.deliver_feed(s.landing, "samr_business", "2026-03-03", "2026-02", manifest=False)  # a waiting one
    fx.deliver_feed(s.landing, "mps_hukou_members", "2026-02-06", P,  # a held one: 3 members -> 1
                    fx.feed_rows("mps_hukou_members", P, n=1))
    night(s, "2026-03-10")
    first = table_checksums(s)
    assert first["staging.mca_roster"][0] == 4 and first["staging.mps_hukou_members"][0] == 3
    assert ledger(s)["mps_hukou_members/2026-02-06"]["status"] == "held"
    summary = night(s, "2026-03-10")
    assert summary.total("loaded") == summary.total("rejected") == summary.total("superseded") == 0
    assert summary.total("held") == 0
    assert table_checksums(s) == first
    night(s, "2026-03-11")
    assert table_checksums(s) == first


def test_unexpected_failure_in_one_feed_is_retried_next_night(s, monkeypatch):
    refs(s)
    fx.deliver_feed(s.landing, "mps_vehicles", "2026-02-03", P)
    fx.deliver_feed(s.landing, "bank_deposits", "2026-02-03", P)
    spec = FEEDS["mps_vehicles"]

    def broken(path):
        raise RuntimeError("reader bug")

    monkeypatch.setitem(FEEDS, "mps_vehicles", spec.__class__(**{**spec.__dict__, "read_raw": broken}))
    night(s, "2026-02-04")
    led = ledger(s)
    assert led["bank_deposits/2026-02-03"]["status"] == "loaded"
    v = led["mps_vehicles/2026-02-03"]
    assert v["status"] == "rejected" and v["retry"] and v["errors"][0]["check"] == "internal_error"
    monkeypatch.setitem(FEEDS, "mps_vehicles", spec)  # the bug is fixed
    night(s, "2026-02-05")
    assert ledger(s)["mps_vehicles/2026-02-03"]["status"] == "loaded"


def test_only_folders_up_to_as_of_are_visible(s):
    refs(s)
    fx.deliver_feed(s.landing, "hrss_employment", "2026-02-03", P)
    fx.deliver_feed(s.landing, "hrss_employment", "2026-03-03", "2026-02")
    night(s, "2026-02-10")
    assert set(ledger(s)) == {"ref_regions/2025-12-20", "ref_standards/2025-12-20", "hrss_employment/2026-02-03"}
    night(s, "2026-03-10")
    assert ledger(s)["hrss_employment/2026-03-03"]["status"] == "loaded"


def visits(day: str, n: int, start: int) -> list[dict]:
    rows = fx.feed_rows("grid_visits", P, n=n, start=start)
    for r in rows:
        r["visit_date"] = day
    return rows


def test_daily_feed_partitions_by_delivery(s):
    refs(s)
    fx.deliver_feed(s.landing, "grid_visits", "2026-01-14", P, visits("2026-01-14", n=2, start=1))
    fx.deliver_feed(s.landing, "grid_visits", "2026-01-15", P, visits("2026-01-15", n=3, start=10))
    night(s, "2026-01-16")
    assert sql(s, "select delivery_id, count(*) from staging.grid_visits group by 1 order by 1") == \
        [("grid_visits/2026-01-14", 2), ("grid_visits/2026-01-15", 3)]
    # the 15th is re-delivered in place (new files, new manifest): it replaces only itself
    fx.deliver_feed(s.landing, "grid_visits", "2026-01-15", P, visits("2026-01-15", n=1, start=20),
                    produced_at="2026-01-15T20:00:00+08:00")
    night(s, "2026-01-16")
    assert sql(s, "select delivery_id, count(*) from staging.grid_visits group by 1 order by 1") == \
        [("grid_visits/2026-01-14", 2), ("grid_visits/2026-01-15", 1)]
    assert {d["status"] for d in ledger(s).values()} == {"loaded"}


def test_reference_versions_and_version_in_force(s):
    fx.deliver_references(s.landing, "2025-12-20", P)
    newer = [{"region_code": c, "name": n, "level": lv, "parent_code": p} for c, n, lv, p in fx.REGIONS]
    newer.append({"region_code": "440303001202", "name": "新村委会", "level": "village", "parent_code": fx.TOWN})
    fx.deliver_feed(s.landing, "ref_regions", "2026-02-20", "2026-03", newer)
    night(s, "2026-02-21")
    assert sql(s, "select valid_from, valid_to, count(*) from staging.ref_regions_asof group by all order by 1") == \
        [(P, "2026-03", 6), ("2026-03", None, 7)]
    assert sql(s, "select count(*), min(valid_from) from staging.ref_regions_current") == [(7, "2026-03")]
    # the new village is unknown for a January delivery, known for a March one
    rows = fx.roster_rows(P, n=1)
    rows[0]["region_code"] = "440303001202"
    fx.deliver_feed(s.landing, "mca_roster", "2026-02-22", P, rows)
    rows3 = fx.roster_rows("2026-03", n=1)
    rows3[0]["region_code"] = "440303001202"
    fx.deliver_feed(s.landing, "mca_roster", "2026-04-02", "2026-03", rows3)
    night(s, "2026-04-03")
    led = ledger(s)
    assert led["mca_roster/2026-02-22"]["status"] == "rejected"
    assert led["mca_roster/2026-04-02"]["status"] == "loaded"


def test_warning_failures_load_and_are_recorded(s):
    refs(s)
    rows = fx.hrss_rows(P, n=2)
    rows[0]["pension"] = "250000"  # implausible, but not impossible: warning
    fx.deliver_feed(s.landing, "hrss_employment", "2026-02-03", P, rows)
    night(s, "2026-02-04")
    d = ledger(s)["hrss_employment/2026-02-03"]
    assert d["status"] == "loaded" and d["errors"] == []
    (w,) = [w for w in d["warnings"] if w["field"] == "pension_yuan"]
    assert w["row"] == 1 and w["severity"] == "warning"


def test_prepare_writes_no_warehouse_and_publish_applies(s):
    refs(s)
    fx.deliver_feed(s.landing, "bank_deposits", "2026-02-03", P)
    night(s, "2026-02-04", feeds=["ref_regions", "ref_standards"])
    before = hashlib.sha256(s.warehouse.read_bytes()).hexdigest()
    prepared = prepare_feed(s, "bank_deposits", dt.date(2026, 2, 4))
    assert [p.status for p in prepared] == ["ready"]
    assert hashlib.sha256(s.warehouse.read_bytes()).hexdigest() == before
    assert (prepared[0].staged_dir / "staging.parquet").exists()
    # a prepared delivery travels as a path (e.g. between Airflow tasks)
    summary = publish(s, [prepared[0].staged_dir])
    assert summary.feeds["bank_deposits"].loaded == 1
    assert sql(s, "select count(*) from staging.bank_deposits") == [(3,)]
    assert not (prepared[0].staged_dir / "staging.parquet").exists()  # staged Parquet cleaned after load


def test_prepare_delivery_of_a_waiting_folder(s):
    fx.deliver_feed(s.landing, "bank_deposits", "2026-02-03", P, manifest=False)
    (ref,) = discover(s, dt.date(2026, 2, 4), include_waiting=True)
    assert not ref.ready
    assert prepare_delivery(s, ref).status == "waiting"
    assert discover(s, dt.date(2026, 2, 4)) == []


def test_with_synthetic_province_if_available(tmp_path):
    """Optional: the first nights of the synthetic province load without rejections other than the
    generator's injected faults."""
    synth = pytest.importorskip("pipelines.synth")
    if not hasattr(synth, "generate"):
        pytest.skip("pipelines.synth.generate not available yet")
    try:
        result = synth.generate(out=tmp_path / "synth", households=60, months=3, seed=7)
    except TypeError:
        pytest.skip("pipelines.synth.generate has a different signature")
    s = Settings(landing=result.landing, warehouse=tmp_path / "wh.duckdb", show_progress=False, duckdb_threads=1)
    faults_file = tmp_path / "synth" / "faults.csv"
    faulty = set()
    if faults_file.exists():
        import csv

        faulty = {r["delivery_id"] for r in csv.DictReader(faults_file.open(encoding="utf-8"))}
    for day in result.nights[:4]:
        ingest(s, as_of=day)
    led = ledger(s)
    assert led
    unexpected = {k: v["errors"][:2] for k, v in led.items() if v["status"] == "rejected" and k not in faulty}
    assert not unexpected


def test_ingest_inside_the_nightly_writer_lock(s):
    """run_night holds the writer lock and calls ingest (whose publish takes it too): the inner use
    must neither fail nor release the outer holder's lock."""
    from pipelines.warehouse import writer_lock

    refs(s)
    lock = Path(str(s.warehouse) + ".lock")
    with writer_lock(s, owner="lowincome run --as-of 2026-01-05"):
        summary = night(s, "2026-01-05")
        assert summary.total("loaded") == 2
        assert json.loads(lock.read_text())["owner"] == "lowincome run --as-of 2026-01-05"
    assert not lock.exists()
