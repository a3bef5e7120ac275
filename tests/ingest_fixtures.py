"""Tiny deliveries written exactly as docs/feeds.md says the departments send them.

Independent of the synthetic generator (pipelines/synth): each helper writes one feed's format by
hand (GB18030 + Chinese headers for HRSS, Parquet in fen for NHSA, XLSX for CDPF, JSON lines for
MEM, ...), so a reader test fails when a reader stops matching the documented format.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ids import check_char

# A small region tree: province 44, city 4403, county 440303, one town, an urban and a rural village.
PROVINCE, CITY, COUNTY, TOWN = "440000000000", "440300000000", "440303000000", "440303001000"
VILLAGE_URBAN, VILLAGE_RURAL = "440303001001", "440303001201"
REGIONS = [
    (PROVINCE, "广东省", "province", ""),
    (CITY, "深圳市", "city", PROVINCE),
    (COUNTY, "罗湖区", "county", CITY),
    (TOWN, "桂园街道", "town", COUNTY),
    (VILLAGE_URBAN, "松园社区居委会", "village", TOWN),
    (VILLAGE_RURAL, "某某村委会", "village", TOWN),
]


def person_id(seq: int, birth: str = "19800101", region6: str = "440303", lower_x: bool = False) -> str:
    """A valid 身份证号 (right check character)."""
    body = f"{region6}{birth}{seq % 1000:03d}"
    pid = body + check_char(body)
    return pid.lower() if lower_x else pid


def person_id_with_x(start: int = 1, birth: str = "19800101") -> str:
    """A valid id whose check character is X (to test the lowercase-x quirk)."""
    for seq in range(start, start + 1000):
        pid = person_id(seq, birth)
        if pid.endswith("X"):
            return pid
    raise AssertionError("no X id found")


def bad_check_char(pid: str) -> str:
    """The same id with a wrong check character."""
    good = pid[-1]
    wrong = "0" if good != "0" else "1"
    return pid[:-1] + wrong


# --- file writers ---------------------------------------------------------------------------------

def csv_bytes(header: list[str], rows: list[list], encoding: str = "utf-8", bom: bool = False) -> bytes:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    data = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def deliver(landing: Path, feed_id: str, date: str, period: str, files: dict[str, tuple[bytes, int]], *,
            produced_at: str | None = None, manifest: bool = True, manifest_patch: dict | None = None,
            file_patch: dict[str, dict] | None = None) -> Path:
    """Write one delivery folder: data files first, manifest last (as the departments do)."""
    folder = Path(landing) / feed_id / date
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, (data, rows) in files.items():
        (folder / name).write_bytes(data)
        entry = {"name": name, "rows": rows, "sha256": hashlib.sha256(data).hexdigest()}
        entry.update((file_patch or {}).get(name, {}))
        entries.append(entry)
    if manifest:
        m = {"feed_id": feed_id, "period": period,
             "produced_at": produced_at or f"{date}T01:00:00+08:00", "files": entries}
        m.update(manifest_patch or {})
        (folder / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    return folder


def _month_days(period: str, day: int = 15) -> dt.date:
    y, m = (int(x) for x in period.split("-"))
    return dt.date(y, m, day)


# --- one writer per feed: rows are dicts in the feed's English raw names with the department's values

def mca_roster(rows: list[dict], bom: bool = False) -> tuple[bytes, int]:
    from pipelines.feeds.mca_roster import RAW_COLUMNS

    return csv_bytes(list(RAW_COLUMNS), [[r.get(c) for c in RAW_COLUMNS] for r in rows], bom=bom), len(rows)


def roster_rows(period: str, n: int = 3, start: int = 1) -> list[dict]:
    out = []
    for i in range(n):
        fam = f"F{VILLAGE_URBAN}{(start + i // 2):06d}"
        out.append({"snapshot_month": period, "family_id": fam, "person_id": person_id(start + i),
                    "name": "张三" if i % 2 == 0 else "李四", "gender": "M" if i % 2 == 0 else "F",
                    "birth_date": "1980-01-01", "relation": "head" if i % 2 == 0 else "spouse",
                    "region_code": VILLAGE_URBAN, "urban_rural": "urban", "category": "dibao",
                    "enrolled_date": "2024-03-01", "monthly_benefit_yuan": "850.00",
                    "last_econ_check_date": "2025-12-01", "last_home_visit_date": ""})
    return out


HRSS_HEADERS = ["统计月份", "身份证号", "就业状态", "单位信用代码", "缴费基数", "失业保险金", "养老金"]


def hrss_employment(rows: list[dict], encoding: str = "gb18030") -> tuple[bytes, int]:
    """GB18030, Chinese headers; rows use the raw English keys with Chinese status values."""
    keys = ["month", "person_id", "employment_status", "employer_code", "contribution_base",
            "unemployment_benefit", "pension"]
    return csv_bytes(HRSS_HEADERS, [[r.get(k) for k in keys] for r in rows], encoding=encoding), len(rows)


def hrss_rows(period: str, n: int = 3, start: int = 1) -> list[dict]:
    statuses = ["在职", "灵活就业", "失业登记", "退休", "无"]
    return [{"month": period.replace("-", ""), "person_id": person_id(start + i),
             "employment_status": statuses[i % len(statuses)],
             "employer_code": "91440300MA5XXXXX0X" if i % 5 == 0 else "",
             "contribution_base": "4500.50", "unemployment_benefit": "0", "pension": "0"} for i in range(n)]


def nhsa_claims(rows: list[dict]) -> tuple[bytes, int]:
    """Parquet with typed columns: date, bool, int64 fen."""
    table = pa.table({
        "settle_id": pa.array([r["settle_id"] for r in rows], pa.string()),
        "person_id": pa.array([r["person_id"] for r in rows], pa.string()),
        "settle_date": pa.array([r["settle_date"] for r in rows], pa.date32()),
        "visit_type": pa.array([r["visit_type"] for r in rows], pa.string()),
        "catastrophic": pa.array([r["catastrophic"] for r in rows], pa.bool_()),
        **{c: pa.array([r[c] for r in rows], pa.int64())
           for c in ("total_fen", "fund_fen", "critical_illness_fen", "medical_aid_fen", "oop_fen")},
        "reversal_of": pa.array([r.get("reversal_of") for r in rows], pa.string()),
    })
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue(), len(rows)


def claim(settle_id: str, pid: str, day: dt.date, total: int, fund: int, crit: int = 0, aid: int = 0,
          reversal_of: str | None = None, visit_type: str = "inpatient", catastrophic: bool = False) -> dict:
    return {"settle_id": settle_id, "person_id": pid, "settle_date": day, "visit_type": visit_type,
            "catastrophic": catastrophic, "total_fen": total, "fund_fen": fund, "critical_illness_fen": crit,
            "medical_aid_fen": aid, "oop_fen": total - fund - crit - aid, "reversal_of": reversal_of}


def nhsa_rows(period: str, n: int = 3, start: int = 1, prefix: str = "S") -> list[dict]:
    day = _month_days(period, 10)
    return [claim(f"{prefix}{period}-{start + i:05d}", person_id(start + i), day, 1234567, 800000, 100000, 50000)
            for i in range(n)]


def simple_csv(feed_id: str, rows: list[dict], bom: bool = False, period: str | None = None) -> tuple[bytes, int]:
    """The feed's columns in the layout of ``period`` (default: the first layout)."""
    from pipelines.feeds import FEEDS

    cols = list(FEEDS[feed_id].layout_for(period).columns)
    return csv_bytes(cols, [[r.get(c) for c in cols] for r in rows], bom=bom), len(rows)


CDPF_V1_HEADERS = ["身份证号", "残疾类别", "残疾等级", "发证日期", "状态"]
CDPF_V2_HEADERS = CDPF_V1_HEADERS + ["困难残疾人生活补贴", "重度残疾人护理补贴"]
_CDPF_KEYS = {"身份证号": "person_id", "残疾类别": "disability_type", "残疾等级": "disability_grade", "发证日期": "issued_on",
              "状态": "cert_status", "困难残疾人生活补贴": "living_subsidy", "重度残疾人护理补贴": "nursing_subsidy"}


def cdpf_disability(rows: list[dict], date_cells: bool = True, headers: list[str] | None = None) -> tuple[bytes, int]:
    """XLSX, one sheet, Chinese headers and values; 发证日期 as real date cells by default.
    ``headers``: the layout (default v1; ``CDPF_V2_HEADERS`` for periods from 2026-07; any other
    header is written with the row's value under that key, for drift tests)."""
    from openpyxl import Workbook

    headers = headers or CDPF_V1_HEADERS
    wb = Workbook()
    ws = wb.active
    ws.title = "残疾人证"
    ws.append(headers)
    for r in rows:
        out = []
        for h in headers:
            v = r.get(_CDPF_KEYS.get(h, h))
            if h == "发证日期" and date_cells and isinstance(v, str) and v:
                v = dt.datetime.fromisoformat(v)
            out.append(v)
        ws.append(out)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), len(rows)


def cdpf_rows(n: int = 3, start: int = 1, v2: bool = False) -> list[dict]:
    """Certificates; ``v2`` adds the two subsidy columns of layout v2 (是/否)."""
    types_ = ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"]
    grades = ["一级", "二级", "三级", "四级"]
    rows = [{"person_id": person_id(start + i), "disability_type": types_[i % 7], "disability_grade": grades[i % 4],
             "issued_on": "2019-05-20", "cert_status": "有效" if i % 3 else "注销"} for i in range(n)]
    if v2:
        for i, r in enumerate(rows):
            r["living_subsidy"] = "是" if i % 2 == 0 else "否"
            r["nursing_subsidy"] = "是" if i % 4 == 0 else "否"
    return rows


def mem_disaster(rows: list[dict]) -> tuple[bytes, int]:
    """JSON lines; amounts as JSON numbers."""
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    return data, len(rows)


def disaster_rows(period: str, n: int = 2, start: int = 1) -> list[dict]:
    return [{"disaster_id": f"D{period}-01", "disaster_type": "flood", "occurred_on": _month_days(period, 5).isoformat(),
             "person_id": person_id(start + i), "region_code": VILLAGE_RURAL, "house_damage": "severe",
             "loss_yuan": 35000 if i % 2 == 0 else 35000.5, "emergency_aid_yuan": 2000} for i in range(n)]


def disaster(disaster_id: str, pid: str, occurred_on: str, *, status: str | None = None, loss: float = 35000,
             damage: str = "severe", aid: float = 2000) -> dict:
    """One mem_disaster object (``status`` omitted when None, as before 2026-04)."""
    r = {"disaster_id": disaster_id, "disaster_type": "flood", "occurred_on": occurred_on, "person_id": pid,
         "region_code": VILLAGE_RURAL, "house_damage": damage, "loss_yuan": loss, "emergency_aid_yuan": aid}
    if status is not None:
        r["status"] = status
    return r


# --- mca_econ_checks: two files per delivery -------------------------------------------------------

CHECK_COLUMNS = ["check_id", "check_date", "reason", "family_id", "hukou_no", "applicant_id", "region_code",
                 "urban_rural", "household_size", "income_basis", "monthly_income_yuan", "financial_assets_yuan",
                 "vehicles", "properties", "outcome"]


def econ_check_rows(period: str, n: int = 3, start: int = 1, members_each: int = 2) -> tuple[list[dict], list[dict]]:
    """(checks, members): ``n`` checks of ``members_each`` members each, consistent with each other."""
    day = _month_days(period, 12).isoformat()
    reasons, bases, outcomes = ["application", "review", "referral"], ["check_only", "assessed"], \
        ["below_dibao", "below_edge", "above_edge"]
    checks, members = [], []
    for i in range(n):
        cid = f"C{period.replace('-', '')}{start + i:05d}"
        head = person_id(100 + 10 * (start + i))
        checks.append({"check_id": cid, "check_date": day, "reason": reasons[i % 3],
                       "family_id": f"F{VILLAGE_URBAN}{start + i:06d}" if i % 2 == 0 else "",
                       "hukou_no": f"44030300{start + i:04d}", "applicant_id": head, "region_code": VILLAGE_URBAN,
                       "urban_rural": "urban", "household_size": str(members_each), "income_basis": bases[i % 2],
                       "monthly_income_yuan": "2350.50", "financial_assets_yuan": "12000.00", "vehicles": "0",
                       "properties": "1", "outcome": outcomes[i % 3]})
        members += [{"check_id": cid, "person_id": head if k == 0 else person_id(100 + 10 * (start + i) + k)}
                    for k in range(members_each)]
    return checks, members


def econ_check_files(period: str, checks: list[dict], members: list[dict], *, bom: bool = True,
                     check_columns: list[str] | None = None) -> dict[str, tuple[bytes, int]]:
    """The two files of one delivery, as the check centre's export writes them (UTF-8 with BOM)."""
    ym = period.replace("-", "")
    cols = check_columns or CHECK_COLUMNS
    return {f"checks_{ym}.csv": (csv_bytes(cols, [[r.get(c) for c in cols] for r in checks], bom=bom), len(checks)),
            f"check_members_{ym}.csv": (csv_bytes(["check_id", "person_id"],
                                                  [[r["check_id"], r["person_id"]] for r in members], bom=bom),
                                        len(members))}


# --- moa_relapse_watch: Chinese headers --------------------------------------------------------------

MOA_HEADERS = {"watch_id": "监测户编号", "head_person_id": "户主身份证号", "hukou_no": "户号", "region_code": "区划代码",
               "watch_type": "监测类型", "risk_types": "风险类型", "household_size": "家庭人口数",
               "income_year": "收入年度", "net_income_per_capita": "人均纯收入",
               "transfer_income_per_capita": "人均转移性收入", "identified_on": "识别日期", "risk_eliminated": "风险消除"}


def moa_rows(period: str, n: int = 3, start: int = 1) -> list[dict]:
    types_ = ["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"]
    risks = ["因病", "因残;因学", "因灾；产业失败"]
    return [{"watch_id": f"W{start + i:08d}", "head_person_id": person_id(200 + start + i), "hukou_no": f"44030300{start + i:04d}",
             "region_code": VILLAGE_RURAL, "watch_type": types_[i % 3], "risk_types": risks[i % 3],
             "household_size": "4", "income_year": str(int(period[:4]) - 1), "net_income_per_capita": "8600",
             "transfer_income_per_capita": "2100.5", "identified_on": "2024-03-15",
             "risk_eliminated": "否" if i % 2 == 0 else "是"} for i in range(n)]


def moa_relapse_watch(rows: list[dict], headers: list[str] | None = None) -> tuple[bytes, int]:
    """CSV, UTF-8, Chinese headers (``headers``: English keys of the columns to write, default all)."""
    keys = headers or list(MOA_HEADERS)
    return csv_bytes([MOA_HEADERS.get(k, k) for k in keys], [[r.get(k) for k in keys] for r in rows]), len(rows)


def feed_rows(feed_id: str, period: str, n: int = 3, start: int = 1) -> list[dict]:
    """Plausible rows for the CSV feeds without special writers."""
    day = _month_days(period)
    iso = day.isoformat()
    if feed_id == "moe_students":
        y, m = period.split("-")
        term = f"{y}-{1 if int(m) <= 7 else 2}"
        return [{"term": term, "person_id": person_id(start + i), "stage": "senior", "tuition_yuan": "1200",
                 "boarding_yuan": "800", "aid_yuan": "500"} for i in range(n)]
    if feed_id == "mohurd_housing":
        vals = ["true", "False", "1", "0", "TRUE", "false"]
        return [{"as_of": iso, "person_id": person_id(start + i), "property_count": "1", "property_area_m2": "65.5",
                 "public_rental": vals[i % len(vals)], "dilapidated_level": "" if i % 2 else "C"} for i in range(n)]
    if feed_id == "samr_business":
        return [{"credit_code": f"92440300MA5{i:07d}", "person_id": person_id(start + i), "role": "legal_rep",
                 "entity_type": "individual", "registered_capital_yuan": "50000", "status": "active",
                 "event_date": iso} for i in range(n)]
    if feed_id == "mps_hukou_events":
        return [{"event_id": f"E{period}-{start + i:05d}", "person_id": person_id(start + i), "hukou_no": "440303001",
                 "event_type": "birth", "event_date": day.strftime("%Y%m%d"), "region_code": VILLAGE_URBAN}
                for i in range(n)]
    if feed_id == "mps_hukou_members":
        return [{"person_id": person_id(start + i), "hukou_no": f"44030300{start + i:04d}", "region_code": VILLAGE_RURAL,
                 "as_of": day.strftime("%Y%m%d")} for i in range(n)]
    if feed_id == "mps_vehicles":
        return [{"person_id": person_id(start + i), "vehicle_class": "car", "first_registered": "2015-06-01",
                 "event": "transfer_in", "event_date": iso} for i in range(n)]
    if feed_id == "bank_deposits":
        return [{"as_of": iso, "person_id": person_id(start + i), "deposits_yuan": "12000.50",
                 "securities_yuan": "0"} for i in range(n)]
    if feed_id == "grid_visits":
        return [{"visit_id": f"V{iso}-{start + i:04d}", "family_id": f"F{VILLAGE_URBAN}{start + i:06d}" if i % 2 == 0 else "",
                 "hukou_no": "" if i % 2 == 0 else "440303001234", "visit_date": iso,
                 "visitor_role": "grid_worker", "findings": "job_loss;illness" if i % 2 == 0 else "no_change",
                 "note": "走访: 家中有人住院,\n需跟进" if i == 0 else "正常"} for i in range(n)]
    if feed_id == "ref_regions":
        return [{"region_code": c, "name": nm, "level": lv, "parent_code": p} for c, nm, lv, p in REGIONS]
    if feed_id == "ref_standards":
        return [{"city_code": "4403", "year": period[:4], "urban_rural": ur, "dibao_monthly_yuan": v,
                 "tekun_monthly_yuan": t} for ur, v, t in (("urban", "1300", "1950"), ("rural", "1300", "1950"))]
    if feed_id == "moa_relapse_watch":
        return moa_rows(period, n, start)
    raise KeyError(feed_id)


def grid_v2_rows(period: str, n: int = 3, start: int = 1) -> list[dict]:
    """grid_visits rows in layout v2 (periods from 2026-07): + person_id (may be empty), region_code."""
    rows = feed_rows("grid_visits", period, n, start)
    for i, r in enumerate(rows):
        r["person_id"] = person_id(start + i) if i % 2 == 0 else ""
        r["region_code"] = VILLAGE_URBAN
    return rows


def grid_visits(rows: list[dict], columns: list[str] | None = None) -> tuple[bytes, int]:
    """grid_visits CSV with the given columns (default: layout v1)."""
    from pipelines.feeds.grid_visits import LAYOUTS

    cols = columns or list(LAYOUTS[0].columns)
    return csv_bytes(cols, [[r.get(c) for c in cols] for r in rows]), len(rows)


def deliver_feed(landing: Path, feed_id: str, date: str, period: str, rows: list[dict] | None = None, *,
                 name: str | None = None, **kwargs) -> Path:
    """One delivery of ``feed_id`` in its documented format (rows default to plausible ones)."""
    if feed_id == "mca_econ_checks":
        checks, members = rows if rows is not None else econ_check_rows(period)
        return deliver(landing, feed_id, date, period, econ_check_files(period, checks, members), **kwargs)
    if rows is None:
        rows = {"mca_roster": lambda: roster_rows(period), "hrss_employment": lambda: hrss_rows(period),
                "nhsa_claims": lambda: nhsa_rows(period), "cdpf_disability": lambda: cdpf_rows(),
                "mem_disaster": lambda: disaster_rows(period)}.get(feed_id, lambda: feed_rows(feed_id, period))()
    writer_opts = {k: kwargs.pop(k) for k in ("bom", "encoding", "date_cells", "headers", "columns") if k in kwargs}
    if feed_id == "moa_relapse_watch":
        data, ext = moa_relapse_watch(rows, **writer_opts), "csv"
    elif feed_id == "grid_visits" and writer_opts:
        data, ext = grid_visits(rows, **writer_opts), "csv"
    elif feed_id == "mca_roster":
        data, ext = mca_roster(rows, **writer_opts), "csv"
    elif feed_id == "hrss_employment":
        data, ext = hrss_employment(rows, **writer_opts), "csv"
    elif feed_id == "nhsa_claims":
        data, ext = nhsa_claims(rows), "parquet"
    elif feed_id == "cdpf_disability":
        data, ext = cdpf_disability(rows, **writer_opts), "xlsx"
    elif feed_id == "mem_disaster":
        data, ext = mem_disaster(rows), "jsonl"
    else:
        data, ext = simple_csv(feed_id, rows, period=period, **writer_opts), "csv"
    name = name or f"{feed_id}_{period.replace('-', '')}.{ext}"
    return deliver(landing, feed_id, date, period, {name: data}, **kwargs)


def deliver_references(landing: Path, date: str = "2025-12-20", period: str = "2026-01") -> None:
    deliver_feed(landing, "ref_regions", date, period)
    deliver_feed(landing, "ref_standards", date, period)


ALL_FEEDS = ("ref_regions", "ref_standards", "mca_roster", "hrss_employment", "nhsa_claims", "moe_students",
             "mohurd_housing", "samr_business", "mps_hukou_events", "mps_hukou_members", "mps_vehicles",
             "cdpf_disability", "mem_disaster", "bank_deposits", "grid_visits", "mca_econ_checks", "moa_relapse_watch")


def tiny_province(landing: Path, period: str = "2026-01", date: str = "2026-02-03") -> None:
    """One valid delivery per feed for ``period`` (reference data a little earlier)."""
    deliver_references(landing, "2026-01-02", period)
    for feed_id in ALL_FEEDS[2:]:
        d = f"{period}-28" if feed_id == "grid_visits" else date
        deliver_feed(landing, feed_id, d, period)
