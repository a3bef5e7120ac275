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
                      "mem_disaster", "bank_deposits", "grid_visits", "ref_regions", "ref_standards"}


def read(folder: Path, feed_id: str) -> pa.Table:
    files = [p for p in folder.iterdir() if p.name != "manifest.json"]
    assert len(files) == 1
    return FEEDS[feed_id].read_raw(files[0])


def typed(feed_id: str, raw: pa.Table, period: str = "2026-01") -> tuple[list[dict], list[dict]]:
    """Run the feed's staging SQL over a raw batch, exactly as prepare does: (rows, parse errors)."""
    n = raw.num_rows
    raw = raw.append_column("delivery_id", pa.array([f"{feed_id}/x"] * n, pa.string()))
    raw = raw.append_column("period", pa.array([period] * n, pa.string()))
    con = duckdb.connect()
    con.register("raw_batch", raw)
    table, errors = type_batch(con, FEEDS[feed_id])
    return table.to_pylist(), errors


def test_registry_matches_architecture():
    assert set(FEEDS) == ARCHITECTURE_FEEDS
    for spec in FEEDS.values():
        assert spec.cadence in {"monthly", "quarterly", "term", "daily", "reference"}
        assert spec.kind in {"snapshot", "events"}
        assert spec.partition in {"period", "delivery"}
        assert callable(spec.read_raw) and "from raw_batch" in spec.staging_sql
    assert FEEDS["grid_visits"].partition == "delivery"
    assert FEEDS["mohurd_housing"].months_covered == 3 and FEEDS["moe_students"].months_covered == 6


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
        assert list(by_table[("raw", feed_id)]) == list(spec.raw_columns) + ["_file", "_row", "delivery_id", "period"]
        staging = by_table[("staging", feed_id)]
        assert list(staging) == spec.staging_columns
        for f in spec.fields:
            assert staging[f.name].lower() == f.type.lower(), (feed_id, f.name, staging[f.name], f.type)


@pytest.mark.parametrize("feed_id", sorted(ARCHITECTURE_FEEDS))
def test_each_feed_parses(tmp_path, feed_id):
    folder = fx.deliver_feed(tmp_path, feed_id, "2026-02-03", "2026-01")
    raw = read(folder, feed_id)
    spec = FEEDS[feed_id]
    assert raw.column_names == list(spec.raw_columns) + ["_file", "_row"]
    assert all(pa.types.is_string(raw.schema.field(c).type) for c in spec.raw_columns), raw.schema
    assert raw.column("_row").to_pylist() == list(range(1, raw.num_rows + 1))
    rows, errors = typed(feed_id, raw)
    assert errors == []
    assert len(rows) == raw.num_rows > 0
    assert list(rows[0]) == spec.staging_columns


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


def test_json_lines_unexpected_field(tmp_path):
    rows = fx.disaster_rows("2026-01", n=1)
    rows[0]["victim_name"] = "王五"
    folder = fx.deliver(tmp_path, "mem_disaster", "2026-02-03", "2026-01", {"d.jsonl": fx.mem_disaster(rows)})
    with pytest.raises(FeedFormatError, match="victim_name"):
        read(folder, "mem_disaster")


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
    ("extra", "unexpected column.*'extra_col'"),
    ("renamed", "missing column.*'urban_rural'.*unexpected column.*'urbanrural'.*renamed"),
])
def test_missing_extra_renamed_columns(tmp_path, kind, match):
    from pipelines.feeds.mca_roster import RAW_COLUMNS

    cols = list(RAW_COLUMNS)
    if kind == "missing":
        cols.remove("relation")
    elif kind == "extra":
        cols.append("extra_col")
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

    for feed_id in FEEDS:
        suite_json = load_suite_json(feed_id)
        assert suite_json["name"] == feed_id
        assert all(e["meta"]["severity"] in {"critical", "warning"} for e in suite_json["expectations"])
        suite = gx.ExpectationSuite(**json.loads(json.dumps(suite_json)))
        assert len(suite.expectations) == len(suite_json["expectations"])
