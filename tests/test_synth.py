"""The synthetic province generator (pipelines/synth): formats exactly as the departments' catalog
says (v2 by default here, v1 layouts on request), manifests, faults, ground truth consistent with the
files, hidden income and its coverage, determinism.

One small province (300 roster families, 13 months, catalog v2) is generated once per module, and the
same province in catalog v1 layouts. The income rules and the income coverage are recomputed here
independently from the *files* (not from the generator's internals) to check that the truth the
generator claims is what the data says.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.ids import normalise, valid_mask
from pipelines.synth import generate

FEEDS = ["mca_roster", "hrss_employment", "nhsa_claims", "moe_students", "mohurd_housing", "samr_business",
         "mps_hukou_events", "mps_hukou_members", "mps_vehicles", "cdpf_disability", "mem_disaster", "bank_deposits",
         "grid_visits", "ref_regions", "ref_standards", "mca_econ_checks", "moa_relapse_watch"]
MULTI = ("grid_visits", "mem_disaster")    # several deliveries add up within a period (daily feeds)
HRSS_HEADERS = ["统计月份", "身份证号", "就业状态", "单位信用代码", "缴费基数", "失业保险金", "养老金"]
CDPF_HEADERS = ["身份证号", "残疾类别", "残疾等级", "发证日期", "状态"]
CDPF_V2 = CDPF_HEADERS + ["困难残疾人生活补贴", "重度残疾人护理补贴"]
GRID_HEADERS = ["visit_id", "family_id", "hukou_no", "visit_date", "visitor_role", "findings", "note"]
DISASTER_FIELDS = {"disaster_id", "disaster_type", "occurred_on", "person_id", "region_code", "house_damage",
                   "loss_yuan", "emergency_aid_yuan"}
CHECK_COLUMNS = ["check_id", "check_date", "reason", "family_id", "hukou_no", "applicant_id", "region_code",
                 "urban_rural", "household_size", "income_basis", "monthly_income_yuan", "financial_assets_yuan",
                 "vehicles", "properties", "outcome"]
WATCH_HEADERS = ["监测户编号", "户主身份证号", "户号", "区划代码", "监测类型", "风险类型", "家庭人口数", "收入年度",
                 "人均纯收入", "人均转移性收入", "识别日期", "风险消除"]
START, MONTHS = "2025-10", 13
PERIODS = [f"{2025 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}" for i in range(MONTHS)]
V2_PERIODS = [p for p in PERIODS if p >= "2026-01"]      # mca_econ_checks, moa_relapse_watch
DAILY_SINCE, LAYOUT2_SINCE = "2026-04", "2026-07"        # mem_disaster daily; cdpf and grid layout v2


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    out = tmp_path_factory.mktemp("province")
    result = generate(out=out, households=300, months=MONTHS, seed=20261, start=START, catalog="v2")
    return result


@pytest.fixture(scope="module")
def province_v1(tmp_path_factory):
    out = tmp_path_factory.mktemp("province_v1")
    return generate(out=out, households=300, months=MONTHS, seed=20261, start=START, catalog="v1", new_feeds=True)


@pytest.fixture(scope="module")
def truth_income(province):
    return pq.read_table(province.truth_income).to_pandas()


@pytest.fixture(scope="module")
def faults(province):
    with open(province.faults, encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def truth(province):
    return pd.read_csv(province.truth, dtype=str, keep_default_na=False)


def folders(result, feed):
    return sorted(p for p in (result.landing / feed).iterdir() if p.is_dir())


def manifest(folder: Path) -> dict | None:
    m = folder / "manifest.json"
    return json.loads(m.read_text(encoding="utf-8")) if m.exists() else None


@pytest.fixture(scope="module")
def valid(province, faults):
    """feed -> period -> the folder that counts (newest valid delivery)."""
    bad = {f["delivery_id"] for f in faults if f["fault"] in ("corrupt_sha256", "corrupt_rows", "no_manifest")}
    out = defaultdict(dict)
    for feed in FEEDS:
        for folder in folders(province, feed):
            m = manifest(folder)
            if m is None or f"{feed}/{folder.name}" in bad:
                continue
            prev = out[feed].get(m["period"])
            if feed in MULTI:
                out[feed].setdefault(m["period"], [])
                out[feed][m["period"]].append(folder)
            elif prev is None or manifest(prev)["produced_at"] < m["produced_at"]:
                out[feed][m["period"]] = folder
    return out


def read_csv_file(path: Path, encoding: str = "utf-8") -> pd.DataFrame:
    raw = path.read_bytes()
    return pd.read_csv(io.StringIO(raw.decode(encoding).lstrip("\ufeff")), dtype=str, keep_default_na=False)


def count_rows(path: Path) -> int:
    if path.suffix == ".parquet":
        return pq.read_metadata(path).num_rows
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        ws = load_workbook(path, read_only=True).worksheets[0]
        return sum(1 for _ in ws.iter_rows(values_only=True)) - 1
    if path.suffix == ".jsonl":
        return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    enc = "gb18030" if path.name.startswith("employment_") else "utf-8"
    text = path.read_bytes().decode(enc).lstrip("\ufeff")
    return len(list(csv.reader(io.StringIO(text)))) - 1


# --- layout, manifests, faults -----------------------------------------------------------------------

def disaster_records(folders_: list[Path]) -> list[dict]:
    """Every JSON object of the given mem_disaster folders, in delivery order."""
    out = []
    for folder in sorted(folders_):
        for line in next(folder.glob("*.jsonl")).read_text(encoding="utf-8").splitlines():
            out.append(json.loads(line))
    return out


def disaster_state(valid) -> dict:
    """(disaster_id, person_id) -> the record as it finally stands (later deliveries correct earlier
    ones, ``withdrawn`` retracts), over every delivery."""
    state = {}
    for period in sorted(valid["mem_disaster"]):
        for rec in disaster_records(valid["mem_disaster"][period]):
            state[(rec["disaster_id"], rec["person_id"])] = rec
    return {k: v for k, v in state.items() if v.get("status", "active") == "active"}


def test_every_feed_delivered_with_manifest_written_last(province, faults):
    no_manifest = {f["delivery_id"] for f in faults if f["fault"] == "no_manifest"}
    rewritten = {f["delivery_id"] for f in faults if f["fault"] == "same_day_redelivery"}
    assert no_manifest, "an unfinished upload must be injected"
    for feed in FEEDS:
        fs = folders(province, feed)
        assert fs, feed
        for folder in fs:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", folder.name)
            m = manifest(folder)
            if f"{feed}/{folder.name}" in no_manifest:
                assert m is None and any(folder.iterdir())
                continue
            assert m is not None, folder
            assert m["feed_id"] == feed
            assert re.fullmatch(r"\d{4}-\d{2}", m["period"])
            assert m["produced_at"].endswith("+08:00")
            # produced the day of the folder, except a folder the department rewrote in place later
            assert m["produced_at"].startswith(folder.name) != (f"{feed}/{folder.name}" in rewritten)
            dt.datetime.fromisoformat(m["produced_at"])
            mtime = (folder / "manifest.json").stat().st_mtime_ns
            for f in m["files"]:
                assert set(f) == {"name", "rows", "sha256"}
                assert (folder / f["name"]).stat().st_mtime_ns <= mtime


def test_manifest_sha256_and_rows(province, faults):
    corrupt = {f["delivery_id"]: f["fault"] for f in faults if f["fault"].startswith("corrupt")}
    assert set(corrupt.values()) == {"corrupt_sha256", "corrupt_rows"}
    seen = set()
    for feed in FEEDS:
        for folder in folders(province, feed):
            m = manifest(folder)
            if m is None:
                continue
            did = f"{feed}/{folder.name}"
            ok = True
            for f in m["files"]:
                path = folder / f["name"]
                ok &= hashlib.sha256(path.read_bytes()).hexdigest() == f["sha256"]
                ok &= count_rows(path) == f["rows"]
            assert ok == (did not in corrupt), did
            seen.add(did)
    assert set(corrupt) <= seen


def test_faults_redelivery_late_and_unfinished(province, faults):
    kinds = {f["fault"] for f in faults}
    assert {"redelivery", "corrupt_sha256", "corrupt_rows", "no_manifest", "late", "claim_reversal",
            "late_redelivery", "unannounced_column", "same_day_redelivery", "disaster_withdrawn",
            "disaster_correction", "disaster_late_record"} <= kinds
    by_id = {}
    for feed in FEEDS:
        for folder in folders(province, feed):
            by_id[f"{feed}/{folder.name}"] = (feed, folder, manifest(folder))
    for f in faults:
        feed, folder, m = by_id[f["delivery_id"]]
        if f["fault"].startswith("corrupt"):
            # a later, valid delivery of the same period exists
            later = [x for x in folders(province, feed) if x.name > folder.name and manifest(x)
                     and manifest(x)["period"] == m["period"]]
            assert later, f
        if f["fault"] == "redelivery":
            same = [x for x in folders(province, feed) if manifest(x) and manifest(x)["period"] == m["period"]]
            assert len(same) >= 2 and folder == max(same)
        if f["fault"] == "no_manifest":
            period = re.search(r"_(\d{6})", next(folder.iterdir()).name).group(1)
            period = f"{period[:4]}-{period[4:]}"
            later = [x for x in folders(province, feed) if x.name > folder.name and manifest(x)
                     and manifest(x)["period"] == period]
            assert later
        if f["fault"] == "late":
            p = dt.date.fromisoformat(m["period"] + "-01")
            nxt = f"{p.year + p.month // 12}-{p.month % 12 + 1:02d}"
            nxt_folder = [x for x in folders(province, feed) if manifest(x) and manifest(x)["period"] == nxt]
            assert nxt_folder and all(x.name < folder.name for x in nxt_folder)
        if f["fault"] == "late_redelivery":
            # a period of layout v1, re-delivered in v1 after the first v2 delivery
            assert feed == "cdpf_disability" and m["period"] < LAYOUT2_SINCE
            first_v2 = [x for x in folders(province, feed) if manifest(x)["period"] == LAYOUT2_SINCE]
            assert first_v2 and all(x.name < folder.name for x in first_v2)
            assert xlsx_header(folder) == CDPF_HEADERS
            same = [x for x in folders(province, feed) if manifest(x)["period"] == m["period"]]
            assert len(same) == 2
        if f["fault"] == "unannounced_column":
            assert xlsx_header(folder) == CDPF_V2 + ["备注"]
        if f["fault"] == "same_day_redelivery":
            first = province.out / "superseded" / feed / folder.name
            m1 = manifest(first)
            assert m1 is not None and m1["period"] == m["period"] and m1["produced_at"] < m["produced_at"]
            assert (first / m1["files"][0]["name"]).read_bytes() != (folder / m["files"][0]["name"]).read_bytes()
            night = dt.date.fromisoformat(m["produced_at"][:10]) + dt.timedelta(days=1)
            assert night in province.nights


def test_monthly_deliveries_arrive_early_next_month(province, faults):
    special = {f["delivery_id"] for f in faults if f["fault"] in ("redelivery", "late", "late_redelivery")}
    for feed in ["mca_roster", "hrss_employment", "nhsa_claims", "samr_business", "mps_hukou_events",
                 "mps_hukou_members", "mps_vehicles", "cdpf_disability", "mem_disaster", "mca_econ_checks",
                 "moa_relapse_watch"]:
        periods = set()
        for folder in folders(province, feed):
            m = manifest(folder)
            if m is None:
                continue
            periods.add(m["period"])
            if f"{feed}/{folder.name}" in special or (feed == "mem_disaster" and m["period"] >= DAILY_SINCE):
                continue
            p = dt.date.fromisoformat(m["period"] + "-01")
            first = dt.date(p.year + p.month // 12, p.month % 12 + 1, 1)
            assert first <= dt.date.fromisoformat(folder.name) <= first + dt.timedelta(days=5), (feed, folder.name)
        assert periods == set(V2_PERIODS if feed.startswith(("mca_econ", "moa_")) else PERIODS), feed


def test_disaster_daily_from_april(province, faults):
    """mem_disaster: one delivery a month before 2026-04, then one every night (period = the month of
    the day before the folder date), empty when nothing is new, records keyed and revisable."""
    daily = [x for x in folders(province, "mem_disaster") if x.name > DAILY_SINCE + "-01"]
    days = [dt.date.fromisoformat(x.name) for x in daily]
    assert days == [days[0] + dt.timedelta(days=i) for i in range(len(days))], "every night a delivery"
    assert days[0] == dt.date(2026, 4, 2) and days[-1] == dt.date(2026, 11, 1)
    empty = 0
    statuses = set()
    for folder in daily:
        m = manifest(folder)
        assert m["period"] == (dt.date.fromisoformat(folder.name) - dt.timedelta(days=1)).isoformat()[:7]
        recs = disaster_records([folder])
        empty += m["files"][0]["rows"] == 0
        for r in recs:
            assert set(r) == DISASTER_FIELDS | {"status"}
            statuses.add(r["status"])
            assert r["occurred_on"] < folder.name
    assert empty > 0 and statuses == {"active", "withdrawn"}
    monthly = [x for x in folders(province, "mem_disaster") if x.name <= DAILY_SINCE + "-01"]
    assert [manifest(x)["period"] for x in monthly] == [p for p in PERIODS if p < DAILY_SINCE]
    for rec in disaster_records(monthly):
        assert set(rec) == DISASTER_FIELDS
    # the revisions: a record corrected, a record withdrawn (both keyed by disaster_id + person_id)
    keys: dict = defaultdict(list)
    for folder in daily:
        for r in disaster_records([folder]):
            keys[(r["disaster_id"], r["person_id"])].append(r)
    revised = {k: v for k, v in keys.items() if len(v) > 1}
    assert any(v[-1]["status"] == "withdrawn" for v in revised.values())
    assert any(v[-1]["status"] == "active" and v[0]["loss_yuan"] != v[-1]["loss_yuan"] for v in revised.values())
    late = [f for f in faults if f["fault"] == "disaster_late_record"]
    assert late
    for f in late:
        folder = province.landing / f["delivery_id"]
        assert any(r["occurred_on"][:7] < manifest(folder)["period"] for r in disaster_records([folder]))


def test_nights(province, faults):
    dates = {dt.date.fromisoformat(f.name) for feed in FEEDS for f in folders(province, feed)}
    # and the night after a folder was rewritten in place
    rewrites = {dt.date.fromisoformat(manifest(province.landing / f["delivery_id"])["produced_at"][:10])
                for f in faults if f["fault"] == "same_day_redelivery"}
    expected = sorted(d + dt.timedelta(days=1) for d in dates | rewrites)
    text = (province.out / "nights.txt").read_text(encoding="utf-8").split()
    assert [dt.date.fromisoformat(x) for x in text] == expected == province.nights


# --- formats -------------------------------------------------------------------------------------------

def test_hrss_is_gb18030_with_chinese_headers(province, valid):
    statuses = set()
    lower = 0
    for period, folder in valid["hrss_employment"].items():
        path = next(folder.glob("*.csv"))
        raw = path.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        df = read_csv_file(path, "gb18030")
        assert list(df.columns) == HRSS_HEADERS
        assert set(df["统计月份"]) == {period.replace("-", "")}
        statuses |= set(df["就业状态"])
        lower += df["身份证号"].str.endswith("x").sum()
        assert not df["身份证号"].str.endswith("X").any()
        for col in ("缴费基数", "失业保险金", "养老金"):
            assert df[col].str.fullmatch(r"\d+\.\d{2}").all()
    assert statuses == {"在职", "灵活就业", "失业登记", "退休", "无"}
    assert lower > 0


def test_roster_csv_some_with_bom(province, valid):
    boms = []
    cats = set()
    for period, folder in valid["mca_roster"].items():
        path = next(folder.glob("*.csv"))
        boms.append(path.read_bytes().startswith(b"\xef\xbb\xbf"))
        df = read_csv_file(path)
        assert list(df.columns)[:3] == ["snapshot_month", "family_id", "person_id"]
        assert set(df["snapshot_month"]) == {period}
        assert df["family_id"].str.fullmatch(r"F\d{18}").all()
        village = df["region_code"].str[-3:].astype(int)
        assert ((village <= 199) == (df["urban_rural"] == "urban")).all()
        cats |= set(df["category"])
        reviewed = df[df["category"].isin(["dibao", "tekun", "edge"])]
        assert (reviewed["last_econ_check_date"] != "").all() and (reviewed["last_home_visit_date"] != "").all()
        assert set(df["relation"]) <= {"head", "spouse", "child", "parent", "grandchild", "sibling", "other"}
    assert any(boms) and not all(boms)
    assert cats == {"dibao", "tekun", "edge", "expense_hardship", "relapse_watch", "other"}


def test_claims_parquet_in_fen_with_reversals(province, valid):
    ids = set()
    reversals = 0
    for period, folder in valid["nhsa_claims"].items():
        table = pq.read_table(next(folder.glob("*.parquet")))
        for col in ("total_fen", "fund_fen", "critical_illness_fen", "medical_aid_fen", "oop_fen"):
            assert table.schema.field(col).type == pa.int64()
        assert table.schema.field("catastrophic").type == pa.bool_()
        df = table.to_pandas()
        assert (df.oop_fen == df.total_fen - df.fund_fen - df.critical_illness_fen - df.medical_aid_fen).all()
        rev = df[df.reversal_of.notna()]
        reversals += len(rev)
        assert (rev.total_fen <= 0).all() and (df[df.reversal_of.isna()].total_fen >= 0).all()
        assert set(rev.reversal_of) <= set(df.settle_id)
        assert not (set(df.settle_id) & ids)
        ids |= set(df.settle_id)
        d = pd.to_datetime(df.settle_date)
        assert (d.dt.strftime("%Y-%m") == period).all()
    assert reversals >= 2


def xlsx_rows(folder: Path) -> list[tuple]:
    from openpyxl import load_workbook

    wb = load_workbook(next(folder.glob("*.xlsx")), read_only=True)
    assert len(wb.worksheets) == 1
    return list(wb.worksheets[0].iter_rows(values_only=True))


def xlsx_header(folder: Path) -> list:
    return list(xlsx_rows(folder)[0])


def test_disability_xlsx(province, valid, faults):
    before_start = 0
    lower = 0
    unannounced = {f["delivery_id"] for f in faults if f["fault"] == "unannounced_column"}
    for period, folder in valid["cdpf_disability"].items():
        rows = xlsx_rows(folder)
        layout = CDPF_V2 if period >= LAYOUT2_SINCE else CDPF_HEADERS
        extra = ["备注"] if f"cdpf_disability/{folder.name}" in unannounced else []
        assert list(rows[0]) == layout + extra, period
        body = rows[1:]
        if period >= LAYOUT2_SINCE:
            assert {r[5] for r in body} | {r[6] for r in body} <= {"是", "否"}
        assert {r[1] for r in body} <= {"视力", "听力", "言语", "肢体", "智力", "精神", "多重"}
        assert {r[2] for r in body} <= {"一级", "二级", "三级", "四级"}
        assert {r[4] for r in body} <= {"有效", "注销"}
        before_start += sum(1 for r in body if r[3] < START + "-01")
        lower += sum(1 for r in body if str(r[0]).endswith("x"))
    assert before_start > 0 and lower > 0


def test_calamine_reads_the_workbook(province, valid):
    from python_calamine import CalamineWorkbook

    folder = next(iter(valid["cdpf_disability"].values()))
    rows = CalamineWorkbook.from_path(str(next(folder.glob("*.xlsx")))).get_sheet_by_index(0).to_python()
    assert rows[0] == CDPF_HEADERS and len(rows) > 1


def test_disaster_jsonl(province, valid):
    n = 0
    for period, fs in valid["mem_disaster"].items():
        for obj in disaster_records(fs):
            assert set(obj) == DISASTER_FIELDS | ({"status"} if period >= DAILY_SINCE else set())
            # a daily delivery may bring a record of the previous month (reported late)
            assert obj["occurred_on"][:7] == period or (period >= DAILY_SINCE and obj["occurred_on"][:7] < period)
            assert isinstance(obj["loss_yuan"], (int, float))
            n += 1
    assert n > 0


def test_public_security_dates_are_yyyymmdd(province, valid):
    for period, folder in valid["mps_hukou_events"].items():
        df = read_csv_file(next(folder.glob("*.csv")))
        assert df["event_date"].str.fullmatch(r"\d{8}").all()
        assert (df["event_date"].str[:6] == period.replace("-", "")).all()
    for period, folder in valid["mps_hukou_members"].items():
        files = sorted(folder.glob("*.csv"))
        assert len(files) >= 3  # one per city
        for path in files:
            df = read_csv_file(path)
            assert list(df.columns) == ["person_id", "hukou_no", "region_code", "as_of"]
            assert df["as_of"].str.fullmatch(r"\d{8}").all()
            assert df["hukou_no"].str.fullmatch(r"\d{9,12}").all()


def test_snapshot_and_term_periods(province, valid):
    for feed in ("mohurd_housing", "bank_deposits"):
        assert {p[5:] for p in valid[feed]} <= {"03", "06", "09", "12"}
        assert "2025-09" in valid[feed]          # the snapshot in force when the data starts
    terms = {}
    for period, folder in valid["moe_students"].items():
        df = read_csv_file(next(folder.glob("*.csv")))
        terms[period] = set(df["term"])
    for folder in folders(province, "moe_students"):
        # at the start of a term, aid never exceeds the fees (a mid-term grant's living allowance may)
        if manifest(folder)["produced_at"][:10] < manifest(folder)["period"][:7] + "-20":
            df = read_csv_file(next(folder.glob("*.csv")))
            cost = (df.tuition_yuan.astype(float) + df.boarding_yuan.astype(float) - df.aid_yuan.astype(float))
            assert (cost >= 0).all()
    assert terms == {"2025-09": {"2025-2"}, "2026-03": {"2026-1"}, "2026-09": {"2026-2"}}
    styles = set()
    for folder in valid["mohurd_housing"].values():
        styles |= set(read_csv_file(next(folder.glob("*.csv")))["public_rental"])
    assert {"true", "false"} & styles and {"True", "False"} & styles and {"1", "0"} & styles


def test_grid_visits_every_few_days(province, valid):
    n = 0
    persons = 0
    for period, fs in valid["grid_visits"].items():
        assert len(fs) >= 3
        for folder in fs:
            df = read_csv_file(next(folder.glob("*.csv")))
            v2 = period >= LAYOUT2_SINCE
            assert list(df.columns) == GRID_HEADERS + (["person_id", "region_code"] if v2 else [])
            if v2:
                assert df["region_code"].str.fullmatch(r"\d{12}").all()
                ids = df.loc[df["person_id"] != "", "person_id"]
                assert valid_mask(pa.array(ids.tolist(), pa.string())).all()
                assert (df.loc[df["findings"] == "no_change", "person_id"] == "").all()
                persons += len(ids)
            assert (df["visit_date"].str[:7] == period).all()
            assert (df["visit_date"] < folder.name).all()
            assert ((df["family_id"] != "") ^ (df["hukou_no"] != "")).all()
            n += len(df)
    assert n > 0 and persons > 0


def all_person_ids(province, valid) -> list[str]:
    ids = []
    for feed, col in [("mca_roster", "person_id"), ("moe_students", "person_id"), ("mohurd_housing", "person_id"),
                      ("samr_business", "person_id"), ("mps_hukou_events", "person_id"),
                      ("mps_vehicles", "person_id"), ("bank_deposits", "person_id")]:
        for folder in valid[feed].values():
            ids += read_csv_file(next(folder.glob("*.csv")))[col].tolist()
    for folder in valid["mps_hukou_members"].values():
        for path in folder.glob("*.csv"):
            ids += read_csv_file(path)["person_id"].tolist()
    for folder in valid["hrss_employment"].values():
        ids += read_csv_file(next(folder.glob("*.csv")), "gb18030")["身份证号"].tolist()
    for folder in valid["nhsa_claims"].values():
        ids += pq.read_table(next(folder.glob("*.parquet"))).column("person_id").to_pylist()
    return ids


def test_person_ids_have_valid_check_characters(province, valid):
    ids = all_person_ids(province, valid)
    assert any(x.endswith("x") for x in ids) and any(x.endswith("X") for x in ids)
    norm = pa.array([normalise(x) for x in ids])
    assert valid_mask(norm).all()


def test_regions_and_standards(province, valid):
    regions = read_csv_file(next(folders(province, "ref_regions")[0].glob("*.csv")))
    codes = set(regions["region_code"])
    levels = dict(zip(regions["region_code"], regions["level"]))
    assert sum(1 for v in levels.values() if v == "city") >= 3
    assert {"province", "city", "county", "town", "village"} == set(levels.values())
    used = set()
    for folder in valid["mca_roster"].values():
        used |= set(read_csv_file(next(folder.glob("*.csv")))["region_code"])
    for folder in valid["mps_hukou_members"].values():
        for path in folder.glob("*.csv"):
            used |= set(read_csv_file(path)["region_code"])
    assert used <= codes
    villages = [c for c, lv in levels.items() if lv == "village"]
    assert all(1 <= int(c[-3:]) <= 399 for c in villages)
    assert any(int(c[-3:]) <= 199 for c in villages) and any(int(c[-3:]) >= 200 for c in villages)
    parents = dict(zip(regions["region_code"], regions["parent_code"]))
    assert all(parents[c] in codes for c in codes if levels[c] != "province")
    std = read_csv_file(next(folders(province, "ref_standards")[0].glob("*.csv")))
    cities = {c[:4] for c, lv in levels.items() if lv == "city"}
    for city in cities:
        for year in ("2025", "2026"):
            rows = std[(std.city_code == city) & (std.year == year)]
            assert set(rows.urban_rural) == {"urban", "rural"}
    assert (std.tekun_monthly_yuan.astype(float) > std.dibao_monthly_yuan.astype(float)).all()


def test_hukou_members_cover_the_roster(province, valid):
    for period in PERIODS:
        roster = read_csv_file(next(valid["mca_roster"][period].glob("*.csv")))
        members = pd.concat([read_csv_file(p) for p in valid["mps_hukou_members"][period].glob("*.csv")])
        dead = set()
        assert set(roster.person_id) - set(members.person_id) - dead <= set(_dead_by(province, valid, period))


def _dead_by(province, valid, period) -> set[str]:
    dead = set()
    for p, folder in valid["mps_hukou_events"].items():
        if p <= period:
            df = read_csv_file(next(folder.glob("*.csv")))
            dead |= set(df[df.event_type == "death"].person_id)
    return dead


# --- ground truth --------------------------------------------------------------------------------------

def test_truth_columns_and_events(truth):
    assert list(truth.columns) == ["event_id", "event_type", "household_id", "family_id", "hukou_no", "person_id",
                                   "indicator_code", "period", "departments", "note", "required"]
    assert set(truth.required) <= {"0", "1"}
    assert set(truth.period) <= set(PERIODS)
    per_type = truth.groupby("event_type").event_id.nunique()
    for kind in ("job_loss", "catastrophic_illness", "chronic_illness", "college_entry", "disaster_collapse",
                 "death_breadwinner", "death_tekun_benefit_continues", "severe_disability", "birth", "exit_car",
                 "exit_company", "exit_property", "exit_deposits", "dup_enroll", "review_overdue", "hidden_poor",
                 "tekun_candidate", "relapse_new_risk"):
        assert per_type.get(kind, 0) >= 2, kind
    # what the catalog v2 income rules see on households without an injected event (a verified
    # applicant, a routine field-visit finding, the relapse watch) has truth rows of its own; a referral
    # of a household whose true income is above the line is a row that may be raised, not one that must
    injected = truth[~truth.event_type.isin(["income_rule", "referral_check"])]
    required = injected[injected.required == "1"].groupby("event_id").size()
    assert set(required.index) == set(injected.event_id), "every event has a warning that must fire"
    assert per_type.get("income_rule", 0) > 0
    assert set(truth[truth.event_type == "income_rule"].indicator_code) <= {
        "ELIG_DIBAO", "ELIG_EDGE", "EXP_HARDSHIP", "EXP_MED", "EXP_EDU", "TEKUN_CANDIDATE", "RELAPSE_RISK"}
    # what a check that a referral brings may make a rule raise (the replay's offices ask for one): never
    # required, one row per household and indicator, never a pair another row has, only rules that weigh income
    rc = truth[truth.event_type == "referral_check"]
    assert len(rc) and (rc.required == "0").all() and not rc.duplicated(["household_id", "indicator_code"]).any()
    assert set(rc.indicator_code) <= {"INC_DROP", "EXP_MED", "EXP_EDU", "EXP_HARDSHIP", "ELIG_DIBAO", "ELIG_EDGE",
                                      "EXIT_REVIEW", "TEKUN_CANDIDATE"}
    other = truth[truth.event_type != "referral_check"]
    assert not set(zip(rc.household_id, rc.indicator_code)) & set(zip(other.household_id, other.indicator_code))
    expected_routing = {"DISASTER": "MEM;MCA;MOHURD", "DUP_ENROLL": "MCA", "EXP_MED": "NHSA;MCA", "EXP_EDU": "MOE",
                        "POP_DISABILITY": "CDPF", "BENEFIT_AFTER_DEATH": "MCA", "TEKUN_CANDIDATE": "MCA",
                        "RELAPSE_RISK": "MOA;MCA"}
    for code, depts in expected_routing.items():
        assert set(truth[truth.indicator_code == code].departments) == {depts}, code
    assert "MCA;HRSS" in set(truth[(truth.event_type == "job_loss") & (truth.indicator_code == "INC_DROP")].departments)
    dup = truth[truth.indicator_code == "DUP_ENROLL"].groupby("event_id").household_id.nunique()
    assert (dup == 2).all()


def test_every_truth_household_exists(province, truth, valid):
    families, hukous = set(), set()
    for folder in valid["mca_roster"].values():
        families |= set(read_csv_file(next(folder.glob("*.csv"))).family_id)
    for folder in valid["mps_hukou_members"].values():
        for path in folder.glob("*.csv"):
            hukous |= set(read_csv_file(path).hukou_no)
    for hid in truth.household_id:
        assert (hid in families) if hid.startswith("F") else (hid[1:] in hukous), hid


def _hrss(valid, period) -> pd.DataFrame:
    df = read_csv_file(next(valid["hrss_employment"][period].glob("*.csv")), "gb18030")
    df["pid"] = df["身份证号"].str.upper()
    return df.set_index("pid")


def _prev(period: str) -> str:
    return PERIODS[PERIODS.index(period) - 1]


def test_truth_traces_are_in_the_files(province, truth, valid):
    req = truth[truth.required == "1"]
    for _, r in req[(req.event_type == "job_loss") & (req.indicator_code == "INC_DROP")].iterrows():
        now, before = _hrss(valid, r.period), _hrss(valid, _prev(r.period))
        assert before.loc[r.person_id, "就业状态"] in ("在职", "灵活就业")
        assert r.person_id not in now.index or now.loc[r.person_id, "就业状态"] in ("失业登记", "无")
    for _, r in req[req.indicator_code == "POP_DEATH"].iterrows():
        ev = read_csv_file(next(valid["mps_hukou_events"][r.period].glob("*.csv")))
        hit = ev[(ev.person_id == r.person_id) & (ev.event_type == "death")]
        assert len(hit) == 1 and hit.event_date.iloc[0][:6] == r.period.replace("-", "")
    for _, r in req[req.indicator_code == "BENEFIT_AFTER_DEATH"].iterrows():
        roster = read_csv_file(next(valid["mca_roster"][r.period].glob("*.csv")))
        row = roster[roster.person_id == r.person_id]
        assert len(row) == 1 and float(row.monthly_benefit_yuan.iloc[0]) > 0
    for _, r in req[req.indicator_code == "POP_BIRTH"].iterrows():
        ev = read_csv_file(next(valid["mps_hukou_events"][r.period].glob("*.csv")))
        assert ((ev.person_id == r.person_id) & (ev.event_type == "birth")).sum() == 1
    state = disaster_state(valid)
    for _, r in req[req.indicator_code == "DISASTER"].iterrows():
        assert any(x["person_id"] == r.person_id and x["house_damage"] in ("collapsed", "severe")
                   and x["occurred_on"][:7] == r.period for x in state.values())
    for _, r in req[req.indicator_code == "POP_DISABILITY"].iterrows():
        rows = [x for x in xlsx_rows(valid["cdpf_disability"][r.period]) if str(x[0]).upper() == r.person_id]
        assert rows and rows[0][2] in ("一级", "二级") and rows[0][3][:7] == r.period
    for _, r in req[req.indicator_code == "DUP_ENROLL"].iterrows():
        roster = read_csv_file(next(valid["mca_roster"][r.period].glob("*.csv")))
        fams = roster[roster.person_id == r.person_id]
        assert fams.family_id.nunique() == 2 and fams.region_code.str[:6].nunique() == 2
        before = read_csv_file(next(valid["mca_roster"][_prev(r.period)].glob("*.csv")))
        assert before[before.person_id == r.person_id].family_id.nunique() == 1
    for _, r in req[req.indicator_code == "EXP_EDU"].iterrows():
        assert r.period[5:] in ("03", "09")
        df = read_csv_file(next(valid["moe_students"][r.period].glob("*.csv")))
        row = df[df.person_id == r.person_id].iloc[0]
        assert row.stage == "college"
        assert float(row.tuition_yuan) + float(row.boarding_yuan) - float(row.aid_yuan) >= 3000
    for _, r in req[req.event_type == "exit_car"].iterrows():
        df = read_csv_file(next(valid["mps_vehicles"][r.period].glob("*.csv")))
        df["person_id"] = df.person_id.str.upper()
        assert ((df.person_id == r.person_id) & df.vehicle_class.isin(["car", "truck"])).any()
    for _, r in req[req.indicator_code == "REVIEW_OVERDUE"].iterrows():
        roster = read_csv_file(next(valid["mca_roster"][r.period].glob("*.csv")))
        fam = roster[(roster.family_id == r.family_id) & (roster.relation == "head")].iloc[0]
        end = pd.Timestamp(r.period + "-01") + pd.offsets.MonthEnd(0)
        assert pd.Timestamp(fam.last_econ_check_date) < end - pd.DateOffset(months=6)
        before = read_csv_file(next(valid["mca_roster"][_prev(r.period)].glob("*.csv")))
        fam0 = before[(before.family_id == r.family_id) & (before.relation == "head")].iloc[0]
        end0 = pd.Timestamp(_prev(r.period) + "-01") + pd.offsets.MonthEnd(0)
        assert pd.Timestamp(fam0.last_econ_check_date) >= end0 - pd.DateOffset(months=6)


def test_near_misses_have_no_truth(province, truth):
    nm = pd.read_csv(province.out / "near_misses.csv", dtype=str)
    assert set(nm.kind) == {"claim_reversal", "motorcycle_dibao", "grade4_certificate", "small_prescription",
                            "minor_disaster", "parent_moves_out", "cert_renewal", "farmer_unknown_income",
                            "elderly_basic_pension", "checked_above_edge", "relapse_listing_only"}
    # a near-miss household may still hold a routine fact the v2 indicators refer (a C-rated house, a
    # subsidy not received: "OB" events of pipelines.synth.referrals), never a truth row of its own event
    assert not set(nm.household_id) & set(truth[~truth.event_id.str.startswith("OB")].household_id)


def test_income_near_misses_in_the_files(province, valid):
    """The near misses of the catalog v2 income rules, as the files show them: a farming household and a
    rural elderly couple on the basic pension whose income the feeds cannot see and which no visit finds
    in hardship; a household registered unemployed and checked above the edge line later that month; a
    household whose only signal is its own relapse-watch listing."""
    nm = pd.read_csv(province.out / "near_misses.csv", dtype=str)
    hard = set()
    for fs in valid["grid_visits"].values():
        for folder in fs:
            df = read_csv_file(next(folder.glob("*.csv")))
            df = df[~df["findings"].isin(["no_change", "new_member"])]
            hard |= set(df["family_id"]) | {"H" + h for h in df["hukou_no"] if h}
    for r in nm[nm.kind.isin(["farmer_unknown_income", "elderly_basic_pension", "checked_above_edge",
                              "relapse_listing_only"])].itertuples():
        assert r.household_id not in hard, r
    for r in nm[nm.kind == "checked_above_edge"].itertuples():
        ym = r.period.replace("-", "")
        checks = read_csv_file(valid["mca_econ_checks"][r.period] / f"checks_{ym}.csv")
        mine = checks[checks.hukou_no == r.household_id[1:]]
        assert len(mine) == 1 and mine.iloc[0].outcome == "above_edge" and mine.iloc[0].income_basis == "check_only"
        now, before = _hrss(valid, r.period), _hrss(valid, _prev(r.period))
        assert now.loc[r.person_id, "就业状态"] == "失业登记"
        assert r.person_id not in before.index or before.loc[r.person_id, "就业状态"] != "失业登记"
    for r in nm[nm.kind == "relapse_listing_only"].itertuples():
        df = read_csv_file(next(valid["moa_relapse_watch"][r.period].glob("*.csv")))
        row = df[df["户号"] == r.household_id[1:]]
        assert len(row) == 1 and row.iloc[0]["识别日期"][:7] == r.period and row.iloc[0]["风险消除"] == "否"


def test_relapse_and_tekun_truth_traces(truth, valid):
    """Every required RELAPSE_RISK row is a household of the relapse watch in that month; every required
    TEKUN_CANDIDATE row a roster dibao/edge family (or one verified below the 特困 standard)."""
    req = truth[truth.required == "1"]
    for r in req[req.indicator_code == "RELAPSE_RISK"].itertuples():
        df = read_csv_file(next(valid["moa_relapse_watch"][r.period].glob("*.csv")))
        roster = read_csv_file(next(valid["mca_roster"][r.period].glob("*.csv")))
        family = set(roster[roster.family_id == r.household_id].person_id)
        assert r.household_id[1:] in set(df["户号"]) or family & set(df["户主身份证号"]), r
    for r in req[req.indicator_code == "TEKUN_CANDIDATE"].itertuples():
        if r.household_id.startswith("F"):
            roster = read_csv_file(next(valid["mca_roster"][r.period].glob("*.csv")))
            assert set(roster[roster.family_id == r.household_id].category) <= {"dibao", "edge"}, r


def test_generator_self_check_is_clean(province):
    assert province.issues == []


# --- the income rules, recomputed from the files ------------------------------------------------------

def _household_months(province, valid):
    """Household income, size and standard per data month, from the delivered files only."""
    std = read_csv_file(next(folders(province, "ref_standards")[0].glob("*.csv")))
    std_of = {(r.city_code, r.year, r.urban_rural): float(r.dibao_monthly_yuan) for r in std.itertuples()}
    frames = []
    for t, period in enumerate(PERIODS):
        roster = read_csv_file(next(valid["mca_roster"][period].glob("*.csv")))
        members = pd.concat([read_csv_file(p) for p in valid["mps_hukou_members"][period].glob("*.csv")])
        members = members[~members.person_id.isin(roster.person_id)]
        a = pd.DataFrame({"hh": roster.family_id, "pid": roster.person_id, "region": roster.region_code,
                          "ur": roster.urban_rural, "cat": roster.category})
        b = pd.DataFrame({"hh": "H" + members.hukou_no, "pid": members.person_id, "region": members.region_code,
                          "ur": np.where(members.region_code.str[-3:].astype(int) <= 199, "urban", "rural"),
                          "cat": "none"})
        m = pd.concat([a, b])
        claims = pq.read_table(next(valid["nhsa_claims"][period].glob("*.parquet"))).to_pandas()
        m["oop"] = m.pid.map(claims.groupby("person_id").oop_fen.sum() / 100).fillna(0.0)
        h = _hrss(valid, period)
        inc = (h["缴费基数"].astype(float) + h["失业保险金"].astype(float) + h["养老金"].astype(float))
        m["income"] = m.pid.map(inc).fillna(0.0)
        g = m.groupby("hh").agg(income=("income", "sum"), oop=("oop", "sum"), size=("pid", "count"),
                                region=("region", "first"),
                                ur=("ur", "first"), cat=("cat", "first"))
        g["std"] = [std_of[(r[:4], period[:4], u)] for r, u in zip(g.region, g.ur)]
        g["t"] = t
        frames.append(g.reset_index())
    return pd.concat(frames)


def test_income_rules_recomputed_from_files(province, valid, truth, truth_income):
    """INC_DROP, EXP_MED, ELIG_DIBAO and ELIG_EDGE recomputed from the files where every member's income
    is known to HRSS (observed coverage full, so observed income is the true income and the catalog v2
    rules read it): every required truth row of such a window fires in its month, and nothing fires on
    a household without truth. Elsewhere the v2 rules read the economic checks, the relapse surveys and
    the hardship signals (tested through the pipeline, tests/test_end_to_end.py); INC_DROP and EXP_MED
    rule B do not weigh income against a line and are checked everywhere."""
    hm = _household_months(province, valid)
    T = len(PERIODS)
    inc = hm.pivot(index="hh", columns="t", values="income")
    size = hm.pivot(index="hh", columns="t", values="size")
    std = hm.pivot(index="hh", columns="t", values="std").ffill(axis=1).bfill(axis=1)
    oop = hm.pivot(index="hh", columns="t", values="oop")
    cat = hm.groupby("hh").cat.first()
    ti = truth_income.assign(t=truth_income.period.map(PERIODS.index), hid=truth_income.hidden_income_yuan > 0,
                             unknown=truth_income.observed_coverage == "partial")
    hid = ti.pivot(index="household_id", columns="t", values="hid").reindex(index=inc.index, columns=range(T))
    hid = hid.fillna(False).astype(bool)
    unknown = ti.pivot(index="household_id", columns="t", values="unknown").reindex(index=inc.index, columns=range(T))
    unknown = unknown.fillna(True).astype(bool)
    hid2 = unknown.T.rolling(3, min_periods=1).max().T.astype(bool)   # some income unknown in t-2..t
    fired = defaultdict(dict)  # indicator -> household -> first period
    for t in range(T):
        # EXP_MED: rule A (3-month OOP vs income and the size x standard floor), rule B (spike vs median)
        a = pd.Series(False, index=inc.index)
        if t >= 2:
            o3, i3 = oop.iloc[:, t - 2:t + 1].sum(axis=1), inc.iloc[:, t - 2:t + 1].sum(axis=1)
            a = (o3 > 0) & (o3 >= 0.5 * i3) & (o3 >= size[t] * std[t]) & ~hid2[t]
        b = pd.Series(False, index=inc.index)
        if t >= 1:
            med = oop.iloc[:, max(0, t - 12):t].fillna(0).median(axis=1)
            b = (oop[t] > 0) & (oop[t] >= 3 * med) & (oop[t] >= 5000)
        cond = (a | b) & size[t].notna()
        for hh in cond[cond].index:
            fired["EXP_MED"].setdefault(hh, PERIODS[t])
        if t >= 3:
            base = inc.iloc[:, max(0, t - 6):t].median(axis=1, skipna=True)
            cond = (base > 0) & (inc[t] <= 0.7 * base) & ((base - inc[t]) / size[t] >= 0.2 * std[t])
            for hh in cond[cond.fillna(False)].index:
                fired["INC_DROP"].setdefault(hh, PERIODS[t])
        if t >= 2:
            pcs = (inc / size).iloc[:, t - 2:t + 1]
            present = pcs.notna().all(axis=1)
            mean = pcs.mean(axis=1)
            dibao = present & ~cat.reindex(pcs.index).isin(["dibao", "tekun"]) & (mean < std[t])
            edge = present & (cat.reindex(pcs.index) == "none") & ~dibao & (mean >= std[t]) & (mean < 1.5 * std[t])
            for name, cond in (("ELIG_DIBAO", dibao & ~hid2[t]), ("ELIG_EDGE", edge & ~hid2[t])):
                for hh in cond[cond].index:
                    fired[name].setdefault(hh, PERIODS[t])
    truth_hh = set(truth.household_id)
    known3 = ~hid2
    for code in ("INC_DROP", "ELIG_DIBAO", "ELIG_EDGE", "EXP_MED"):
        req = truth[(truth.indicator_code == code) & (truth.required == "1")]
        for r in req.itertuples():
            t = PERIODS.index(r.period)
            if code in ("ELIG_DIBAO", "ELIG_EDGE") and not known3.loc[r.household_id, t]:
                continue          # path (a) on verified / surveyed income, or path (b): not in the files alone
            if code == "EXP_MED" and fired[code].get(r.household_id) is None:
                continue          # rule A on verified / surveyed income
            assert fired[code].get(r.household_id) == r.period, (code, r.household_id, r.period,
                                                                 fired[code].get(r.household_id))
        stray = {hh for hh in fired[code] if hh not in truth_hh}
        assert not stray, (code, sorted(stray)[:5])
    # ordinary households stay comfortably clear where their observed income is their true income:
    # per-capita income never within 20% of the lines
    ordinary = ~inc.index.isin(truth_hh)
    pc = (inc / size).where(~hid)[ordinary]
    s = std[ordinary]
    nonroster = (cat.reindex(pc.index) == "none")
    assert (pc[nonroster].isna() | (pc[nonroster] >= 1.8 * s[nonroster])).all().all()
    watched = cat.reindex(pc.index).isin(["edge", "expense_hardship", "relapse_watch", "other"])
    assert (pc[watched].isna() | (pc[watched] >= 1.2 * s[watched])).all().all()
    # ... and where it hides income, today's ELIG_DIBAO floods (the point of the hidden income)
    looks_poor = ((inc / size) < std) & hid
    assert looks_poor[(cat == "none").reindex(inc.index)].to_numpy().sum() > 100


def test_medical_spikes_recomputed_from_files(province, valid, truth):
    """No ordinary household's out-of-pocket cost comes near EXP_MED; the near-miss reversals cancel."""
    oop = defaultdict(float)
    for period, folder in valid["nhsa_claims"].items():
        df = pq.read_table(next(folder.glob("*.parquet"))).to_pandas()
        for pid, v in df.groupby("person_id").oop_fen.sum().items():
            oop[(pid, period)] += v / 100
    truth_people = set(truth.person_id)
    ordinary = [v for (pid, _), v in oop.items() if pid not in truth_people]
    assert max(ordinary) < 1000
    nm = pd.read_csv(province.out / "near_misses.csv", dtype=str)
    for r in nm[nm.kind == "claim_reversal"].itertuples():
        # the reversed settlement alone was thousands of yuan out of pocket; net, little is left
        assert oop[(r.person_id, r.period)] < 1000


# --- hidden income, coverage, truth_income -------------------------------------------------------------

def _latest_moe(valid, period: str) -> set[str]:
    """Students of the latest school term whose period is <= the month (principle "known at zero")."""
    terms = sorted(p for p in valid["moe_students"] if p <= period)
    if not terms:
        return set()
    return set(read_csv_file(next(valid["moe_students"][terms[-1]].glob("*.csv"))).person_id)


def test_truth_income_columns_and_sums(truth_income):
    assert list(truth_income.columns) == ["household_id", "period", "urban_rural", "category", "size",
                                          "known_members", "true_income_yuan", "observed_income_yuan",
                                          "hidden_income_yuan", "assessed_income_yuan", "observed_coverage",
                                          "coverage"]
    ti = truth_income
    assert set(ti.period) == set(PERIODS)
    assert not ti.duplicated(["household_id", "period"]).any()
    assert (ti.true_income_yuan == ti.observed_income_yuan + ti.hidden_income_yuan).all()
    assert (ti.hidden_income_yuan >= 0).all() and (ti["size"] > 0).all()
    assert set(ti.observed_coverage) == {"full", "partial"}
    assert set(ti.coverage) == {"full", "partial", "verified", "surveyed"}
    # full = every member known; hidden income only ever belongs to a member whose income is unknown
    assert ((ti.observed_coverage == "full") == (ti.known_members == ti["size"])).all()
    assert (ti[ti.observed_coverage == "full"].hidden_income_yuan == 0).all()
    # verified and surveyed only from the first period of the checks and the relapse watch
    assert (ti[ti.coverage.isin(["verified", "surveyed"])].period >= "2026-01").all()
    assert ((ti.coverage == "full") <= (ti.observed_coverage == "full")).all()


def test_an_assessed_check_counts_the_members_as_they_are_now(truth, truth_income):
    """What an assessed check finds (assessed_income_yuan) is the income of the household's members of the
    month over the months up to 12 back: the household's own mean true income while nobody joined, left or
    died -- and without a member who died, even for the months he still earned in."""
    ti = truth_income.sort_values(["household_id", "period"]).copy()
    for c in ("true_income_yuan", "assessed_income_yuan"):
        ti[c] = ti[c].astype(float)
    g = ti.groupby("household_id")
    ti["months"] = g.cumcount() + 1
    ti["mean_true"] = g["true_income_yuan"].transform(lambda x: x.rolling(12, min_periods=1).mean())
    ti["same_size"] = g["size"].transform(lambda x: x.rolling(12, min_periods=1).apply(lambda w: w.min() == w.max()))
    everyone = set(PERIODS[:12])
    present_all = g["period"].transform(lambda x: set(x) >= everyone)
    died = set(truth[truth.indicator_code.isin(["POP_DEATH", "BENEFIT_AFTER_DEATH", "CHILD_NO_CARE"])].household_id)
    stable = ti[(ti.same_size == 1) & present_all & (ti.period <= PERIODS[11]) & ~ti.household_id.isin(died)]
    assert len(stable) > 1000
    assert (stable.assessed_income_yuan - stable.mean_true).abs().max() < 0.01
    # a death of an earner: the household's mean true income still holds his earlier months, the check not
    deaths = truth.query("indicator_code == 'POP_DEATH'")
    after = ti.merge(deaths[["household_id", "period"]], on=["household_id", "period"])
    after = after[(after.months >= 2) & (after.true_income_yuan < after.mean_true - 100)]
    assert len(after) >= 1
    assert (after.assessed_income_yuan < after.mean_true - 1).all()


def test_truth_income_recomputed_from_files(province, valid, truth_income):
    """Observed income and coverage, recomputed from the delivered files alone: the household's members
    (roster, else hukou members), their HRSS rows, their age (from the 身份证号), the latest school term
    and the standard in force."""
    std = read_csv_file(next(folders(province, "ref_standards")[0].glob("*.csv")))
    std_of = {(r.city_code, r.year, r.urban_rural): float(r.dibao_monthly_yuan) for r in std.itertuples()}
    frames = []
    for period in PERIODS:
        roster = read_csv_file(next(valid["mca_roster"][period].glob("*.csv")))
        members = pd.concat([read_csv_file(p) for p in valid["mps_hukou_members"][period].glob("*.csv")])
        members = members[~members.person_id.isin(roster.person_id)]
        m = pd.concat([
            pd.DataFrame({"hh": roster.family_id, "pid": roster.person_id, "region": roster.region_code,
                          "ur": roster.urban_rural}),
            pd.DataFrame({"hh": "H" + members.hukou_no, "pid": members.person_id, "region": members.region_code,
                          "ur": np.where(members.region_code.str[-3:].astype(int) <= 199, "urban", "rural")})])
        h = _hrss(valid, period)
        m["status"] = m.pid.map(h["就业状态"]).fillna("")
        m["income"] = m.pid.map(h["缴费基数"].astype(float).where(h["就业状态"].isin(["在职", "灵活就业"]), 0.0)
                                + h["失业保险金"].astype(float) + h["养老金"].astype(float)).fillna(0.0)
        m["ub"] = m.pid.map(h["失业保险金"].astype(float)).fillna(0.0)
        m["pension"] = m.pid.map(h["养老金"].astype(float)).fillna(0.0)
        m["std"] = [std_of[(r[:4], period[:4], u)] for r, u in zip(m.region, m.ur)]
        end = pd.Timestamp(period + "-01") + pd.offsets.MonthEnd(0)
        born = pd.to_datetime(m.pid.str[6:14], format="%Y%m%d")
        under16 = born > end - pd.DateOffset(years=16)
        student = m.pid.isin(_latest_moe(valid, period))
        m["known"] = (under16 | student | m.status.isin(["在职", "灵活就业"]) | (m.ub > 0)
                      | (m.pension >= m["std"]))
        g = m.groupby("hh").agg(size=("pid", "count"), observed=("income", "sum"), known=("known", "sum"))
        g["period"] = period
        frames.append(g.reset_index())
    files = pd.concat(frames).rename(columns={"hh": "household_id"})
    both = truth_income.merge(files, on=["household_id", "period"], how="inner", suffixes=("", "_f"))
    # a newborn is in the hukou extract a month before the roster adds it: the only mismatch allowed
    assert len(both) >= 0.99 * len(truth_income)
    same = both[both["size"] == both["size_f"]]
    assert len(same) >= 0.99 * len(both)
    assert np.allclose(same.observed_income_yuan.astype(float), same.observed, atol=0.01)
    assert (same.known_members == same.known).all()


def test_coverage_shares(province, truth_income):
    """Most rural households' income is partly hidden; a minority of the urban households off the
    roster (roster families: non-working members, elderly on the basic pension — mostly partial)."""
    cov = province.income["coverage"]
    assert 0.75 <= cov["rural_all"][0] <= 0.95, cov
    assert 0.15 <= cov["urban_other"][0] <= 0.40, cov
    assert cov["rural_other"][0] > cov["urban_other"][0]
    ti = truth_income
    shares = ti.assign(partial=ti.observed_coverage == "partial").groupby("urban_rural").partial.mean()
    assert shares["rural"] == pytest.approx(cov["rural_all"][0])
    # in catalog v2 terms most roster families are verified by their periodic reviews
    roster = ti[(ti.category != "none") & (ti.period >= "2026-07")]
    assert (roster.coverage == "verified").mean() > 0.5


def test_hidden_income_follows_the_household(province, valid, truth_income):
    """What a model can learn from the checks: rural households hide more, and hidden income grows
    with the number of working-age adults."""
    period = PERIODS[6]
    ti = truth_income[(truth_income.period == period) & (truth_income.category == "none")].set_index("household_id")
    members = pd.concat([read_csv_file(p) for p in valid["mps_hukou_members"][period].glob("*.csv")])
    end = pd.Timestamp(period + "-01") + pd.offsets.MonthEnd(0)
    age = (end - pd.to_datetime(members.person_id.str[6:14], format="%Y%m%d")).dt.days / 365.25
    adults = members.assign(a=(age >= 18) & (age < 60)).groupby("hukou_no").a.sum()
    ti = ti.assign(adults=[int(adults.get(h[1:], 0)) for h in ti.index])
    rural = ti[ti.urban_rural == "rural"]
    urban = ti[ti.urban_rural == "urban"]
    assert (rural.hidden_income_yuan > 0).mean() > 0.7 > (urban.hidden_income_yuan > 0).mean()
    working = rural[rural.adults >= 1]       # (households of elderly people live on support and farm work)
    by_adults = working.groupby(working.adults.clip(upper=3)).hidden_income_yuan.mean().astype(float)
    assert len(by_adults) == 3 and by_adults.is_monotonic_increasing, by_adults


def test_econ_checks(province, valid, truth_income):
    std = read_csv_file(next(folders(province, "ref_standards")[0].glob("*.csv")))
    std_of = {(r.city_code, r.year, r.urban_rural): float(r.dibao_monthly_yuan) for r in std.itertuples()}
    ti = truth_income.assign(true=truth_income.true_income_yuan.astype(float)).set_index(["household_id", "period"])
    reasons, bases, n = set(), set(), 0
    close, assessed = 0, 0
    referral_outcomes = []
    for period in V2_PERIODS:
        folder = valid["mca_econ_checks"][period]
        ym = period.replace("-", "")
        raw = (folder / f"checks_{ym}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") and (folder / f"check_members_{ym}.csv").read_bytes().startswith(
            b"\xef\xbb\xbf")
        df = read_csv_file(folder / f"checks_{ym}.csv")
        mem = read_csv_file(folder / f"check_members_{ym}.csv")
        assert list(df.columns) == CHECK_COLUMNS and list(mem.columns) == ["check_id", "person_id"]
        assert df.check_id.is_unique and (df.check_date.str[:7] == period).all()
        assert (mem.groupby("check_id").size().reindex(df.check_id).values == df.household_size.astype(int)).all()
        reasons |= set(df.reason)
        bases |= set(df.income_basis)
        roster = read_csv_file(next(valid["mca_roster"][period].glob("*.csv")))
        heads = roster[roster.relation == "head"].set_index("family_id")
        for r in df.itertuples():
            n += 1
            s = std_of[(r.region_code[:4], r.check_date[:4], r.urban_rural)]
            pc = float(r.monthly_income_yuan) / int(r.household_size)
            assert r.outcome == ("below_dibao" if pc < s else "below_edge" if pc < 1.5 * s else "above_edge")
            hid = r.family_id or "H" + r.hukou_no
            if r.reason == "review":
                # the roster's last economic check is this check
                assert r.family_id and heads.loc[r.family_id, "last_econ_check_date"] == r.check_date
            else:
                assert not r.family_id
            if r.reason == "referral" and r.income_basis == "assessed":
                referral_outcomes.append(r.outcome)
            true = ti.loc[(hid, period), "true"]
            if r.income_basis == "assessed":
                # true income of the months up to the check (seasons average out), 2% noise
                months = ti.loc[hid].loc[[p for p in PERIODS if p <= period][-12:]].true
                assessed += 1
                close += abs(float(r.monthly_income_yuan) - months.mean()) <= 0.08 * months.mean() + 1
            else:
                assert float(r.monthly_income_yuan) <= true + 1, (r.check_id, r.monthly_income_yuan, true)
    assert reasons == {"application", "review", "referral"} and bases == {"assessed", "check_only"}
    assert close >= 0.95 * assessed and assessed > 100 and n > 500
    # the households a town refers look poor to the feeds; the assessment finds most of them are not
    assert referral_outcomes and referral_outcomes.count("above_edge") / len(referral_outcomes) > 0.5


def test_relapse_watch(province, valid, truth_income):
    ti = truth_income.assign(true=truth_income.true_income_yuan.astype(float))
    y25 = ti[ti.period < "2026-01"].groupby("household_id")
    true25, size25 = y25.true.mean(), y25["size"].mean()
    roster0 = read_csv_file(next(valid["mca_roster"]["2026-01"].glob("*.csv")))
    relapse_heads = set(roster0[(roster0.category == "relapse_watch") & (roster0.relation == "head")
                                & (roster0.urban_rural == "rural")].person_id)
    seen_heads, new = set(), 0
    for period in V2_PERIODS:
        df = read_csv_file(next(valid["moa_relapse_watch"][period].glob("*.csv")))
        assert list(df.columns) == WATCH_HEADERS
        assert df["监测户编号"].is_unique
        assert set(df["监测类型"]) <= {"脱贫不稳定户", "边缘易致贫户", "突发严重困难户"}
        risks = {x for v in df["风险类型"] for x in v.split(";")}
        assert risks <= {"因病", "因残", "因学", "因灾", "因意外", "因失业", "产业失败", "其他"}
        assert set(df["风险消除"]) <= {"是", "否"} and set(df["收入年度"]) == {"2025"}
        net, transfer = df["人均纯收入"].astype(int), df["人均转移性收入"].astype(int)
        assert (net >= transfer).all() and (transfer >= 0).all()
        assert (df["识别日期"] <= str((pd.Timestamp(period + "-01") + pd.offsets.MonthEnd(0)).date())).all()
        assert (df["区划代码"].str[-3:].astype(int) >= 200).all(), "rural households only"
        seen_heads |= set(df["户主身份证号"])
        new = max(new, (df["识别日期"] >= "2026-01-01").sum())
        # the survey is the household's true income of the survey year (3% noise) plus small subsidies
        roster = read_csv_file(next(valid["mca_roster"][period].glob("*.csv")))
        fam = dict(zip(roster[roster.relation == "head"].person_id, roster[roster.relation == "head"].family_id))
        for r in df.itertuples():
            hid = fam.get(r[2], "H" + r[3])
            if hid in true25.index:
                monthly = net[r.Index] * size25[hid] / 12      # the survey year's household income
                assert 0.9 * true25[hid] <= monthly <= 1.1 * true25[hid] + 1600 / 12, (hid, monthly, true25[hid])
    assert relapse_heads <= seen_heads, "every rural relapse_watch roster family is monitored"
    assert seen_heads - relapse_heads, "and households not on the roster"
    assert new > 0, "some identified during the months"


def test_cdpf_subsidies(province, valid):
    """Layout v2: most entitled holders receive the two subsidies, some do not (what AID_DISABILITY
    looks for); nobody else receives them."""
    nursing, living = [], []
    # a renewed certificate (near miss cert_renewal) shows its new 发证日期; its holder keeps the subsidy
    nm = pd.read_csv(province.out / "near_misses.csv", dtype=str)
    renewed = set(nm[nm.kind == "cert_renewal"].person_id)
    assert renewed
    for period in [p for p in PERIODS if p >= LAYOUT2_SINCE]:
        rows = xlsx_rows(valid["cdpf_disability"][period])[1:]
        roster = read_csv_file(next(valid["mca_roster"][period].glob("*.csv")))
        assisted = set(roster[roster.category.isin(["dibao", "edge"])].person_id)
        end = pd.Timestamp(period + "-01") + pd.offsets.MonthEnd(0)
        for r in rows:
            pid, grade, issued, status, live, nurse = str(r[0]).upper(), r[2], r[3], r[4], r[5], r[6]
            old = (end - pd.Timestamp(issued)).days >= 90
            if pid in renewed:
                continue
            if status == "有效" and grade in ("一级", "二级") and old:
                nursing.append(nurse == "是")
            else:
                assert nurse == "否"
            if status == "有效" and pid in assisted and old:
                living.append(live == "是")
            else:
                assert live == "否"
    assert 0.6 < np.mean(nursing) < 1 and 0.6 < np.mean(living) < 1, (np.mean(nursing), np.mean(living))


def test_moe_midterm_deliveries(province, valid):
    by_period = defaultdict(list)
    for folder in folders(province, "moe_students"):
        by_period[manifest(folder)["period"]].append(folder)
    assert {p: len(v) for p, v in by_period.items()} == {"2025-09": 1, "2026-03": 2, "2026-09": 2}
    roster = pd.concat([read_csv_file(next(valid["mca_roster"][p].glob("*.csv"))) for p in ("2026-03", "2026-09")])
    cats = dict(zip(roster.person_id, roster.category))
    zero_aid, granted = 0, 0
    for period in ("2026-03", "2026-09"):
        start, mid = sorted(by_period[period])
        assert 58 <= (dt.date.fromisoformat(mid.name) - dt.date.fromisoformat(period + "-01")).days <= 65
        a = read_csv_file(next(start.glob("*.csv"))).set_index("person_id")
        b = read_csv_file(next(mid.glob("*.csv"))).set_index("person_id")
        assert list(a.index) == list(b.index)
        assert (b.aid_yuan.astype(float) >= a.aid_yuan.astype(float)).all()
        assisted = np.array([cats.get(p) in ("dibao", "tekun", "edge", "expense_hardship", "relapse_watch")
                             for p in b.index])
        entitled = b[assisted & (b.stage.isin(["preschool", "senior", "vocational", "college", "graduate"])
                        | (b.boarding_yuan.astype(float) > 0))]
        zero_aid += (entitled.aid_yuan.astype(float) == 0).sum()
        granted += (entitled.aid_yuan.astype(float) > 0).sum()
    # most entitled students receive aid by mid-term (students of injected events' households keep
    # their start-of-term aid), some do not: what AID_EDU looks for
    assert zero_aid > 0 and granted >= 4 * zero_aid, (granted, zero_aid)


def test_catalog_v1_layouts_same_province(province, province_v1):
    """catalog="v1": the same province (truth, incomes, every v1 feed's data), in the layouts and
    cadences today's readers load: cdpf and grid in v1 columns, mem_disaster monthly without status."""
    for name in ("truth.csv", "truth_income.parquet", "near_misses.csv"):
        assert (province.out / name).read_bytes() == (province_v1.out / name).read_bytes(), name
    v1 = province_v1
    assert not (v1.out / "superseded").exists()
    # the catalog v1 calendar: the feeds catalog v1 knows arrive on the same days in both
    for feed in ("mca_roster", "hrss_employment", "nhsa_claims", "mohurd_housing", "bank_deposits"):
        assert [f.name for f in folders(v1, feed)] == [f.name for f in folders(province, feed)], feed
    for folder in folders(v1, "cdpf_disability"):
        assert xlsx_header(folder) == CDPF_HEADERS
    for folder in folders(v1, "grid_visits"):
        assert list(read_csv_file(next(folder.glob("*.csv"))).columns) == GRID_HEADERS
    periods = [manifest(f)["period"] for f in folders(v1, "mem_disaster")]
    assert periods == PERIODS
    recs = disaster_records(folders(v1, "mem_disaster"))
    assert recs and all(set(r) == DISASTER_FIELDS for r in recs)
    # the same records as the v2 deliveries finally hold (corrections applied, withdrawals left out)
    final_v2 = {}
    for f in folders(province, "mem_disaster"):
        for r in disaster_records([f]):
            final_v2[(r["disaster_id"], r["person_id"])] = r
    final_v2 = {k: {x: v for x, v in r.items() if x != "status"} for k, r in final_v2.items()
                if r.get("status", "active") == "active"}
    assert {(r["disaster_id"], r["person_id"]): r for r in recs} == final_v2
    for feed in ("hrss_employment", "mca_roster", "mca_econ_checks", "moa_relapse_watch", "moe_students"):
        # the same data files (delivery dates and times are drawn in another order)
        a = sorted(p.read_bytes() for f in folders(province, feed) for p in f.iterdir() if p.name != "manifest.json")
        b = sorted(p.read_bytes() for f in folders(v1, feed) for p in f.iterdir() if p.name != "manifest.json")
        assert a == b, feed


# --- determinism ---------------------------------------------------------------------------------------

def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    # 2025-12 .. 2026-07: the new feeds, daily mem_disaster, a mid-term delivery and the v2 layouts
    a = generate(out=tmp_path / "a", households=60, months=8, seed=7, start="2025-12", catalog="v2")
    b = generate(out=tmp_path / "b", households=60, months=8, seed=7, start="2025-12", catalog="v2")
    c = generate(out=tmp_path / "c", households=60, months=8, seed=8, start="2025-12", catalog="v2")
    da, db, dc = _digest(a.out), _digest(b.out), _digest(c.out)
    assert da == db
    assert da != dc
    assert any(k.endswith(".xlsx") for k in da) and any(k.endswith(".parquet") for k in da)


def test_offices_answers_bring_their_economic_checks_into_the_next_delivery(province, truth_income, tmp_path):
    """An office settles an income question by an assessed check (转介核对): the replay adds it, from the
    generator's check book, to the check centre's delivery of the answer's month -- one check per household,
    its members beside it, the manifest's counts and digests following, and the delivery still loads."""
    import datetime as dt
    import hashlib
    import json
    import shutil

    import duckdb

    from pipelines.config import Settings
    from pipelines.demo import simulate_checks
    from pipelines.ingest import ingest

    book = pq.read_table(province.out / "check_book.parquet").to_pandas()
    assert set(book.period) == {p for p in PERIODS if p >= "2026-01"}
    assert (book.reason == "referral").all() and (book.income_basis == "assessed").all()
    assert (book.household_size.astype(int) == book.members.map(len)).all()
    folder = next(m.parent for m in sorted((province.landing / "mca_econ_checks").glob("*/manifest.json"))
                  if json.loads(m.read_text(encoding="utf-8"))["period"] == "2026-04")
    landing = tmp_path / "landing"
    shutil.copytree(folder, landing / "mca_econ_checks" / folder.name)
    copy = landing / "mca_econ_checks" / folder.name
    before = (copy / "checks_202604.csv").read_text(encoding="utf-8-sig").splitlines()
    april = book[book.period == "2026-04"]
    roster = april[april.family_id != ""].iloc[0]
    other = april[april.family_id == ""].iloc[0]
    answered = [
        {"case_id": "C-1", "family_id": roster.family_id, "hukou_no": roster.hukou_no, "indicator_code": "ELIG_EDGE"},
        {"case_id": "C-2", "family_id": roster.family_id, "hukou_no": roster.hukou_no, "indicator_code": "EXP_HARDSHIP"},
        {"case_id": "C-3", "family_id": "", "hukou_no": other.hukou_no, "indicator_code": "ELIG_DIBAO"},
        {"case_id": "C-4", "family_id": "", "hukou_no": other.hukou_no, "indicator_code": "POP_BIRTH"},
    ]
    night = dt.date(2026, 3, 31)
    assert simulate_checks(landing, province.out / "check_book.parquet", answered, night, dt.date(2026, 4, 29)) == 2
    after = (copy / "checks_202604.csv").read_text(encoding="utf-8-sig").splitlines()
    assert after[:len(before)] == before
    added = [dict(zip(after[0].split(","), line.split(","))) for line in after[len(before):]]
    assert {r["hukou_no"] for r in added} == {roster.hukou_no, other.hukou_no}
    for r in added:
        src = april[april.hukou_no == r["hukou_no"]].iloc[0]
        assert r["check_id"].startswith("HR20260429") and r["check_date"] == "2026-04-29"
        assert (r["reason"], r["income_basis"]) == ("referral", "assessed")
        assert (r["monthly_income_yuan"], r["outcome"]) == (src.monthly_income_yuan, src.outcome)
        members = [line.split(",")[1] for line in (copy / "check_members_202604.csv").read_text(
            encoding="utf-8-sig").splitlines() if line.startswith(r["check_id"] + ",")]
        assert members == list(src.members)
        # what the check finds is what truly is: the members' income over the months up to 12 back
        truth = truth_income[(truth_income.household_id == src.household_id) & (truth_income.period == "2026-04")]
        assert abs(float(src.monthly_income_yuan) / float(truth.assessed_income_yuan.iloc[0]) - 1) < 0.1
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        data = (copy / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["rows"] == len(data.decode("utf-8-sig").splitlines()) - 1
    # a delivery already visible to the night is never touched; nor is a month without one to come
    assert simulate_checks(landing, province.out / "check_book.parquet", answered, dt.date(2026, 5, 31),
                           dt.date(2026, 4, 30)) == 0
    assert simulate_checks(landing, province.out / "check_book.parquet", answered, night, dt.date(2026, 5, 29)) == 0
    s = Settings(landing=landing, warehouse=tmp_path / "wh.duckdb", show_progress=False, duckdb_threads=1)
    ingest(s, as_of=dt.date.fromisoformat(folder.name))
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        status, errors = con.execute("select status, cast(errors as varchar) from ops.deliveries").fetchone()
    finally:
        con.close()
    assert status == "loaded", errors
