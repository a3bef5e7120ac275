"""Hostile and broken inputs, one class at a time, through ``ingest()`` / ``run_night()``: each ends as
a rejection (or a hold) with its reason naming file, row and field, the rest of the night goes on,
and nothing is lost or changed that should not be.

- a manifest nested 100,000 levels deep, or larger than ``manifest_max_bytes``;
- symbolic links anywhere under the landing zone (a delivery folder, a manifest, a data file, a
  link beside the files, a feed folder), unknown feed folders and folders that are not dates;
- a ``produced_at`` in the future;
- a manifest lying about its period;
- silent shrinkage, emptying and repetition: held until ``lowincome release``;
- a negative out-of-pocket amount without a reversal;
- spreadsheet payloads in other clothes in ``lowincome query --csv``;
- formatted 身份证号 and mobile numbers in feedback notes never reach the analyst database.

(The feedback intake's classes are in tests/test_feedback.py, the property-based shapes in
tests/test_fuzz_readers.py.)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

import ingest_fixtures as fx
from pipelines.config import Settings
from pipelines.ingest import ingest, json_too_deep

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
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        cur = con.execute("select * replace (produced_at::varchar as produced_at, first_seen_at::varchar as "
                          "first_seen_at, status_at::varchar as status_at, released_at::varchar as released_at) "
                          "from ops.deliveries")
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


def refs(s: Settings) -> None:
    fx.deliver_references(s.landing, "2025-12-20", P)


def rejected_with(entry: dict, check: str) -> dict:
    assert entry["status"] == "rejected", entry
    found = [e for e in entry["errors"] if e["check"] == check]
    assert found, entry["errors"]
    return found[0]


# --- manifests: bounded parsing -----------------------------------------------------------------

def test_a_deep_or_huge_manifest_is_rejected_and_the_night_goes_on(s):
    refs(s)
    fx.deliver_feed(s.landing, "mps_vehicles", "2026-02-03", P)  # a good delivery the same night
    deep = fx.deliver_feed(s.landing, "bank_deposits", "2026-02-03", P)
    (deep / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    objects = fx.deliver_feed(s.landing, "mps_hukou_members", "2026-02-03", P)
    (objects / "manifest.json").write_text('{"a": ' * 50_000 + "1" + "}" * 50_000)
    huge = fx.deliver_feed(s.landing, "samr_business", "2026-02-03", P)
    (huge / "manifest.json").write_text('{"feed_id": "samr_business", "pad": "' + "x" * 2_000_000 + '"}')
    summary = night(s, "2026-02-04")
    led = ledger(s)
    assert led["mps_vehicles/2026-02-03"]["status"] == "loaded"
    for did in ("bank_deposits/2026-02-03", "mps_hukou_members/2026-02-03"):
        e = rejected_with(led[did], "manifest")
        assert e["file"] == "manifest.json" and "nested deeper than 8 levels" in e["message"]
    e = rejected_with(led["samr_business/2026-02-03"], "manifest")
    assert "2,000,039 bytes, more than the 1,000,000" in e["message"]
    assert sql(s, "select count(*) from staging.bank_deposits")[0][0] == 0
    assert summary.total("rejected") == 3 and summary.total("loaded") == 3  # + the two reference feeds
    # settled: the next night does not read them again
    assert night(s, "2026-02-05").total("rejected") == 0
    # the depth scan is about structure, not about brackets inside strings
    assert not json_too_deep('{"name": "[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{\\\\"]]]]"}', 8)
    assert json_too_deep("[" * 9 + "]" * 9, 8) and not json_too_deep("[" * 8 + "]" * 8, 8)


# --- symbolic links and unknown folders ------------------------------------------------------------

def test_nothing_is_read_through_a_symbolic_link_and_unknown_folders_are_listed(s, tmp_path):
    refs(s)
    outside = tmp_path / "outside"
    key = outside / "secret.key"
    key.parent.mkdir()
    key.write_text("SECRET-KEY-0123456789abcdef-never-echo")
    # 1. a whole, valid delivery outside the landing zone, linked in as a delivery folder
    real = fx.deliver_feed(outside / "elsewhere", "mps_vehicles", "2026-02-03", P)
    (s.landing / "mps_vehicles").mkdir(parents=True)
    (s.landing / "mps_vehicles" / "2026-02-03").symlink_to(real)
    # 2. a manifest that is a link
    d = fx.deliver_feed(s.landing, "bank_deposits", "2026-02-03", P)
    (d / "manifest.json").rename(outside / "manifest.json")
    (d / "manifest.json").symlink_to(outside / "manifest.json")
    # 3. a listed data file that is a link (to a copy of the real file: the checksum would pass)
    d = fx.deliver_feed(s.landing, "samr_business", "2026-02-03", P)
    data = next(p for p in d.iterdir() if p.suffix == ".csv")
    data.rename(outside / data.name)
    data.symlink_to(outside / data.name)
    # 4. a link to a key file beside the files of an otherwise valid delivery
    d = fx.deliver_feed(s.landing, "mps_hukou_events", "2026-02-03", P)
    (d / "notes.csv").symlink_to(key)
    # 5. a feed folder that is a link, a folder of no feed, folders that are not dates, a stray file
    (s.landing / "mohurd_housing").symlink_to(outside / "elsewhere" / "mps_vehicles")
    (s.landing / "nhsa_claims_old" / "2026-02-03").mkdir(parents=True)
    (s.landing / "grid_visits" / "tmp-upload").mkdir(parents=True)
    (s.landing / "README.txt").write_text("hello")
    fx.deliver_feed(s.landing, "mps_hukou_members", "2026-02-03", P)  # and one good delivery
    summary = night(s, "2026-02-04")
    led = ledger(s)
    for did, file in (("mps_vehicles/2026-02-03", "mps_vehicles/2026-02-03"), ("bank_deposits/2026-02-03", "manifest.json"),
                      ("samr_business/2026-02-03", data.name), ("mps_hukou_events/2026-02-03", "notes.csv")):
        e = rejected_with(led[did], "symlink")
        assert e["file"] == file and "symbolic link" in e["message"], e
    assert led["mps_hukou_members/2026-02-03"]["status"] == "loaded"
    for table in ("mps_vehicles", "bank_deposits", "samr_business", "mps_hukou_events", "mohurd_housing"):
        assert sql(s, f"select count(*) from staging.{table}")[0][0] == 0, table
    assert "SECRET-KEY" not in json.dumps(led, default=str)
    unread = {(p, k) for p, k in sql(s, "select path, kind from ops.unread_entries where area = 'landing'")}
    assert unread == {("mohurd_housing", "symlink"), ("nhsa_claims_old", "unknown_feed"),
                      ("grid_visits/tmp-upload", "not_a_date"), ("README.txt", "not_a_folder")}
    assert sorted(summary.unread) == sorted(p for p, _ in unread)
    # the next night: nothing processed again, the entries still listed as seen that night
    again = night(s, "2026-02-05")
    assert again.total("rejected") == 0 and again.unread == []
    assert sql(s, "select count(*) from ops.unread_entries where last_seen_as_of = '2026-02-05'")[0][0] == 4
    # the report lists them as unknown folders
    from pipelines.nightly import run_stage

    report = Path(run_stage(s.with_(outbox=tmp_path / "outbox"), "report", dt.date(2026, 2, 5))).read_text()
    assert 'id="unread"' in report and "nhsa_claims_old" in report and "tmp-upload" in report


# --- clocks ------------------------------------------------------------------------------------------

def test_produced_at_in_the_future_is_rejected_and_blocks_no_correction(s):
    refs(s)
    fx.deliver_feed(s.landing, "hrss_employment", "2026-02-03", P, produced_at="2030-01-01T00:00:00+08:00")
    night(s, "2026-02-04")
    e = rejected_with(ledger(s)["hrss_employment/2026-02-03"], "produced_at")
    assert (e["file"], e["field"]) == ("manifest.json", "produced_at") and "2026-02-04" in e["message"]
    # a correction produced normally loads (a future produced_at would have outranked it for good);
    # one produced half an hour after the night's end is within the tolerance
    fx.deliver_feed(s.landing, "hrss_employment", "2026-02-05", P, produced_at="2026-02-06T00:30:00+08:00")
    night(s, "2026-02-05")
    assert ledger(s)["hrss_employment/2026-02-05"]["status"] == "loaded"
    assert sql(s, "select count(*) from staging.hrss_employment")[0][0] == 3


# --- a manifest lying about its period ----------------------------------------------------------------

def test_a_manifest_lying_about_its_period_is_rejected_naming_file_row_and_field(s):
    refs(s)
    fx.deliver_feed(s.landing, "nhsa_claims", "2026-02-03", P, fx.nhsa_rows(P, n=4))
    fx.deliver_feed(s.landing, "nhsa_claims", "2026-03-03", "2026-02", fx.nhsa_rows("2026-02", n=3, prefix="T"))
    night(s, "2026-03-04")
    before = sql(s, "select period, delivery_id, count(*) from staging.nhsa_claims group by all order by 1")
    # a January file (its settlements dated 2026-01-10) declared as February
    fx.deliver_feed(s.landing, "nhsa_claims", "2026-03-05", "2026-02", fx.nhsa_rows(P, n=4, prefix="L"))
    night(s, "2026-03-06")
    led = ledger(s)
    e = rejected_with(led["nhsa_claims/2026-03-05"], "period_mismatch")
    assert e["file"] == "nhsa_claims_202602.parquet" and e["row"] == 1 and e["field"] == "settle_date"
    assert "4 of 4 rows (100%) are dated outside the declared period 2026-02" in e["message"]
    assert "most in 2026-01" in e["message"] and e["count"] == 4
    # February stays February's, January is not counted twice
    assert sql(s, "select period, delivery_id, count(*) from staging.nhsa_claims group by all order by 1") == before
    assert sql(s, "select status, delivery_id from ops.completeness where feed_id = 'nhsa_claims' "
                  "and period = '2026-02'") == [("loaded", "nhsa_claims/2026-03-03")]
    # a late settlement or two among a month's claims is no lie: it loads, with the feed's warning
    mixed = fx.nhsa_rows("2026-02", n=3, prefix="M") + [
        fx.claim("M-late", fx.person_id(9), dt.date(2026, 1, 20), 100000, 50000)]
    fx.deliver_feed(s.landing, "nhsa_claims", "2026-03-07", "2026-02", mixed)
    night(s, "2026-03-08")
    late = ledger(s)["nhsa_claims/2026-03-07"]
    assert late["status"] == "loaded" and any(w["field"] == "settle_date" for w in late["warnings"])


def test_daily_disaster_records_reported_late_still_load(s):
    """From 2026-04 each day's mem_disaster folder holds what was reported that day: a record of an
    earlier month is late by design, even when it is the day's only record (no period check)."""
    refs(s)
    fx.deliver_feed(s.landing, "mem_disaster", "2026-05-02", "2026-05",
                    [fx.disaster("D-late", fx.person_id(3), "2026-03-28", status="active")])
    night(s, "2026-05-03")
    assert ledger(s)["mem_disaster/2026-05-02"]["status"] == "loaded"


# --- negative out-of-pocket amounts ----------------------------------------------------------------------

def test_negative_out_of_pocket_without_a_reversal_is_rejected(s):
    refs(s)
    rows = fx.nhsa_rows(P, n=3)
    # fund above the total: out of pocket -500 fen, and no reversal_of
    rows[1] = fx.claim(f"S{P}-odd", fx.person_id(7), dt.date(2026, 1, 12), 1000, 1500)
    fx.deliver_feed(s.landing, "nhsa_claims", "2026-02-03", P, rows)
    reversal = fx.nhsa_rows("2026-02", n=2, prefix="R")
    reversal.append(fx.claim("R-rev", reversal[0]["person_id"], dt.date(2026, 2, 11), -1234567, -800000, -100000,
                             -50000, reversal_of=reversal[0]["settle_id"]))
    fx.deliver_feed(s.landing, "nhsa_claims", "2026-03-03", "2026-02", reversal)
    night(s, "2026-03-04")
    led = ledger(s)
    e = rejected_with(led["nhsa_claims/2026-02-03"], "oop_sign")
    assert (e["file"], e["row"], e["field"]) == ("nhsa_claims_202601.parquet", 2, "oop_yuan")
    assert led["nhsa_claims/2026-03-03"]["status"] == "loaded"  # a reversal's negative amounts are fine
    assert sql(s, "select count(*) from staging.nhsa_claims where period = ?", [P])[0][0] == 0


# --- held: shrinking, emptying, repeating -----------------------------------------------------------------

def test_an_empty_or_repeated_delivery_is_held_and_an_empty_day_is_not(s):
    refs(s)
    fx.deliver_feed(s.landing, "mem_disaster", "2026-02-03", P)  # two records of January
    fx.deliver(s.landing, "mem_disaster", "2026-02-09", P, {"mem_disaster_202601.jsonl": (b"", 0)})
    first = fx.deliver_feed(s.landing, "grid_visits", "2026-01-28", P)
    shutil.copytree(first, s.landing / "grid_visits" / "2026-01-30")  # the same files under a new date
    for day in ("2026-04-02", "2026-04-03"):  # two daily polls with nothing new: identical empty files
        fx.deliver(s.landing, "mem_disaster", day, "2026-04", {"mem_disaster_20260401.jsonl": (b"", 0)})
    summary = night(s, "2026-04-04")
    led = ledger(s)
    empty, copy = led["mem_disaster/2026-02-09"], led["grid_visits/2026-01-30"]
    assert empty["status"] == "held" and "0 rows would replace the 2 rows loaded from mem_disaster/2026-02-03" \
        in empty["held_reason"]
    assert copy["status"] == "held" and "byte for byte those of grid_visits/2026-01-28" in copy["held_reason"]
    assert led["mem_disaster/2026-04-02"]["status"] == led["mem_disaster/2026-04-03"]["status"] == "loaded"
    assert summary.total("held") == 2
    assert sql(s, "select delivery_id, count(*) from staging.mem_disaster group by 1") == [("mem_disaster/2026-02-03", 2)]
    assert sql(s, "select count(*) from staging.grid_visits")[0][0] == 3
    assert sql(s, "select status, delivery_id from ops.completeness where feed_id = 'mem_disaster' and period = ?",
               [P]) == [("loaded", "mem_disaster/2026-02-03")]


@pytest.fixture
def province(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWINCOME_HMAC_KEY", "hostile-inputs-test-key-" + "0" * 40)
    s = Settings(landing=tmp_path / "landing", warehouse=tmp_path / "wh" / "warehouse.duckdb",
                 outbox=tmp_path / "outbox", feedback=tmp_path / "feedback", show_progress=False,
                 duckdb_threads=1, duckdb_memory_limit="1GB", extra={"data_docs": False})
    fx.tiny_province(s.landing, P, "2026-02-03")
    return s


def test_a_shrinking_snapshot_is_held_until_a_person_releases_it(province, capsys):
    from pipelines.cli import main
    from pipelines.nightly import run_night

    s = province
    run_night(s, dt.date(2026, 2, 10))
    original = sql(s, "select delivery_id, person_id from staging.mca_roster order by 2")
    assert len(original) == 3
    # the roster re-delivered with one of its three persons: the others would come back as hukou
    # households, with second cases for the same events
    fx.deliver_feed(s.landing, "mca_roster", "2026-02-11", P, fx.roster_rows(P, n=1))
    summary = run_night(s, dt.date(2026, 2, 12))
    assert summary.stages["ingest"]["held"] == 1 and summary.report and summary.analyst_db  # the night went on
    held = ledger(s)["mca_roster/2026-02-11"]
    assert held["status"] == "held" and held["rows"] == 0
    assert "1 rows would replace the 3 rows of the 2026-01 snapshot loaded from mca_roster/2026-02-03" in held["held_reason"]
    assert sql(s, "select delivery_id, person_id from staging.mca_roster order by 2") == original
    assert sql(s, "select status, delivery_id from ops.completeness where feed_id = 'mca_roster' and period = ?",
               [P]) == [("loaded", "mca_roster/2026-02-03")]
    assert "HELD" in summary.render() and "lowincome release mca_roster/2026-02-11" in summary.render()
    report = Path(summary.report).read_text(encoding="utf-8")
    assert 'id="held"' in report and "lowincome release mca_roster/2026-02-11" in report
    feed = sql(s, "select freshness_status from ops.feed_status(?) where feed_id = 'mca_roster'",
               [dt.date(2026, 2, 12)])
    assert feed == [("held",)]
    # the next night leaves it held and reads nothing again
    assert run_night(s, dt.date(2026, 2, 13)).stages["ingest"]["held"] == 0
    assert ledger(s)["mca_roster/2026-02-11"]["status"] == "held"
    # a person releases it: who and when in the audit log; the next night loads it
    assert main(["release", "mca_roster/2026-02-11", "--warehouse", str(s.warehouse), "--by", "王科长",
                 "--note", "the county closed two families"]) == 0
    assert "released mca_roster/2026-02-11" in capsys.readouterr().out
    audit = sql(s, "select actor, target, json_extract_string(detail, '$.note') from ops.audit_log "
                   "where action = 'delivery_released'")
    assert audit == [("王科长", "mca_roster/2026-02-11", "the county closed two families")]
    assert main(["release", "mca_roster/2026-02-11", "--warehouse", str(s.warehouse)]) == 2  # not held any more
    assert "is released, not held" in capsys.readouterr().err
    run_night(s, dt.date(2026, 2, 14))
    loaded = ledger(s)["mca_roster/2026-02-11"]
    assert loaded["status"] == "loaded" and loaded["released_by"] == "王科长" and loaded["held_reason"]
    assert sql(s, "select count(*) from staging.mca_roster")[0][0] == 1


# --- spreadsheet payloads in lowincome query --csv -------------------------------------------------------

def test_query_csv_neutralises_every_formula_lead(tmp_path):
    from pipelines.analyst.query import query_cli

    db = tmp_path / "analyst.duckdb"
    payloads = ["=1+1", " @SUM(A1)", "\ufeff=cmd|' /C calc'!A0", "－1+1", "＝HYPERLINK(\"x\")", "\u00a0+1",
                "\u3000=1", "\u200b-2", "\t3", "normal 文本"]
    with duckdb.connect(str(db)) as con:
        con.execute("create table t (i integer, s varchar, amount decimal(10, 2))")
        con.executemany("insert into t values (?, ?, ?)", [(i, p, -5) for i, p in enumerate(payloads)])
    out = io.StringIO()
    assert query_cli(Settings(warehouse=tmp_path / "w.duckdb"), "select i, s, amount, s as \"=col\" from t order by i",
                     csv=True, database=db, out=out, err=io.StringIO()) == 0
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["i", "s", "amount", "'=col"]
    for row, payload in zip(rows[1:], payloads):
        assert row[1] == (payload if payload == "normal 文本" else "'" + payload), row
        assert row[2] == "-5.00"  # a number from a typed column stays a number


# --- formatted personal data in feedback notes never reaches the analyst database -------------------------

def test_formatted_ids_and_phone_numbers_in_notes_never_reach_the_analyst_database(province):
    from pipelines.analyst.scan import find_identifiers
    from pipelines.dispatch import FEEDBACK_COLUMNS
    from pipelines.nightly import run_night

    s = province
    run_night(s, dt.date(2026, 2, 10))
    folder = sorted(s.outbox.glob("MCA/[0-9]*/2026-02-10"))[0]  # one office's extract (MCA: town offices)
    with open(folder / "feedback_template.csv", encoding="utf-8-sig", newline="") as f:
        cases = [r["case_id"] for r in csv.DictReader(f)]
    assert cases
    pid = fx.person_id(1)  # 440303198001010011-like, a roster member
    spaced = f"{pid[:6]} {pid[6:14]} {pid[14:]}"
    full_width = pid.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    notes = [f"身份证 {spaced}", f"证件号 {pid[:6]}-{pid[6:10]}-{pid[10:14]}-{pid[14:]}", f"号码 {full_width}",
             "电话 +86 138 1234 5678", "手机 0086-139-8765-4321", "联系 (86)137.2222.3333", "手机１３６ ４４４４ ５５５５"]
    fb = s.feedback / "MCA" / folder.parent.name / "2026-02-11" / "feedback.csv"
    fb.parent.mkdir(parents=True)
    with open(fb, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(FEEDBACK_COLUMNS)
        for i, cid in enumerate(cases):
            w.writerow([cid, "accepted", "入户核实", "", "2026-02-11", "王五", notes[i % len(notes)] + "；" +
                        notes[(i + 1) % len(notes)] + "；" + "；".join(notes)])
    second = run_night(s, dt.date(2026, 2, 12))
    assert second.stages["feedback"]["applied"] == len(cases)
    con = duckdb.connect(str(s.analyst_db), read_only=True)
    try:
        assert find_identifiers(con, include_views=True) == []
        values = [v for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()
                  for r in con.execute(f'select columns(*)::varchar from "{t}"').fetchall() for v in r if v]
    finally:
        con.close()
    assert any("[证件号]" in v for v in values) and any("[电话]" in v for v in values)  # arrived, scrubbed
    to_ascii = str.maketrans("０１２３４５６７８９", "0123456789")
    squeezed = [re.sub(r"[\s\-.·()（）+＋]", "", v.translate(to_ascii)) for v in values]
    for number in (pid[:17], "13812345678", "13987654321", "13722223333", "13644445555"):
        assert not [v for v in squeezed if number in v], number
