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


def simple_csv(feed_id: str, rows: list[dict], bom: bool = False) -> tuple[bytes, int]:
    from pipelines.feeds import FEEDS

    cols = list(FEEDS[feed_id].raw_columns)
    return csv_bytes(cols, [[r.get(c) for c in cols] for r in rows], bom=bom), len(rows)


def cdpf_disability(rows: list[dict], date_cells: bool = True) -> tuple[bytes, int]:
    """XLSX, one sheet, Chinese headers and values; 发证日期 as real date cells by default."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "残疾人证"
    ws.append(["身份证号", "残疾类别", "残疾等级", "发证日期", "状态"])
    for r in rows:
        issued = r["issued_on"]
        if date_cells and isinstance(issued, str) and issued:
            issued = dt.datetime.fromisoformat(issued)
        ws.append([r["person_id"], r["disability_type"], r["disability_grade"], issued, r["cert_status"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), len(rows)


def cdpf_rows(n: int = 3, start: int = 1) -> list[dict]:
    types_ = ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"]
    grades = ["一级", "二级", "三级", "四级"]
    return [{"person_id": person_id(start + i), "disability_type": types_[i % 7], "disability_grade": grades[i % 4],
             "issued_on": "2019-05-20", "cert_status": "有效" if i % 3 else "注销"} for i in range(n)]


def mem_disaster(rows: list[dict]) -> tuple[bytes, int]:
    """JSON lines; amounts as JSON numbers."""
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    return data, len(rows)


def disaster_rows(period: str, n: int = 2, start: int = 1) -> list[dict]:
    return [{"disaster_id": f"D{period}-01", "disaster_type": "flood", "occurred_on": _month_days(period, 5).isoformat(),
             "person_id": person_id(start + i), "region_code": VILLAGE_RURAL, "house_damage": "severe",
             "loss_yuan": 35000 if i % 2 == 0 else 35000.5, "emergency_aid_yuan": 2000} for i in range(n)]


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
    raise KeyError(feed_id)


def deliver_feed(landing: Path, feed_id: str, date: str, period: str, rows: list[dict] | None = None, *,
                 name: str | None = None, **kwargs) -> Path:
    """One delivery of ``feed_id`` in its documented format (rows default to plausible ones)."""
    if rows is None:
        rows = {"mca_roster": lambda: roster_rows(period), "hrss_employment": lambda: hrss_rows(period),
                "nhsa_claims": lambda: nhsa_rows(period), "cdpf_disability": lambda: cdpf_rows(),
                "mem_disaster": lambda: disaster_rows(period)}.get(feed_id, lambda: feed_rows(feed_id, period))()
    writer_opts = {k: kwargs.pop(k) for k in ("bom", "encoding", "date_cells") if k in kwargs}
    if feed_id == "mca_roster":
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
        data, ext = simple_csv(feed_id, rows, **writer_opts), "csv"
    name = name or f"{feed_id}_{period.replace('-', '')}.{ext}"
    return deliver(landing, feed_id, date, period, {name: data}, **kwargs)


def deliver_references(landing: Path, date: str = "2025-12-20", period: str = "2026-01") -> None:
    deliver_feed(landing, "ref_regions", date, period)
    deliver_feed(landing, "ref_standards", date, period)


ALL_FEEDS = ("ref_regions", "ref_standards", "mca_roster", "hrss_employment", "nhsa_claims", "moe_students",
             "mohurd_housing", "samr_business", "mps_hukou_events", "mps_hukou_members", "mps_vehicles",
             "cdpf_disability", "mem_disaster", "bank_deposits", "grid_visits")


def tiny_province(landing: Path, period: str = "2026-01", date: str = "2026-02-03") -> None:
    """One valid delivery per feed for ``period`` (reference data a little earlier)."""
    deliver_references(landing, "2026-01-02", period)
    for feed_id in ALL_FEEDS[2:]:
        d = f"{period}-28" if feed_id == "grid_visits" else date
        deliver_feed(landing, feed_id, d, period)
