"""Ingest benchmark: one month of deliveries for a province of 1,000,000 roster persons plus
~2,000,000 non-roster residents, timed through the real ``pipelines.ingest.ingest`` (read, type,
GX validate, publish into DuckDB).

    uv run python bench/ingest_bench.py                       # build (cached) + run + docs/benchmarks/ingest.md
    uv run python bench/ingest_bench.py --roster 100000 --residents 200000 --cache /tmp/small_bench

The landing zone is generated directly with numpy/pyarrow (vectorised; no dependency on
pipelines.synth) in every department's documented format — GB18030 + Chinese headers, Parquet in
fen, XLSX, JSON lines, BOM — and cached under ``--cache`` (keyed by the size parameters). The
timed ingest runs in a child process so its peak RSS is measured alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipelines.ids import WEIGHTS, CHECK_CHARS  # noqa: E402

PERIOD = "2026-09"
MONTHLY_DATE = "2026-10-03"
REF_DATE, REF_PERIOD = "2026-01-05", "2026-01"
AS_OF_REF, AS_OF = dt.date(2026, 1, 31), dt.date(2026, 10, 31)
N_VILLAGES = 4000


# --- vectorised string building ------------------------------------------------------------------

def s(arr) -> pa.Array:
    return pc.cast(pa.array(arr) if not isinstance(arr, (pa.Array, pa.ChunkedArray)) else arr, pa.string())


def pad(ints, width: int) -> pa.Array:
    return pc.utf8_lpad(s(np.asarray(ints, dtype=np.int64)), width, "0")


def cat(*parts) -> pa.Array:
    parts = [p if isinstance(p, (pa.Array, pa.ChunkedArray)) else p for p in parts]
    return pc.binary_join_element_wise(*parts, "")


def pick(values: list[str], idx) -> pa.Array:
    return pa.array(values, pa.string()).take(pa.array(np.asarray(idx, dtype=np.int64)))


def money(cents) -> pa.Array:
    cents = np.asarray(cents, dtype=np.int64)
    return cat(s(cents // 100), ".", pad(cents % 100, 2))


def with_check_char(body: pa.Array) -> pa.Array:
    """17-character bodies -> 18-character 身份证号 (vectorised GB 11643 check character)."""
    body = body.cast(pa.string())
    n = len(body)
    data = np.frombuffer(body.buffers()[2], dtype=np.uint8)[: n * 17].reshape(n, 17)
    rem = ((data - ord("0")).astype(np.int64) @ WEIGHTS) % 11
    check = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)[rem]
    out = np.concatenate([data, check[:, None]], axis=1).tobytes()
    offsets = np.arange(0, 18 * (n + 1), 18, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(out)])


def dates(day_offsets, base: dt.date, fmt: str = "%Y-%m-%d") -> pa.Array:
    ts = pa.array((np.datetime64(base) + np.asarray(day_offsets, dtype="timedelta64[D]")).astype("datetime64[s]"))
    return pc.strftime(ts, fmt)


# --- the province ----------------------------------------------------------------------------------

def village_codes() -> tuple[pa.Array, np.ndarray]:
    v = np.arange(N_VILLAGES)
    city, county, town, vil = v // 800 + 1, (v // 200) % 4 + 1, (v // 20) % 10 + 1, v % 20
    urban = vil < 10
    num = np.where(urban, vil + 1, vil - 10 + 201)
    return cat("44", pad(city, 2), pad(county, 2), pad(town, 3), pad(num, 3)), urban


def regions_table() -> pa.Table:
    v = np.arange(N_VILLAGES)
    vcodes, _ = village_codes()
    rows = [("440000000000", "省", "province", "")]
    for c in range(1, 6):
        rows.append((f"44{c:02d}00000000", f"市{c}", "city", "440000000000"))
        for k in range(1, 5):
            rows.append((f"44{c:02d}{k:02d}000000", f"县{c}{k}", "county", f"44{c:02d}00000000"))
            for t in range(1, 11):
                rows.append((f"44{c:02d}{k:02d}{t:03d}000", f"镇{c}{k}{t}", "town", f"44{c:02d}{k:02d}000000"))
    towns = cat(pc.utf8_slice_codeunits(vcodes, 0, 9), "000")
    head = pa.table({"region_code": [r[0] for r in rows], "name": [r[1] for r in rows],
                     "level": [r[2] for r in rows], "parent_code": [r[3] for r in rows]})
    villages = pa.table({"region_code": vcodes, "name": cat("村", s(v)), "level": pick(["village"], np.zeros(len(v))),
                         "parent_code": towns})
    return pa.concat_tables([head, villages])


class Province:
    def __init__(self, roster: int, residents: int, seed: int = 20261):
        self.rng = np.random.default_rng(seed)
        self.R, self.N = roster, roster + residents
        n = self.N
        i = np.arange(n)
        seq, county, day = i % 1000, (i // 1000) % 20, (i // 20000) % 21900  # unique for n < 438M
        self.seq = seq
        city, county_in_city = county // 4 + 1, county % 4 + 1
        self.birth_off = (day * 7919) % 21900  # 1940..2000, spread
        birth = dates(self.birth_off, dt.date(1940, 1, 1), "%Y%m%d")
        self.pid = with_check_char(cat("44", pad(city, 2), pad(county_in_city, 2), birth, pad(seq, 3)))
        vcodes, urban = village_codes()
        # roster families of 1..4 members; non-roster hukou households of ~3
        sizes = self.rng.choice([1, 2, 3, 4], size=roster // 2 + 1, p=[0.25, 0.3, 0.3, 0.15])
        fam = np.repeat(np.arange(len(sizes)), sizes)[:roster]
        self.member = i[:roster] - np.searchsorted(fam, fam)  # index within the family
        self.fam = fam
        hh = np.concatenate([fam, fam.max() + 1 + (i[roster:] - roster) // 3])
        self.village = (hh * 7) % N_VILLAGES
        self.region = vcodes.take(pa.array(self.village))
        self.urban = urban[self.village]
        self.hukou = cat("44", pad(hh, 10))
        # 6-digit sequence within the village code; above 1,000,000 families (3M roster persons) it wraps,
        # shifted by one so the wrapped family lands in another village than the one it shares digits with
        # (village = 7 * hh mod 4000); unchanged below 1M families
        self.family_id = cat("F", self.region.slice(0, roster), pad((fam + fam // 1_000_000) % 1_000_000, 6))

    def sample(self, k: int, roster_only: bool = False) -> np.ndarray:
        hi = self.R if roster_only else self.N
        return np.sort(self.rng.choice(hi, size=k, replace=False))


# --- writers ----------------------------------------------------------------------------------------

def write_csv(path: Path, table: pa.Table, encoding: str = "utf-8", bom: bool = False,
              headers: list[str] | None = None) -> int:
    buf = io.BytesIO()
    if headers:
        table = table.rename_columns(headers)
    pcsv.write_csv(table, buf, write_options=pcsv.WriteOptions(quoting_style="needed"))
    data = buf.getvalue()
    if encoding != "utf-8":
        data = data.decode("utf-8").encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return table.num_rows


def finish(folder: Path, feed_id: str, period: str, files: dict[str, int]) -> None:
    entries = []
    for name, rows in files.items():
        h = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        entries.append({"name": name, "rows": rows, "sha256": h})
    manifest = {"feed_id": feed_id, "period": period, "produced_at": f"{folder.name}T01:00:00+08:00", "files": entries}
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def build(landing: Path, roster: int, residents: int) -> dict[str, int]:
    t0 = time.perf_counter()
    p = Province(roster, residents)
    rng = p.rng
    R, N = p.R, p.N
    counts: dict[str, int] = {}

    def folder(feed_id: str, date: str = MONTHLY_DATE) -> Path:
        f = landing / feed_id / date
        f.mkdir(parents=True, exist_ok=True)
        return f

    # reference data (a setup night, not part of the month)
    f = folder("ref_regions", REF_DATE)
    finish(f, "ref_regions", REF_PERIOD, {"regions.csv": write_csv(f / "regions.csv", regions_table())})
    f = folder("ref_standards", REF_DATE)
    std = pa.table({"city_code": [f"44{c:02d}" for c in range(1, 6) for _ in range(2) for _ in range(2)],
                    "year": [str(y) for _ in range(1, 6) for y in (2025, 2026) for _ in range(2)],
                    "urban_rural": ["urban", "rural"] * 10,
                    "dibao_monthly_yuan": ["1300.00", "1100.00"] * 10, "tekun_monthly_yuan": ["1950.00", "1650.00"] * 10})
    finish(f, "ref_standards", REF_PERIOD, {"standards.csv": write_csv(f / "standards.csv", std)})

    # mca_roster: 1M rows, CSV UTF-8 with BOM
    ri = np.arange(R)
    member = np.minimum(p.member, 6)
    fam_cat = rng.choice(6, size=p.fam.max() + 1, p=[0.55, 0.08, 0.2, 0.07, 0.05, 0.05])[p.fam]
    cats = ["dibao", "tekun", "edge", "expense_hardship", "relapse_watch", "other"]
    benefit = np.where(fam_cat <= 1, 85000 + (p.fam % 50) * 100, 0)
    roster = pa.table({
        "snapshot_month": pick([PERIOD], np.zeros(R)), "family_id": p.family_id, "person_id": p.pid.slice(0, R),
        "name": pick(["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇"], ri % 8),
        "gender": pick(["F", "M"], p.seq[:R] % 2), "birth_date": dates(p.birth_off[:R], dt.date(1940, 1, 1)),
        "relation": pick(["head", "spouse", "child", "child", "parent", "grandchild", "sibling"], member),
        "region_code": p.region.slice(0, R), "urban_rural": pick(["rural", "urban"], p.urban[:R].astype(int)),
        "category": pick(cats, fam_cat), "enrolled_date": dates(p.fam % 900, dt.date(2023, 1, 1)),
        "monthly_benefit_yuan": money(benefit),
        "last_econ_check_date": dates(p.fam % 150, dt.date(2026, 4, 1)),
        "last_home_visit_date": pc.if_else(pa.array(p.fam % 5 == 0), pa.scalar(None, pa.string()),
                                           dates(p.fam % 300, dt.date(2025, 11, 1))),
    })
    f = folder("mca_roster")
    counts["mca_roster"] = write_csv(f / "roster_202609.csv", roster, bom=True)
    finish(f, "mca_roster", PERIOD, {"roster_202609.csv": counts["mca_roster"]})
    del roster

    # hrss_employment: ~70% of residents, GB18030 + Chinese headers
    hi = p.sample(int(N * 0.7))
    status = rng.choice(5, size=len(hi), p=[0.45, 0.2, 0.05, 0.2, 0.1])
    employed = status == 0
    base = np.where(status <= 1, rng.integers(250000, 1500000, len(hi)), 0)
    hrss = pa.table({
        "m": pick(["202609"], np.zeros(len(hi))), "p": p.pid.take(pa.array(hi)),
        "st": pick(["在职", "灵活就业", "失业登记", "退休", "无"], status),
        "ec": pc.if_else(pa.array(employed), cat("91", pad(hi % 10**16, 16)), pa.scalar(None, pa.string())),
        "cb": money(base), "ub": money(np.where(status == 2, 180000, 0)),
        "pe": money(np.where(status == 3, rng.integers(150000, 600000, len(hi)), 0)),
    })
    f = folder("hrss_employment")
    counts["hrss_employment"] = write_csv(f / "就业_202609.csv", hrss, encoding="gb18030",
                                          headers=["统计月份", "身份证号", "就业状态", "单位信用代码", "缴费基数", "失业保险金", "养老金"])
    finish(f, "hrss_employment", PERIOD, {"就业_202609.csv": counts["hrss_employment"]})
    del hrss

    # nhsa_claims: Parquet, fen; ~1% reversals of settlements in the same delivery
    k = int(R * 0.3) + int((N - R) * 0.025)
    who = np.concatenate([rng.choice(R, int(R * 0.3)), rng.integers(R, N, k - int(R * 0.3))])
    total = rng.integers(2000, 2000000, k)
    fund = total * 6 // 10
    crit = np.where(total > 1000000, total // 10, 0)
    aid = np.where(who < R, total // 20, 0)
    oop = total - fund - crit - aid
    nrev = k // 100
    rev_of = rng.choice(k - nrev, nrev, replace=False)
    sid = cat("S202609", pad(np.arange(k), 9))
    sign = np.ones(k, dtype=np.int64)
    sign[k - nrev:] = -1
    src = np.concatenate([np.arange(k - nrev), rev_of])
    claims = pa.table({
        "settle_id": sid, "person_id": p.pid.take(pa.array(who[src])),
        "settle_date": pa.array((np.datetime64("2026-09-01") + rng.integers(0, 30, k).astype("timedelta64[D]"))),
        "visit_type": pick(["outpatient", "inpatient", "chronic_special"], rng.choice(3, k, p=[0.7, 0.2, 0.1])),
        "catastrophic": pa.array(rng.random(k) < 0.02),
        "total_fen": pa.array(total[src] * sign), "fund_fen": pa.array(fund[src] * sign),
        "critical_illness_fen": pa.array(crit[src] * sign), "medical_aid_fen": pa.array(aid[src] * sign),
        "oop_fen": pa.array(oop[src] * sign),
        "reversal_of": pc.if_else(pa.array(sign < 0), sid.take(pa.array(src)), pa.scalar(None, pa.string())),
    })
    claims = claims.set_column(2, "settle_date", claims.column("settle_date").cast(pa.date32()))
    f = folder("nhsa_claims")
    pq.write_table(claims, f / "claims_202609.parquet")
    counts["nhsa_claims"] = claims.num_rows
    finish(f, "nhsa_claims", PERIOD, {"claims_202609.parquet": k})
    del claims

    # moe_students: autumn term 2026-2 (period 2026-09)
    si = p.sample(int(R * 0.15) + int((N - R) * 0.03))
    ns = len(si)
    moe = pa.table({"term": pick(["2026-2"], np.zeros(ns)), "person_id": p.pid.take(pa.array(si)),
                    "stage": pick(["preschool", "primary", "junior", "senior", "vocational", "college", "graduate"],
                                  rng.integers(0, 7, ns)),
                    "tuition_yuan": money(rng.integers(0, 800000, ns)), "boarding_yuan": money(rng.integers(0, 200000, ns)),
                    "aid_yuan": money(rng.integers(0, 100000, ns))})
    f = folder("moe_students")
    counts["moe_students"] = write_csv(f / "students.csv", moe)
    finish(f, "moe_students", PERIOD, {"students.csv": ns})

    # quarterly snapshots for the roster (September = a quarter month)
    f = folder("mohurd_housing")
    housing = pa.table({"as_of": pick(["2026-09-30"], np.zeros(R)), "person_id": p.pid.slice(0, R),
                        "property_count": s(rng.choice(3, R, p=[0.6, 0.38, 0.02])),
                        "property_area_m2": money(rng.integers(2000, 20000, R) * np.minimum(1, ri % 3)),
                        "public_rental": pick(["true", "False", "1", "0"], ri % 4),
                        "dilapidated_level": pick(["", "A", "B", "C", "D"], rng.choice(5, R, p=[0.6, 0.2, 0.1, 0.07, 0.03]))})
    housing = housing.set_column(5, "dilapidated_level", pc.if_else(pc.equal(housing["dilapidated_level"], ""),
                                                                     pa.scalar(None, pa.string()), housing["dilapidated_level"]))
    counts["mohurd_housing"] = write_csv(f / "housing.csv", housing)
    finish(f, "mohurd_housing", PERIOD, {"housing.csv": R})
    del housing
    f = folder("bank_deposits")
    bank = pa.table({"as_of": pick(["2026-09-30"], np.zeros(R)), "person_id": p.pid.slice(0, R),
                     "deposits_yuan": money(rng.integers(0, 5000000, R)), "securities_yuan": money(rng.integers(0, 100000, R))})
    counts["bank_deposits"] = write_csv(f / "deposits.csv", bank)
    finish(f, "bank_deposits", PERIOD, {"deposits.csv": R})
    del bank

    # small monthly event feeds
    def day_in_period(n):
        return rng.integers(0, 30, n)

    n = 2000
    bi = p.sample(n, roster_only=True)
    samr = pa.table({"credit_code": cat("92", pad(np.arange(n), 16)), "person_id": p.pid.take(pa.array(bi)),
                     "role": pick(["legal_rep", "investor"], rng.integers(0, 2, n)),
                     "entity_type": pick(["individual", "company"], rng.integers(0, 2, n)),
                     "registered_capital_yuan": money(rng.integers(0, 50000000, n)),
                     "status": pick(["active", "cancelled", "revoked"], rng.integers(0, 3, n)),
                     "event_date": dates(day_in_period(n), dt.date(2026, 9, 1))})
    f = folder("samr_business")
    counts["samr_business"] = write_csv(f / "business.csv", samr)
    finish(f, "samr_business", PERIOD, {"business.csv": n})

    n = max(1000, N // 100)
    ei = p.sample(n)
    events = pa.table({"event_id": cat("E202609", pad(np.arange(n), 8)), "person_id": p.pid.take(pa.array(ei)),
                       "hukou_no": p.hukou.take(pa.array(ei)),
                       "event_type": pick(["birth", "death", "move_in", "move_out", "marriage", "divorce"], rng.integers(0, 6, n)),
                       "event_date": dates(day_in_period(n), dt.date(2026, 9, 1), "%Y%m%d"),
                       "region_code": p.region.take(pa.array(ei))})
    f = folder("mps_hukou_events")
    counts["mps_hukou_events"] = write_csv(f / "events.csv", events)
    finish(f, "mps_hukou_events", PERIOD, {"events.csv": n})

    members = pa.table({"person_id": p.pid, "hukou_no": p.hukou, "region_code": p.region,
                        "as_of": pick(["20260930"], np.zeros(N))})
    f = folder("mps_hukou_members")
    counts["mps_hukou_members"] = write_csv(f / "members.csv", members)
    finish(f, "mps_hukou_members", PERIOD, {"members.csv": N})
    del members

    n = 5000
    vi = p.sample(n, roster_only=True)
    vehicles = pa.table({"person_id": p.pid.take(pa.array(vi)),
                         "vehicle_class": pick(["car", "truck", "motorcycle", "tricycle", "other"], rng.integers(0, 5, n)),
                         "first_registered": dates(rng.integers(0, 5000, n), dt.date(2010, 1, 1)),
                         "event": pick(["register", "transfer_in", "transfer_out", "scrap"], rng.integers(0, 4, n)),
                         "event_date": dates(day_in_period(n), dt.date(2026, 9, 1))})
    f = folder("mps_vehicles")
    counts["mps_vehicles"] = write_csv(f / "vehicles.csv", vehicles)
    finish(f, "mps_vehicles", PERIOD, {"vehicles.csv": n})

    # cdpf_disability: XLSX (write-only openpyxl), Chinese headers and values, ~6% of residents
    from openpyxl import Workbook

    di = p.sample(int(N * 0.06))
    nd = len(di)
    pids = p.pid.take(pa.array(di)).to_pylist()
    types_ = np.array(["视力", "听力", "言语", "肢体", "智力", "精神", "多重"])[rng.integers(0, 7, nd)]
    grades = np.array(["一级", "二级", "三级", "四级"])[rng.integers(0, 4, nd)]
    issued = dates(rng.integers(0, 6000, nd), dt.date(2008, 1, 1)).to_pylist()
    status = np.array(["有效", "注销"])[(rng.random(nd) < 0.05).astype(int)]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("残疾人证")
    ws.append(["身份证号", "残疾类别", "残疾等级", "发证日期", "状态"])
    for row in zip(pids, types_.tolist(), grades.tolist(), issued, status.tolist()):
        ws.append(row)
    f = folder("cdpf_disability")
    wb.save(f / "disability_202609.xlsx")
    counts["cdpf_disability"] = nd
    finish(f, "cdpf_disability", PERIOD, {"disability_202609.xlsx": nd})

    # mem_disaster: JSON lines
    n = 10000
    mi = p.sample(n)
    pid_l, reg_l = p.pid.take(pa.array(mi)).to_pylist(), p.region.take(pa.array(mi)).to_pylist()
    loss = rng.integers(0, 20000000, n) / 100
    with open(folder("mem_disaster") / "disaster.jsonl", "w", encoding="utf-8") as out:
        for j in range(n):
            out.write(json.dumps({"disaster_id": f"D202609-{j % 7}", "disaster_type": "flood",
                                  "occurred_on": f"2026-09-{1 + j % 28:02d}", "person_id": pid_l[j],
                                  "region_code": reg_l[j], "house_damage": ["collapsed", "severe", "moderate", "none"][j % 4],
                                  "loss_yuan": float(loss[j]), "emergency_aid_yuan": 2000}, ensure_ascii=False) + "\n")
    counts["mem_disaster"] = n
    finish(landing / "mem_disaster" / MONTHLY_DATE, "mem_disaster", PERIOD, {"disaster.jsonl": n})

    # grid_visits: one delivery per day of the month
    per_day = max(100, R // 330)
    total_visits = 0
    fam_ids = p.family_id
    for d in range(1, 31):
        day = f"2026-09-{d:02d}"
        roster_side = rng.random(per_day) < 0.7
        fi = rng.integers(0, R, per_day)
        hi_ = rng.integers(R, N, per_day)
        visits = pa.table({
            "visit_id": cat(f"V{day.replace('-', '')}", pad(np.arange(per_day), 6)),
            "family_id": pc.if_else(pa.array(roster_side), fam_ids.take(pa.array(fi)), pa.scalar(None, pa.string())),
            "hukou_no": pc.if_else(pa.array(~roster_side), p.hukou.take(pa.array(hi_)), pa.scalar(None, pa.string())),
            "visit_date": pick([day], np.zeros(per_day)),
            "visitor_role": pick(["grid_worker", "village_assistant", "social_worker"], rng.integers(0, 3, per_day)),
            "findings": pick(["no_change", "job_loss;illness", "illness", "house_damage", "new_member"],
                             rng.choice(5, per_day, p=[0.8, 0.05, 0.08, 0.04, 0.03])),
            "note": pick(["正常", "家中有人住院, 需跟进", "房屋漏雨"], rng.integers(0, 3, per_day)),
        })
        f = folder("grid_visits", day)
        write_csv(f / "visits.csv", visits)
        finish(f, "grid_visits", PERIOD, {"visits.csv": per_day})
        total_visits += per_day
    counts["grid_visits"] = total_visits
    print(f"built landing zone in {time.perf_counter() - t0:.0f}s: {sum(counts.values()):,} rows", flush=True)
    return counts


# --- the timed run (child process) -------------------------------------------------------------------

def run(cache: Path, threads: int, memory_limit: str) -> dict:
    from pipelines.config import Settings
    from pipelines.ingest import ingest

    import psutil

    run_dir = cache / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    settings = Settings(landing=cache / "landing", warehouse=run_dir / "warehouse.duckdb", work_dir=run_dir / "work",
                        show_progress=False, duckdb_threads=threads, duckdb_memory_limit=memory_limit)
    t = time.perf_counter()
    ingest(settings, as_of=AS_OF_REF)  # setup night: the reference data (region list, standards)
    setup_s = time.perf_counter() - t

    peak = {"rss": 0}
    stop = threading.Event()
    proc = psutil.Process()

    def sample():
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], proc.memory_info().rss)
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t = time.perf_counter()
    summary = ingest(settings, as_of=AS_OF)
    month_s = time.perf_counter() - t
    stop.set()
    sampler.join()
    feeds = {}
    for feed_id, c in summary.feeds.items():
        feeds[feed_id] = {"loaded": c.loaded, "rejected": c.rejected, "rows": c.rows, "deliveries": c.loaded + c.rejected,
                          "prepare_s": round(c.seconds, 2), "gx_s": round(c.gx_seconds, 2),
                          "publish_s": round(c.publish_seconds, 2)}
    rejected = [d for d in summary.deliveries if d.get("status") == "rejected"]
    return {"setup_s": round(setup_s, 1), "month_s": round(month_s, 1), "feeds": feeds, "rejected": rejected,
            "peak_rss_bytes": max(peak["rss"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024),
            "warehouse_bytes": settings.warehouse.stat().st_size, "threads": threads, "memory_limit": memory_limit,
            "data_docs": str(summary.data_docs) if summary.data_docs else None}


# --- report -------------------------------------------------------------------------------------------

def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psutil

    return {"nproc": os.cpu_count(), "ram_gib": round(psutil.virtual_memory().total / 2**30, 1), "cpu": cpu,
            "python": platform.python_version()}


def versions() -> str:
    import duckdb
    import great_expectations as gx
    import pandas

    return f"duckdb {duckdb.__version__}, great-expectations {gx.__version__}, pandas {pandas.__version__}, pyarrow {pa.__version__}"


def write_markdown(path: Path, result: dict, args, counts: dict) -> None:
    m = machine()
    feeds = result["feeds"]
    total_rows = sum(f["rows"] for f in feeds.values())
    prep = sum(f["prepare_s"] for f in feeds.values())
    gx_s = sum(f["gx_s"] for f in feeds.values())
    pub = sum(f["publish_s"] for f in feeds.values())
    rss_gb = result["peak_rss_bytes"] / 1e9
    ok_time, ok_mem = result["month_s"] < 180, rss_gb < 6
    lines = [
        "# Ingest benchmark", "",
        f"Generated by `bench/ingest_bench.py` on {dt.date.today().isoformat()}. "
        f"One month ({PERIOD}) of deliveries for a province of {args.roster:,} roster persons plus "
        f"{args.residents:,} non-roster residents, through the real `pipelines.ingest.ingest` "
        "(manifest + sha256, read, type in DuckDB, check columns, Great Expectations on pandas, staged Parquet, "
        "publish into DuckDB in one transaction per delivery).", "",
        "## Machine", "",
        f"- CPU: {m['cpu']}, nproc = {m['nproc']}", f"- RAM: {m['ram_gib']} GiB", f"- Python {m['python']}; {versions()}",
        f"- DuckDB settings: threads = {result['threads']}, memory_limit = {result['memory_limit']}", "",
        "## Result", "",
        f"| | value | target |", "| --- | --- | --- |",
        f"| whole month (ingest + validate + publish) | **{result['month_s']:.0f} s** | < 180 s {'✅' if ok_time else '❌'} |",
        f"| peak RSS (ingest process) | **{rss_gb:.2f} GB** | < 6 GB {'✅' if ok_mem else '❌'} |",
        f"| rows | {total_rows:,} | |",
        f"| throughput | {total_rows / result['month_s']:,.0f} rows/s | |",
        f"| time in GX (validate) | {gx_s:.0f} s = {100 * gx_s / result['month_s']:.0f}% of the month | |",
        f"| prepare (all feeds) / publish | {prep:.0f} s / {pub:.0f} s | |",
        f"| warehouse file after the month | {result['warehouse_bytes'] / 1e9:.2f} GB | |",
        f"| setup night (reference data) | {result['setup_s']:.1f} s | |", "",
        "Runs (the machine is shared with other work; the table above is the fastest run, peak RSS the worst): "
        + "; ".join(f"{r['month_s']:.0f} s / {r['peak_rss_gb']:.2f} GB (load average {r['load_before']} → "
                    f"{r['load_after']})" for r in result.get("runs", [])) + ".", "",
        "## Per feed", "",
        "| feed | deliveries | rows | prepare s | of which GX s | publish s | rows/s (prepare + publish) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for feed_id, f in sorted(feeds.items(), key=lambda kv: -kv[1]["rows"]):
        t = f["prepare_s"] + f["publish_s"]
        lines.append(f"| {feed_id} | {f['deliveries']} | {f['rows']:,} | {f['prepare_s']:.1f} | {f['gx_s']:.1f} | "
                     f"{f['publish_s']:.1f} | {f['rows'] / t if t else 0:,.0f} |")
    if result["rejected"]:
        lines += ["", "Rejected deliveries (should be none):", ""]
        lines += [f"- {d['delivery_id']}: {d.get('first_error')}" for d in result["rejected"]]
    lines += ["", "## Notes", "",
              "- Validation runs GX 1.24 on pandas (GX's SQL path on DuckDB is broken as shipped; see "
              "great_expectations GitHub #10738, #11579). Checks that are slow in pandas are computed before GX, in DuckDB or "
              "numpy, as boolean columns the suite expects to be true: 身份证号 check character (`pipelines.ids.valid_mask`), "
              "region code known in the ref_regions version in force, reversal target exists, fen arithmetic.",
              "- Date ranges use `expect_column_min/max_to_be_between` (one aggregate), not per-row `between`.",
              "- GX's per-batch fingerprint (`hash_pandas_object` over every cell, ~1.3 s per million rows) is replaced by "
              "a shape fingerprint (`pipelines/validate.py::_patch_gx_fingerprint`, guarded).",
              "- Reproduce: `uv run python bench/ingest_bench.py` (landing zone cached under `--cache`, "
              "default `/tmp/lowincome_bench`; `--rebuild` to regenerate).", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/lowincome_bench"))
    ap.add_argument("--roster", type=int, default=1_000_000)
    ap.add_argument("--residents", type=int, default=2_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="3GB")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="run the month N times; report the fastest")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "ingest.md")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    cache = args.cache / f"r{args.roster}_n{args.residents}"
    if args.child:
        print(json.dumps(run(cache, args.threads, args.memory_limit)), flush=True)
        return 0
    marker = cache / "landing.json"
    if args.rebuild or not marker.exists():
        shutil.rmtree(cache, ignore_errors=True)
        counts = build(cache / "landing", args.roster, args.residents)
        marker.write_text(json.dumps(counts))
    counts = json.loads(marker.read_text())
    print(f"landing zone: {cache / 'landing'} ({sum(counts.values()):,} rows); running ingest ...", flush=True)
    cmd = [sys.executable, __file__, "--child", "--cache", str(args.cache), "--roster", str(args.roster),
           "--residents", str(args.residents), "--threads", str(args.threads), "--memory-limit", args.memory_limit]
    runs = []
    for i in range(args.repeat):
        load_before = os.getloadavg()[0]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout[-5000:], proc.stderr[-5000:], file=sys.stderr)
            return proc.returncode
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r["load_before"], r["load_after"] = round(load_before, 2), round(os.getloadavg()[0], 2)
        print(f"run {i + 1}/{args.repeat}: month {r['month_s']}s, peak RSS {r['peak_rss_bytes'] / 1e9:.2f} GB, "
              f"load average {r['load_before']} -> {r['load_after']}", flush=True)
        runs.append(r)
    # the machine may be shared: report the fastest run (least disturbed), list all, and the worst RSS
    result = min(runs, key=lambda r: r["month_s"])
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    result["peak_rss_bytes"] = max([children] + [r["peak_rss_bytes"] for r in runs])
    result["runs"] = [{"month_s": r["month_s"], "peak_rss_gb": round(r["peak_rss_bytes"] / 1e9, 2),
                       "load_before": r["load_before"], "load_after": r["load_after"]} for r in runs]
    write_markdown(args.out, result, args, counts)
    print(json.dumps({k: v for k, v in result.items() if k not in ("feeds", "rejected")}, indent=1))
    for feed_id, f in result["feeds"].items():
        print(f"  {feed_id:<18} {f['rows']:>10,} rows  prepare {f['prepare_s']:6.1f}s  gx {f['gx_s']:6.1f}s  "
              f"publish {f['publish_s']:5.1f}s")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
