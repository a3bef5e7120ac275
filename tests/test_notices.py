"""核查通报: a rejected delivery produces a notice in its department's outbox naming file, row, field
and rule in Chinese (with the English codes), a warned one a notice of its warnings; nothing else
gets one; a value shaped like a key is never echoed; a rerun writes the same bytes."""

from __future__ import annotations

import csv
import datetime as dt
import re
import secrets
import shutil

import duckdb
import pytest
from openpyxl import load_workbook

import ingest_fixtures as fx
from pipelines.config import Settings
from pipelines.ingest import ingest
from pipelines.notices import notice_folder, staff_text, write_notices

P = "2026-01"
NIGHT = dt.date(2026, 2, 10)
KEY = secrets.token_hex(24)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    base = tmp_path_factory.mktemp("notices")
    s = Settings(landing=base / "landing", warehouse=base / "wh.duckdb", show_progress=False,
                 duckdb_threads=1, duckdb_memory_limit="1GB", extra={"data_docs": False})
    fx.deliver_references(s.landing, "2025-12-20", P)
    # HRSS: the third row's 身份证号 has a wrong check character, the fourth one a key for an id
    rows = fx.hrss_rows(P, n=4)
    rows[2]["person_id"] = fx.bad_check_char(rows[2]["person_id"])
    rows[3]["person_id"] = KEY
    fx.deliver_feed(s.landing, "hrss_employment", "2026-02-03", P, rows)
    # NHSA: a reversal of a settlement nobody delivered (a warning; the delivery loads)
    pid = fx.person_id(1)
    fx.deliver_feed(s.landing, "nhsa_claims", "2026-02-04", P, [
        fx.claim("S1", pid, dt.date(2026, 1, 5), 10000, 6000),
        fx.claim("R2", pid, dt.date(2026, 1, 7), -500, 0, reversal_of="S-unknown")])
    fx.deliver_feed(s.landing, "mca_roster", "2026-02-03", P)          # clean: no notice
    ingest(s, as_of=NIGHT)
    con = duckdb.connect(str(s.warehouse))
    outbox = base / "outbox"
    written = write_notices(con, outbox, NIGHT, withhold=(KEY,))
    yield con, outbox, written
    con.close()


def test_one_notice_per_rejected_or_warned_delivery(night):
    _, outbox, written = night
    assert sorted(p.relative_to(outbox).as_posix() for p in written) == [
        "HRSS/quality/2026-02-10/notice_hrss_employment_2026-02-03.csv",
        "HRSS/quality/2026-02-10/notice_hrss_employment_2026-02-03.xlsx",
        "NHSA/quality/2026-02-10/notice_nhsa_claims_2026-02-04.csv",
        "NHSA/quality/2026-02-10/notice_nhsa_claims_2026-02-04.xlsx"]
    assert not (outbox / "MCA").exists()
    assert sorted(p.name for p in notice_folder(outbox, "HRSS", NIGHT).iterdir()) == [
        "notice_hrss_employment_2026-02-03.csv", "notice_hrss_employment_2026-02-03.xlsx"]   # no temp left


def test_rejected_delivery_names_file_row_field_and_rule(night):
    _, outbox, _ = night
    wb = load_workbook(notice_folder(outbox, "HRSS", NIGHT) / "notice_hrss_employment_2026-02-03.xlsx")
    assert wb.sheetnames == ["问题明细 findings", "交付信息 delivery"]
    ws = wb["问题明细 findings"]
    assert [c.value for c in ws[1]] == ["序号 no", "文件 file", "行 row", "字段 field", "规则 rule", "级别 severity",
                                        "涉及行数 count", "说明 message"]
    rows = [dict(zip([c.value for c in ws[1]], r)) for r in ws.iter_rows(min_row=2, values_only=True)]
    hit = [r for r in rows if r["规则 rule"] == "身份证号校验位错误 id_check_character"]
    assert hit and hit[0]["文件 file"] == "hrss_employment_202601.csv" and hit[0]["行 row"] == 3
    assert hit[0]["字段 field"] == "身份证号 person_id"                      # the department's own header
    assert hit[0]["级别 severity"] == "拒收 critical"
    about = dict(wb["交付信息 delivery"].iter_rows(min_row=2, values_only=True))
    assert about["交付编号 delivery_id"] == "hrss_employment/2026-02-03"
    assert about["处理结果 outcome"].startswith("已拒收 rejected")
    assert about["数据源 feed"] == "就业参保 hrss_employment"
    # the key delivered as an id is never shown, whatever the check that caught it
    for path in notice_folder(outbox, "HRSS", NIGHT).iterdir():
        data = path.read_bytes()
        assert KEY.encode() not in data and KEY[:24].encode() not in data
    with open(notice_folder(outbox, "HRSS", NIGHT) / "notice_hrss_employment_2026-02-03.csv", encoding="utf-8-sig") as f:
        lines = list(csv.DictReader(f))
    assert any(r["行 row"] == "3" and r["字段 field"] == "身份证号 person_id" and r["规则 check"].endswith("id_check_character")
               for r in lines)


def test_warned_delivery_gets_its_warnings(night):
    _, outbox, _ = night
    wb = load_workbook(notice_folder(outbox, "NHSA", NIGHT) / "notice_nhsa_claims_2026-02-04.xlsx")
    rows = list(wb["问题明细 findings"].iter_rows(min_row=2, values_only=True))
    assert [(r[2], r[3], r[4], r[5]) for r in rows] == [
        (2, "reversal_of", "冲正所指结算不存在 reversal_target", "警告 warning")]
    about = dict(wb["交付信息 delivery"].iter_rows(min_row=2, values_only=True))
    assert about["处理结果 outcome"].startswith("已入库，有警告")


def test_rerun_same_bytes_and_other_nights_nothing(night, tmp_path):
    con, outbox, written = night
    first = {p: p.read_bytes() for p in written}
    again = write_notices(con, outbox, NIGHT, withhold=(KEY,))
    assert {p: p.read_bytes() for p in again} == first
    assert write_notices(con, tmp_path, NIGHT + dt.timedelta(days=1)) == []
    # a rejection for an internal reason (retried next night) is the data team's: no notice
    con.execute("update ops.deliveries set retry = true where delivery_id = 'hrss_employment/2026-02-03'")
    try:
        assert [p.parent.parent.parent.name for p in write_notices(con, tmp_path, NIGHT)] == ["NHSA", "NHSA"]
    finally:
        con.execute("update ops.deliveries set retry = false where delivery_id = 'hrss_employment/2026-02-03'")


def test_staff_text_withholds_keys_and_cuts_long_values():
    key = secrets.token_hex(32)
    assert key not in staff_text(f"header {key!r} is not a column")
    assert staff_text("value '330102198001010018' fails") == "value '330102198001010018' fails"  # the department's id
    assert staff_text(f"contains {KEY[:10]} here", (KEY[:10],)) == "contains [已隐去 withheld] here"
    long = staff_text("(value '" + "甲" * 100 + "')")
    assert "甲" * 32 + "…" in long and "甲" * 33 not in long and "共 100 字符" in long
    assert len(staff_text("x " * 500)) <= 201


@pytest.mark.skipif(not (shutil.which("soffice") or shutil.which("libreoffice")),
                    reason="LibreOffice (soffice) is not installed")
def test_notice_opens_in_libreoffice_with_chinese_intact(night, tmp_path):
    from test_statistics import render_pdf

    _, outbox, _ = night
    pdf, text = render_pdf(notice_folder(outbox, "HRSS", NIGHT) / "notice_hrss_employment_2026-02-03.xlsx", tmp_path)
    assert re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)
    if text is not None:
        for words in ("问题明细 findings", "身份证号校验位错误", "hrss_employment_202601.csv", "已拒收"):
            assert words in text, words
