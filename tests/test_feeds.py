"""Feed readers: every feed parses, and every department quirk in docs/feeds.md has a test."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

import ingest_fixtures as fx
from pipelines.feeds import FEEDS, FeedFormatError
from pipelines.ingest import type_batch
from pipelines.warehouse import migrate as init_warehouse

ARCHITECTURE_FEEDS = {"mca_roster", "hrss_employment", "nhsa_claims", "moe_students", "mohurd_housing",
                      "samr_business", "mps_hukou_events", "mps_hukou_members", "mps_vehicles", "cdpf_disability",
                      "mem_disaster", "bank_deposits", "grid_visits", "ref_regions", "ref_standards",
                      "mca_econ_checks", "moa_relapse_watch"}


def read(folder: Path, feed_id: str, period: str = "2026-01", part: str | None = None) -> pa.Table:
    """The one file of the delivery (or of ``part``), read in the layout of ``period``."""
    spec = FEEDS[feed_id]
    p = spec.part(part) if part else spec.parts[0]
    files = [f for f in folder.iterdir() if f.name != "manifest.json" and p.matches(f.name)]
    assert len(files) == 1
    return p.read(files[0], period)


def typed(feed_id: str, raw: pa.Table, period: str = "2026-01", part: str | None = None) -> tuple[list[dict], list[dict]]:
    """Run the part's staging SQL over a raw batch, exactly as prepare does: (rows, parse errors)."""
    n = raw.num_rows
    raw = raw.replace_schema_metadata(None)
    raw = raw.append_column("delivery_id", pa.array([f"{feed_id}/x"] * n, pa.string()))
    raw = raw.append_column("period", pa.array([period] * n, pa.string()))
    con = duckdb.connect()
    con.register("raw_batch", raw)
    spec = FEEDS[feed_id]
    table, errors = type_batch(con, spec.part(part) if part else spec.parts[0])
    return table.to_pylist(), errors


def test_registry_matches_architecture():
    assert set(FEEDS) == ARCHITECTURE_FEEDS
    for spec in FEEDS.values():
        assert spec.cadence in {"monthly", "quarterly", "term", "daily", "reference"}
        assert spec.kind in {"snapshot", "events"}
        assert spec.partition in {"period", "delivery"}
        assert callable(spec.read_raw) and "from raw_batch" in spec.staging_sql
        for part in spec.parts:
            assert callable(part.read_raw) and "from raw_batch" in part.staging_sql and part.feed_id == spec.feed_id
    assert FEEDS["grid_visits"].partition == "delivery"
    assert FEEDS["mohurd_housing"].months_covered == 3 and FEEDS["moe_students"].months_covered == 6
    # catalog v2: new feeds start in 2026-01, v1 feeds have no since; a daily switch; two parts
    assert {f: s.since for f, s in FEEDS.items() if s.since} == {"mca_econ_checks": "2026-01",
                                                                  "moa_relapse_watch": "2026-01"}
    assert FEEDS["mem_disaster"].partition_for("2026-03") == "period"
    assert FEEDS["mem_disaster"].partition_for("2026-04") == "delivery"
    assert FEEDS["mca_econ_checks"].tables == ("mca_econ_checks", "mca_econ_check_members")
    assert FEEDS["moa_relapse_watch"].department == "MOA"


def test_ddl_matches_readers_and_staging_sql():
    """warehouse/raw|staging/*.sql (the data dictionary) agree with the readers and staging SQL."""
    con = duckdb.connect()
    init_warehouse(con)
    cols = con.execute("select schema_name, table_name, column_name, data_type, comment from duckdb_columns() "
                       "where schema_name in ('raw', 'staging', 'ops')").fetchall()
    assert all(c[4] for c in cols), [c[:3] for c in cols if not c[4]]
    tables = con.execute("select schema_name, table_name, comment from duckdb_tables() "
                         "where schema_name in ('raw', 'staging', 'ops')").fetchall()
    assert all(t[2] for t in tables)
    by_table: dict[tuple, dict] = {}
    for schema, table, col, dtype, _ in cols:
        by_table.setdefault((schema, table), {})[col] = dtype
    for feed_id, spec in FEEDS.items():
        for part in spec.parts:
            assert list(by_table[("raw", part.table)]) == list(part.raw_columns) + ["_file", "_row", "delivery_id",
                                                                                     "period"]
            staging = by_table[("staging", part.table)]
            assert list(staging) == part.staging_columns
            for f in part.fields:
                assert staging[f.name].lower() == f.type.lower(), (part.table, f.name, staging[f.name], f.type)


@pytest.mark.parametrize("feed_id", sorted(ARCHITECTURE_FEEDS))
def test_each_feed_parses(tmp_path, feed_id):
    folder = fx.deliver_feed(tmp_path, feed_id, "2026-02-03", "2026-01")
    for part in FEEDS[feed_id].parts:
        raw = read(folder, feed_id, part=part.name)
        assert raw.column_names == list(part.raw_columns) + ["_file", "_row"]
        assert all(pa.types.is_string(raw.schema.field(c).type) for c in part.raw_columns), raw.schema
        assert raw.column("_row").to_pylist() == list(range(1, raw.num_rows + 1))
        rows, errors = typed(feed_id, raw, part=part.name)
        assert errors == []
        assert len(rows) == raw.num_rows > 0
        assert list(rows[0]) == part.staging_columns


def test_gb18030_and_chinese_headers(tmp_path):
    rows = fx.hrss_rows("2026-01", n=5)
    folder = fx.deliver_feed(tmp_path, "hrss_employment", "2026-02-03", "2026-01", rows)
    data = next(folder.glob("*.csv")).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really GB18030
    assert "统计月份".encode("gb18030") in data
    raw = read(folder, "hrss_employment")
    assert raw.column_names[:7] == ["month", "person_id", "employment_status", "employer_code",
                                    "contribution_base", "unemployment_benefit", "pension"]
    assert raw.column("employment_status").to_pylist() == ["在职", "灵活就业", "失业登记", "退休", "无"]  # raw as delivered
    staged, errors = typed("hrss_employment", raw)
    assert errors == []
    assert [r["employment_status"] for r in staged] == ["employed", "flexible", "unemployed_registered", "retired", "none"]
    assert staged[0]["month"] == "2026-01"  # YYYYMM -> YYYY-MM
    assert staged[0]["contribution_base_yuan"] == Decimal("4500.50")


def test_hrss_utf8_export_still_reads(tmp_path):
    folder = fx.deliver_feed(tmp_path, "hrss_employment", "2026-02-03", "2026-01", fx.hrss_rows("2026-01"),
                             encoding="utf-8")
    raw = read(folder, "hrss_employment")
    assert raw.column("employment_status").to_pylist()[0] == "在职"


def test_hrss_renamed_chinese_header_is_named(tmp_path):
    data, n = fx.hrss_employment(fx.hrss_rows("2026-01"))
    data = data.replace("缴费基数".encode("gb18030"), "工资".encode("gb18030"))
    folder = fx.deliver(tmp_path, "hrss_employment", "2026-02-03", "2026-01", {"h.csv": (data, n)})
    with pytest.raises(FeedFormatError) as e:
        read(folder, "hrss_employment")
    assert e.value.file == "h.csv"
    assert "缴费基数" in str(e.value) and "工资" in str(e.value) and "renamed" in str(e.value)


def test_fen_to_yuan_exact(tmp_path):
    pid = fx.person_id(1)
    rows = [fx.claim("S1", pid, dt.date(2026, 1, 5), 1234567, 800000, 100000, 50000),
            fx.claim("S2", pid, dt.date(2026, 1, 9), -1234567, -800000, -100000, -50000, reversal_of="S1"),
            fx.claim("S3", pid, dt.date(2026, 1, 9), 1, 0)]
    folder = fx.deliver_feed(tmp_path, "nhsa_claims", "2026-02-03", "2026-01", rows)
    raw = read(folder, "nhsa_claims")
    assert raw.column("total_fen").to_pylist() == ["1234567", "-1234567", "1"]  # raw: as delivered, as text
    assert raw.column("settle_date").to_pylist()[0] == "2026-01-05"
    staged, errors = typed("nhsa_claims", raw)
    assert errors == []
    assert staged[0]["total_yuan"] == Decimal("12345.67")
    assert staged[0]["oop_yuan"] == Decimal("2845.67")
    assert staged[1]["total_yuan"] == Decimal("-12345.67") and staged[1]["reversal_of"] == "S1"
    assert staged[2]["total_yuan"] == Decimal("0.01")
    assert staged[0]["catastrophic"] is False and staged[0]["settle_date"] == dt.date(2026, 1, 5)


def test_yyyymmdd_dates(tmp_path):
    rows = fx.feed_rows("mps_hukou_events", "2026-01", n=2)
    rows[1]["event_date"] = "20261301"  # not a date
    folder = fx.deliver_feed(tmp_path, "mps_hukou_events", "2026-02-03", "2026-01", rows)
    staged, errors = typed("mps_hukou_events", read(folder, "mps_hukou_events"))
    assert staged[0]["event_date"] == dt.date(2026, 1, 15)
    assert [(e["field"], e["row"], e["file"]) for e in errors] == [("event_date", 2, "mps_hukou_events_202601.csv")]
    assert "20261301" in errors[0]["message"] and errors[0]["check"] == "parse"
    folder = fx.deliver_feed(tmp_path, "mps_hukou_members", "2026-02-03", "2026-01")
    staged, errors = typed("mps_hukou_members", read(folder, "mps_hukou_members"))
    assert errors == [] and staged[0]["as_of"] == dt.date(2026, 1, 15)


def test_lowercase_x_and_whitespace_in_ids(tmp_path):
    pid = fx.person_id_with_x()
    rows = fx.roster_rows("2026-01", n=2)
    rows[0]["person_id"] = "  " + pid.lower() + " "
    rows[1]["family_id"] = rows[1]["family_id"].lower()
    folder = fx.deliver_feed(tmp_path, "mca_roster", "2026-02-03", "2026-01", rows)
    raw = read(folder, "mca_roster")
    assert raw.column("person_id").to_pylist()[0].strip().endswith("x")
    staged, _ = typed("mca_roster", raw)
    assert staged[0]["person_id"] == pid and pid.endswith("X")
    assert staged[1]["family_id"].startswith("F")
    # the same normalisation in the other feeds (e.g. the GB18030 one)
    hrss = fx.hrss_rows("2026-01", n=1)
    hrss[0]["person_id"] = pid.lower()
    folder = fx.deliver_feed(tmp_path, "hrss_employment", "2026-02-04", "2026-01", hrss)
    staged, _ = typed("hrss_employment", read(folder, "hrss_employment"))
    assert staged[0]["person_id"] == pid


def test_utf8_bom(tmp_path):
    folder = fx.deliver_feed(tmp_path, "mca_roster", "2026-02-03", "2026-01", fx.roster_rows("2026-01"), bom=True)
    assert next(folder.glob("*.csv")).read_bytes().startswith(b"\xef\xbb\xbf")
    raw = read(folder, "mca_roster")
    assert raw.column_names[0] == "snapshot_month"  # not "\ufeffsnapshot_month"
    assert raw.column("snapshot_month").to_pylist()[0] == "2026-01"


def test_xlsx_with_chinese_headers_and_values(tmp_path):
    rows = fx.cdpf_rows(n=7)
    folder = fx.deliver_feed(tmp_path, "cdpf_disability", "2026-02-03", "2026-01", rows)
    raw = read(folder, "cdpf_disability")
    assert raw.column_names[:5] == ["person_id", "disability_type", "disability_grade", "issued_on", "cert_status"]
    assert raw.column("issued_on").to_pylist()[0] == "2019-05-20"  # a real date cell, rendered as a date
    staged, errors = typed("cdpf_disability", raw)
    assert errors == []
    assert [r["disability_type"] for r in staged] == ["visual", "hearing", "speech", "physical", "intellectual",
                                                      "mental", "multiple"]
    assert [r["disability_grade"] for r in staged] == [1, 2, 3, 4, 1, 2, 3]
    assert [r["cert_status"] for r in staged][:3] == ["cancelled", "valid", "valid"]
    assert staged[0]["issued_on"] == dt.date(2019, 5, 20)


def test_xlsx_with_text_dates(tmp_path):
    folder = fx.deliver_feed(tmp_path, "cdpf_disability", "2026-02-03", "2026-01", fx.cdpf_rows(2), date_cells=False)
    staged, errors = typed("cdpf_disability", read(folder, "cdpf_disability"))
    assert errors == [] and staged[1]["issued_on"] == dt.date(2019, 5, 20)


def test_json_lines(tmp_path):
    rows = fx.disaster_rows("2026-01", n=2)
    data, n = fx.mem_disaster(rows)
    data = data.replace(b"\n", b"\n\n", 1)  # a blank line between objects is tolerated
    folder = fx.deliver(tmp_path, "mem_disaster", "2026-02-03", "2026-01", {"d.jsonl": (data, n)})
    raw = read(folder, "mem_disaster")
    assert raw.num_rows == 2
    assert raw.column("occurred_on").to_pylist() == ["2026-01-05", "2026-01-05"]  # verbatim, not a timestamp
    assert raw.column("loss_yuan").to_pylist() == ["35000", "35000.5"]  # JSON numbers keep their digits
    staged, errors = typed("mem_disaster", raw)
    assert errors == [] and staged[1]["loss_yuan"] == Decimal("35000.50")


def test_json_lines_unexpected_field_is_ignored_and_named(tmp_path):
    from pipelines.feeds._readers import ignored_columns

    rows = fx.disaster_rows("2026-01", n=1)
    rows[0]["victim_name"] = "王五"
    folder = fx.deliver(tmp_path, "mem_disaster", "2026-02-03", "2026-01", {"d.jsonl": fx.mem_disaster(rows)})
    raw = read(folder, "mem_disaster")
    assert ignored_columns(raw) == ["victim_name"]
    assert "victim_name" not in raw.column_names and raw.num_rows == 1


def test_booleans_in_every_spelling(tmp_path):
    rows = fx.feed_rows("mohurd_housing", "2026-01", n=6)
    assert [r["public_rental"] for r in rows] == ["true", "False", "1", "0", "TRUE", "false"]
    folder = fx.deliver_feed(tmp_path, "mohurd_housing", "2026-02-03", "2026-01", rows)
    staged, errors = typed("mohurd_housing", read(folder, "mohurd_housing"))
    assert errors == []
    assert [r["public_rental"] for r in staged] == [True, False, True, False, True, False]
    rows[0]["public_rental"] = "yes?"
    folder = fx.deliver_feed(tmp_path, "mohurd_housing", "2026-02-04", "2026-01", rows)
    _, errors = typed("mohurd_housing", read(folder, "mohurd_housing"))
    assert [(e["field"], e["row"]) for e in errors] == [("public_rental", 1)]
    assert "yes?" in errors[0]["message"]


def test_findings_list_and_multiline_note(tmp_path):
    folder = fx.deliver_feed(tmp_path, "grid_visits", "2026-01-28", "2026-01")
    raw = read(folder, "grid_visits")
    assert raw.num_rows == 3  # the quoted line break inside a note does not split the row
    staged, _ = typed("grid_visits", raw)
    assert staged[0]["findings"] == ["job_loss", "illness"] and staged[1]["findings"] == ["no_change"]
    assert "\n" in staged[0]["note"]
    assert staged[1]["family_id"] is None and staged[1]["hukou_no"] == "440303001234"


def _roster_with_columns(cols: list[str]) -> tuple[bytes, int]:
    row = fx.roster_rows("2026-01", n=1)[0]
    return fx.csv_bytes(cols, [[row.get(c, "x") for c in cols]]), 1


@pytest.mark.parametrize("kind,match", [
    ("missing", "missing column.*'relation'"),
    ("renamed", "missing column.*'urban_rural'.*unexpected column.*'urbanrural'.*renamed"),
])
def test_missing_renamed_columns(tmp_path, kind, match):
    from pipelines.feeds.mca_roster import RAW_COLUMNS

    cols = list(RAW_COLUMNS)
    if kind == "missing":
        cols.remove("relation")
    else:
        cols[cols.index("urban_rural")] = "urbanrural"
    folder = fx.deliver(tmp_path, "mca_roster", "2026-02-03", "2026-01", {"roster.csv": _roster_with_columns(cols)})
    with pytest.raises(FeedFormatError, match=match) as e:
        read(folder, "mca_roster")
    assert e.value.file == "roster.csv" and e.value.field


def test_parquet_missing_column_is_named(tmp_path):
    import io

    import pyarrow.parquet as pq

    data, n = fx.nhsa_claims(fx.nhsa_rows("2026-01", n=1))
    table = pq.read_table(io.BytesIO(data)).drop_columns(["oop_fen"])
    buf = io.BytesIO()
    pq.write_table(table, buf)
    folder = fx.deliver(tmp_path, "nhsa_claims", "2026-02-03", "2026-01", {"c.parquet": (buf.getvalue(), n)})
    with pytest.raises(FeedFormatError, match="oop_fen") as e:
        read(folder, "nhsa_claims")
    assert e.value.field == "oop_fen"


def test_suites_are_valid_gx_json():
    """Every feed has a suite; every expectation declares its severity; GX accepts the JSON."""
    import os

    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx

    from pipelines.validate import load_suite_json

    for feed_id, spec in FEEDS.items():
        for part in spec.parts:
            suite_json = load_suite_json(part.suite)
            assert suite_json["name"] == part.table and suite_json["meta"]["feed_id"] == feed_id
            assert all(e["meta"]["severity"] in {"critical", "warning"} for e in suite_json["expectations"])
            suite = gx.ExpectationSuite(**json.loads(json.dumps(suite_json)))
            assert len(suite.expectations) == len(suite_json["expectations"])


# --- catalog v2: layouts by period, unannounced columns, the new feeds ------------------------------

def _xlsx(rows: list[dict], headers: list[str]) -> tuple[bytes, int]:
    return fx.cdpf_disability(rows, headers=headers)


def test_cdpf_layout_is_chosen_by_period(tmp_path):
    v1 = fx.deliver(tmp_path, "cdpf_disability", "2026-07-03", "2026-06", {"c.xlsx": _xlsx(fx.cdpf_rows(4), fx.CDPF_V1_HEADERS)})
    staged, errors = typed("cdpf_disability", read(v1, "cdpf_disability", "2026-06"), "2026-06")
    assert errors == [] and {(r["living_subsidy"], r["nursing_subsidy"]) for r in staged} == {(None, None)}
    v2 = fx.deliver(tmp_path, "cdpf_disability", "2026-08-03", "2026-07",
                    {"c.xlsx": _xlsx(fx.cdpf_rows(4, v2=True), fx.CDPF_V2_HEADERS)})
    raw = read(v2, "cdpf_disability", "2026-07")
    assert raw.column("living_subsidy").to_pylist() == ["是", "否", "是", "否"]  # raw: as delivered
    staged, errors = typed("cdpf_disability", raw, "2026-07")
    assert errors == []
    assert [(r["living_subsidy"], r["nursing_subsidy"]) for r in staged] == \
        [(True, True), (False, False), (True, False), (False, False)]


def test_cdpf_wrong_layout_for_the_period_names_the_columns(tmp_path):
    # a late re-delivery of a v1 period (2026-06) must keep layout v1, even if it arrives after 2026-07
    v2_file = fx.deliver(tmp_path, "cdpf_disability", "2026-09-10", "2026-06",
                         {"c.xlsx": _xlsx(fx.cdpf_rows(2, v2=True), fx.CDPF_V2_HEADERS)})
    with pytest.raises(FeedFormatError) as e:
        read(v2_file, "cdpf_disability", "2026-06")
    assert e.value.check == "layout" and e.value.file == "c.xlsx" and e.value.field == "困难残疾人生活补贴"
    assert "重度残疾人护理补贴" in str(e.value) and "layout v2 (from period 2026-07)" in str(e.value)
    # a v2 period delivered in the v1 layout: the two columns are missing, named, with the layout
    v1_file = fx.deliver(tmp_path, "cdpf_disability", "2026-09-03", "2026-08",
                         {"c.xlsx": _xlsx(fx.cdpf_rows(2), fx.CDPF_V1_HEADERS)})
    with pytest.raises(FeedFormatError) as e:
        read(v1_file, "cdpf_disability", "2026-08")
    assert e.value.check == "layout" and e.value.field == "困难残疾人生活补贴"
    assert "missing column(s) '困难残疾人生活补贴', '重度残疾人护理补贴'" in str(e.value)


def test_cdpf_subsidy_that_is_not_yes_or_no_is_a_parse_error(tmp_path):
    rows = fx.cdpf_rows(3, v2=True)
    rows[1]["nursing_subsidy"] = "可能"
    folder = fx.deliver(tmp_path, "cdpf_disability", "2026-08-03", "2026-07", {"c.xlsx": _xlsx(rows, fx.CDPF_V2_HEADERS)})
    _, errors = typed("cdpf_disability", read(folder, "cdpf_disability", "2026-07"), "2026-07")
    assert [(e["file"], e["row"], e["field"], e["check"]) for e in errors] == [("c.xlsx", 2, "nursing_subsidy", "parse")]
    assert "可能" in errors[0]["message"] and "重度残疾人护理补贴" in errors[0]["message"]


def test_grid_visits_layout_v2(tmp_path):
    from pipelines.feeds.grid_visits import LAYOUTS

    rows = fx.grid_v2_rows("2026-07", n=3)
    rows[0]["person_id"] = rows[0]["person_id"].lower() + " "
    folder = fx.deliver(tmp_path, "grid_visits", "2026-07-20", "2026-07",
                        {"g.csv": fx.grid_visits(rows, list(LAYOUTS[1].columns))})
    staged, errors = typed("grid_visits", read(folder, "grid_visits", "2026-07"), "2026-07")
    assert errors == []
    assert [r["person_id"] for r in staged] == [fx.person_id(1), None, fx.person_id(3)]
    assert {r["region_code"] for r in staged} == {fx.VILLAGE_URBAN}
    # v1 deliveries: the two columns are null
    folder = fx.deliver(tmp_path, "grid_visits", "2026-06-20", "2026-06", {"g.csv": fx.grid_visits(rows)})
    staged, _ = typed("grid_visits", read(folder, "grid_visits", "2026-06"), "2026-06")
    assert {(r["person_id"], r["region_code"]) for r in staged} == {(None, None)}
    # the v1 layout for a v2 period, and v2 for a v1 period, are rejected naming the columns
    with pytest.raises(FeedFormatError, match="missing column.*'person_id', 'region_code'") as e:
        read(folder, "grid_visits", "2026-07")
    assert e.value.check == "layout"
    v2_early = fx.deliver(tmp_path, "grid_visits", "2026-06-21", "2026-06",
                          {"g.csv": fx.grid_visits(rows, list(LAYOUTS[1].columns))})
    with pytest.raises(FeedFormatError, match="'person_id', 'region_code' belong to layout v2") as e:
        read(v2_early, "grid_visits", "2026-06")
    assert e.value.check == "layout" and e.value.field == "person_id"


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet", "jsonl"])
def test_unannounced_column_is_ignored_and_named_in_every_format(tmp_path, fmt):
    """Schema drift: a column no layout announces loads (ignored) and is named; the rest is intact."""
    import io

    import pyarrow.parquet as pq

    from pipelines.feeds._readers import ignored_columns

    if fmt == "csv":
        feed, rows = "mca_roster", fx.roster_rows("2026-01", n=2)
        from pipelines.feeds.mca_roster import RAW_COLUMNS

        cols = list(RAW_COLUMNS[:5]) + ["备注"] + list(RAW_COLUMNS[5:])
        data = fx.csv_bytes(cols, [[r.get(c, "随便") for c in cols] for r in rows]), 2
        extra = "备注"
    elif fmt == "xlsx":
        feed, rows = "cdpf_disability", fx.cdpf_rows(2)
        for r in rows:
            r["联系电话"] = "13800000000"
        data, extra = _xlsx(rows, fx.CDPF_V1_HEADERS + ["联系电话"]), "联系电话"
    elif fmt == "parquet":
        feed = "nhsa_claims"
        raw, n = fx.nhsa_claims(fx.nhsa_rows("2026-01", n=2))
        table = pq.read_table(io.BytesIO(raw))
        table = table.append_column("hospital_code", pa.array(["H1", "H2"]))
        buf = io.BytesIO()
        pq.write_table(table, buf)
        data, extra = (buf.getvalue(), n), "hospital_code"
    else:
        feed, rows = "mem_disaster", fx.disaster_rows("2026-01", n=2)
        rows[1]["victim_count"] = 3
        data, extra = fx.mem_disaster(rows), "victim_count"
    folder = fx.deliver(tmp_path, feed, "2026-02-03", "2026-01", {f"f.{fmt}": data})
    raw = read(folder, feed)
    assert ignored_columns(raw) == [extra]
    assert raw.column_names == list(FEEDS[feed].raw_columns) + ["_file", "_row"] and raw.num_rows == 2
    staged, errors = typed(feed, raw)
    assert errors == [] and staged[0]["person_id"] == fx.person_id(1)


def test_moa_relapse_watch_chinese_headers_and_codes(tmp_path):
    rows = fx.moa_rows("2026-01", n=3)
    rows[0]["head_person_id"] = rows[0]["head_person_id"].lower()
    folder = fx.deliver_feed(tmp_path, "moa_relapse_watch", "2026-02-05", "2026-01", rows)
    data = next(folder.glob("*.csv")).read_bytes()
    assert "监测户编号".encode() in data and "风险类型".encode() in data
    raw = read(folder, "moa_relapse_watch")
    assert raw.column("watch_type").to_pylist()[0] == "脱贫不稳定户"  # raw: as delivered
    staged, errors = typed("moa_relapse_watch", raw)
    assert errors == []
    assert [r["watch_type"] for r in staged] == ["unstable_poverty_exit", "edge_at_risk", "sudden_hardship"]
    assert [r["risk_types"] for r in staged] == [["illness"], ["disability", "education"], ["disaster", "business_failure"]]
    assert [r["risk_eliminated"] for r in staged] == [False, True, False]
    assert staged[0]["head_person_id"] == fx.person_id(201)
    assert staged[0]["net_income_per_capita_yuan"] == Decimal("8600") and staged[0]["income_year"] == 2025
    assert staged[1]["transfer_income_per_capita_yuan"] == Decimal("2100.50")


def test_mca_econ_checks_two_files_with_bom(tmp_path):
    folder = fx.deliver_feed(tmp_path, "mca_econ_checks", "2026-02-05", "2026-01")
    assert sorted(p.name for p in folder.glob("*.csv")) == ["check_members_202601.csv", "checks_202601.csv"]
    assert (folder / "checks_202601.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    spec = FEEDS["mca_econ_checks"]
    assert [p.name for p in spec.parts] == ["checks", "members"]
    assert spec.part("checks").matches("checks_202601.csv") and not spec.part("checks").matches("check_members_202601.csv")
    checks, errors = typed("mca_econ_checks", read(folder, "mca_econ_checks"))
    assert errors == [] and checks[0]["check_id"] == "C20260100001"  # not "\ufeffcheck_id"
    assert checks[0]["household_size"] == 2 and checks[0]["monthly_income_yuan"] == Decimal("2350.50")
    members, errors = typed("mca_econ_checks", read(folder, "mca_econ_checks", part="members"), part="members")
    assert errors == [] and len(members) == 6 and list(members[0]) == spec.part("members").staging_columns


def test_mem_disaster_status_is_optional(tmp_path):
    rows = [fx.disaster("D1", fx.person_id(1), "2026-04-02"),
            fx.disaster("D1", fx.person_id(2), "2026-04-02", status="withdrawn"),
            fx.disaster("D2", fx.person_id(3), "2026-04-03", status="ACTIVE")]
    folder = fx.deliver(tmp_path, "mem_disaster", "2026-04-04", "2026-04", {"d.jsonl": fx.mem_disaster(rows)})
    raw = read(folder, "mem_disaster", "2026-04")
    assert raw.column("status").to_pylist() == [None, "withdrawn", "ACTIVE"]
    staged, errors = typed("mem_disaster", raw, "2026-04")
    assert errors == [] and [r["status"] for r in staged] == ["active", "withdrawn", "active"]
    # an empty daily file (nothing new) reads as no rows
    empty = fx.deliver(tmp_path, "mem_disaster", "2026-04-05", "2026-04", {"d.jsonl": (b"", 0)})
    assert read(empty, "mem_disaster", "2026-04").num_rows == 0
