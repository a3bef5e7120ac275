"""Per-feed data files for one delivery: what each department exports for a period, from the
generated province. Each method returns ``[(file name, bytes, rows)]``.

Department quirks live here (docs/feeds.md): Chinese headers and GB18030 for 人社,
integer fen in Parquet for 医保, an Excel workbook for 残联, JSON lines for 应急管理, YYYYMMDD strings
for 公安, booleans written three ways by 住建, a BOM on some 民政 exports, lowercase ``x`` check
characters from some systems. Catalog v2 adds the economic checks (two CSV files, UTF-8 with BOM),
the relapse watch (Chinese headers), the layout v2 columns of 残联 and the field visits, the ``status``
of daily 应急管理 records and the mid-term school delivery.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synth import activity as act
from pipelines.synth.common import Cols, fmt_dates, fmt_int, fmt_money, join_str, label, month_str
from pipelines.synth import checks as chk
from pipelines.synth.common import stream
from pipelines.synth.population import (CATEGORIES, DIBAO, EDGE, EMPLOYED, NOROW, RELATIONS, STATUS_ZH, TEKUN,
                                        Province)
from pipelines.synth.truth import cert_persons, presence, roster_check_dates
from pipelines.synth.writers import csv_bytes, csv_text_bytes, jsonl_bytes, parquet_bytes, xlsx_bytes

HRSS_HEADERS = ["统计月份", "身份证号", "就业状态", "单位信用代码", "缴费基数", "失业保险金", "养老金"]
CDPF_HEADERS = ["身份证号", "残疾类别", "残疾等级", "发证日期", "状态"]
CDPF_V2_EXTRA = ["困难残疾人生活补贴", "重度残疾人护理补贴"]
CDPF_UNANNOUNCED = "备注"        # a column the department added without announcing it (fault)
GRID_COLUMNS = ["visit_id", "family_id", "hukou_no", "visit_date", "visitor_role", "findings", "note"]
GRID_V2_EXTRA = ["person_id", "region_code"]
CHECK_COLUMNS = ["check_id", "check_date", "reason", "family_id", "hukou_no", "applicant_id", "region_code",
                 "urban_rural", "household_size", "income_basis", "monthly_income_yuan", "financial_assets_yuan",
                 "vehicles", "properties", "outcome"]
CHECK_MEMBER_COLUMNS = ["check_id", "person_id"]
WATCH_HEADERS = ["监测户编号", "户主身份证号", "户号", "区划代码", "监测类型", "风险类型", "家庭人口数", "收入年度",
                 "人均纯收入", "人均转移性收入", "识别日期", "风险消除"]
DISASTER_FIELDS = ["disaster_id", "disaster_type", "occurred_on", "person_id", "region_code", "house_damage",
                   "loss_yuan", "emergency_aid_yuan"]
ROSTER_COLUMNS = ["snapshot_month", "family_id", "person_id", "name", "gender", "birth_date", "relation",
                  "region_code", "urban_rural", "category", "enrolled_date", "monthly_benefit_yuan",
                  "last_econ_check_date", "last_home_visit_date"]
BOOL_STYLES = (("true", "false"), ("True", "False"), ("1", "0"))


def strings(values: np.ndarray) -> pa.Array:
    """numpy unicode/object array -> arrow strings."""
    if len(values) == 0:
        return pa.array([], pa.string())
    return pa.array(np.asarray(values, dtype=object), type=pa.string())


def lower_x(ids: pa.Array) -> pa.Array:
    return pc.utf8_lower(ids)


def subsidy_draws(pv: Province) -> tuple[np.ndarray, np.ndarray]:
    """Per person, the draws that decide whether an entitled certificate holder receives the nursing
    and the living subsidy (shared by the writer and the truth of AID_DISABILITY)."""
    sub = stream(pv.seed, "cdpf_subsidy")
    return sub.random(pv.P), sub.random(pv.P)


def cdpf_subsidies(pv: Province, t: int, p: np.ndarray, u_nursing: np.ndarray, u_living: np.ndarray,
                   pairs: Cols) -> tuple[np.ndarray, np.ndarray]:
    """(living, nursing) subsidy flags of certificate holders ``p`` in month t (layout v2); ``pairs``:
    the roster pairs listed in month t.

    The nursing subsidy (重度残疾人护理补贴) goes to holders of a valid 一/二级 certificate, the living
    subsidy (困难残疾人生活补贴) to members of 低保 and 低保边缘 families with a valid certificate; both
    from about three months after the certificate is issued, and most but not all of those entitled
    receive them (特困 persons take the higher 特困 benefit instead)."""
    valid = pv.p_cert_cancel_t[p] > t
    old = (pv.cal.last_day(t) - pv.p_cert_issued[p]).astype("timedelta64[D]").astype(np.int64) >= 90
    nursing = valid & (pv.p_cert_grade[p] <= 2) & old & (u_nursing[p] < 0.88)
    assisted = np.zeros(pv.P, bool)
    assisted[pairs["p"][np.isin(pv.h_cat[pairs["f"]], [DIBAO, EDGE])]] = True
    living = valid & assisted[p] & old & (u_living[p] < 0.85)
    return living, nursing


def housing_levels(pv: Province, t: int) -> np.ndarray:
    """Per person, the house safety rating (0 none, 1..4 = A..D) the housing snapshot of month t shows:
    the baseline, or D from the month a disaster destroyed the house (``pv.overrides["dilap"]``)."""
    dil = pv.p_dilap.copy()
    for h, t_from, level in pv.overrides.get("dilap", []):
        if t >= t_from:
            dil[pv.p_hh == h] = level
    return dil


def cert_issued(pv: Province, t: int) -> np.ndarray:
    """The 发证日期 each person's certificate shows in the snapshot of month t: the issue date, or the
    date of a renewal (换证) from the month it happened (``pv.overrides["cert_renewal"]``)."""
    issued = pv.p_cert_issued
    renewals = [(q, d) for q, t_from, d in pv.overrides.get("cert_renewal", []) if t >= t_from]
    if renewals:
        issued = issued.copy()
        for q, d in renewals:
            issued[q] = d
    return issued


class FeedFiles:
    def __init__(self, pv: Province):
        self.pv = pv
        self.ids = strings(pv.p_id)
        self.region = pv.h_region()
        self.regions_arr = strings(self.region)
        self.hukou_arr = strings(pv.h_hukou)
        self.family_arr = strings(pv.h_family)
        self.std = pv.std_matrix()
        self.tekun = pv.std_matrix("tekun")
        self.names_arr = strings(pv.p_name)
        self.employer_arr = strings(pv.employers)
        self._assign_claim_ids()
        self._presence = {}
        self._pairs = {}
        self.u_nursing, self.u_living = subsidy_draws(pv)

    # -- shared ---------------------------------------------------------------------------------
    def _assign_claim_ids(self) -> None:
        c = self.pv.rec["claims"]
        n = len(c["p"])
        cid = c["cid"].copy()
        missing = cid < 0
        cid[missing] = np.arange(missing.sum())
        order = np.lexsort((cid, c["date"], c["t"]))
        c = c.take(order)
        cid = cid[order]
        c["cid"] = cid
        seq = np.zeros(n, np.int64)
        t = c["t"]
        start = np.r_[0, np.flatnonzero(np.diff(t)) + 1] if n else np.zeros(0, np.int64)
        grp = np.repeat(np.arange(len(start)), np.diff(np.r_[start, n])) if n else np.zeros(0, np.int64)
        seq = np.arange(n) - start[grp] if n else seq
        months = np.array([month_str(self.pv.cal.abs(int(x))).replace("-", "") for x in range(self.pv.T)])
        sid = np.char.add(np.char.add("JS", months[t]), np.char.zfill((seq + 1).astype(str), 7)) if n else \
            np.zeros(0, "U16")
        lookup = dict(zip(cid.tolist(), sid.tolist()))
        c["sid"] = sid
        c["rev_sid"] = np.array([lookup.get(int(r), "") if r >= 0 else "" for r in c["rev"]], dtype=object) \
            if (c["rev"] >= 0).any() else np.full(n, "", dtype=object)
        self.pv.rec["claims"] = c

    def roster_pairs(self, t: int) -> Cols:
        if t not in self._pairs:
            rp = self.pv.rp
            r = rp.take(np.flatnonzero((rp["t0"] <= t) & (rp["t1"] >= t)))
            self._pairs[t] = r.take(np.lexsort((r["p"], r["rel"], r["f"])))
        return self._pairs[t]

    def presence(self, t: int) -> np.ndarray:
        if t not in self._presence:
            self._presence[t] = presence(self.pv, t)
        return self._presence[t]

    def _cert_persons(self, t: int) -> np.ndarray:
        return cert_persons(self.pv, t)

    # -- 民政 roster -------------------------------------------------------------------------------
    def benefits(self, t: int, r: Cols) -> np.ndarray:
        """Per-person monthly benefit in cents for roster rows r of month t."""
        pv = self.pv
        size = np.bincount(r["f"], minlength=pv.F)
        f = r["f"]
        cat = pv.h_cat[f]
        std = self.std[f, t]
        fam = np.where(cat == DIBAO, np.maximum(std * size[f] - pv.h_income[f], 0.15 * std * size[f]), 0)
        fam = np.where(cat == TEKUN, self.tekun[f, t] * size[f], fam)
        return (np.rint(fam / np.maximum(size[f], 1) / 100) * 100).astype(np.int64)

    def mca_roster(self, t: int, bom: bool = False, alter: float = 0.0, rng=None) -> list:
        pv = self.pv
        r = self.roster_pairs(t)
        f, p = r["f"], r["p"]
        n = len(p)
        econ, visit = roster_check_dates(pv, t)
        names = pc.take(self.names_arr, pa.array(p))
        benefit = self.benefits(t, r)
        if alter and rng is not None and n:
            # a first export with typos in names and benefits, corrected by a re-delivery
            k = rng.random(n) < alter
            typo = pc.binary_join_element_wise(pc.utf8_slice_codeunits(names, 0, -1), "某", "")
            names = pc.if_else(pa.array(k), typo, names)
            benefit = np.where(k & (benefit > 0), benefit + 100, benefit)
        urban = pv.h_urban()[f]
        table = pa.table({
            "snapshot_month": pa.array([pv.cal.period(t)] * n, pa.string()),
            "family_id": pc.take(self.family_arr, pa.array(f)),
            "person_id": pc.take(self.ids, pa.array(p)),
            "name": names,
            "gender": label(pv.p_male[p].astype(np.int8), ("F", "M")),
            "birth_date": fmt_dates(pv.p_birth[p]),
            "relation": label(r["rel"], RELATIONS),
            "region_code": pc.take(self.regions_arr, pa.array(f)),
            "urban_rural": label(urban.astype(np.int8), ("rural", "urban")),
            "category": label(pv.h_cat[f], CATEGORIES),
            "enrolled_date": fmt_dates(pv.h_enrolled[f]),
            "monthly_benefit_yuan": fmt_money(benefit),
            "last_econ_check_date": fmt_dates(econ[f]),
            "last_home_visit_date": fmt_dates(visit[f]),
        })
        data, rows = csv_bytes(table, bom=bom)
        return [(f"roster_{pv.cal.period(t).replace('-', '')}.csv", data, rows)]

    # -- 人社 employment ---------------------------------------------------------------------------
    def hrss_employment(self, t: int) -> list:
        pv = self.pv
        p = np.flatnonzero(pv.hr_status[:, t] != NOROW)
        st = pv.hr_status[p, t]
        emp = np.where(st == EMPLOYED, pv.p_employer[p], -1)
        codes = pc.fill_null(pc.take(self.employer_arr, pa.array(np.maximum(emp, 0), mask=emp < 0)), "")
        table = pa.table({
            "m": pa.array([pv.cal.period(t).replace("-", "")] * len(p), pa.string()),
            "id": lower_x(pc.take(self.ids, pa.array(p))),
            "status": label(st, STATUS_ZH),
            "employer": codes,
            "base": fmt_money(pv.hr_base[p, t]),
            "ub": fmt_money(pv.hr_ub[p, t]),
            "pension": fmt_money(pv.hr_pension[p, t]),
        })
        data, rows = csv_bytes(table, header=HRSS_HEADERS, encoding="gb18030")
        return [(f"employment_{pv.cal.period(t).replace('-', '')}.csv", data, rows)]

    # -- 医保 claims -------------------------------------------------------------------------------
    def nhsa_claims(self, t: int, truncate: bool = False) -> list:
        pv = self.pv
        c = pv.rec["claims"]
        idx = np.flatnonzero(c["t"] == t)
        c = c.take(idx)
        rev = c["rev_sid"]
        table = pa.table({
            "settle_id": strings(c["sid"]),
            "person_id": pc.take(self.ids, pa.array(c["p"])),
            "settle_date": pa.array(c["date"], pa.date32()),
            "visit_type": label(c["vtype"], act.VISIT_TYPES),
            "catastrophic": pa.array(c["cata"], pa.bool_()),
            "total_fen": pa.array(c["total"], pa.int64()),
            "fund_fen": pa.array(c["fund"], pa.int64()),
            "critical_illness_fen": pa.array(c["crit"], pa.int64()),
            "medical_aid_fen": pa.array(c["aid"], pa.int64()),
            "oop_fen": pa.array(c["oop"], pa.int64()),
            "reversal_of": pa.array([x if x else None for x in rev.tolist()], pa.string()),
        })
        data, rows = parquet_bytes(table)
        if truncate:
            data = data[: len(data) // 2]
        return [(f"claims_{pv.cal.period(t).replace('-', '')}.parquet", data, rows)]

    # -- 教育 students (per term) ------------------------------------------------------------------
    def moe_students(self, m: int, midterm: bool = False) -> list:
        """Start-of-term delivery, or (``midterm``) the mid-term one with the aid granted since."""
        pv = self.pv
        s = pv.rec["students"]
        s = s.take(np.flatnonzero(s["m"] == m))
        if midterm:
            s["aid"] = s["aid_mid"]
        order = np.argsort(s["p"], kind="stable")
        s = s.take(order)
        term = f"{m // 12}-{1 if m % 12 + 1 <= 7 else 2}"
        table = pa.table({
            "term": pa.array([term] * len(s["p"]), pa.string()),
            "person_id": pc.take(self.ids, pa.array(s["p"])),
            "stage": label(s["stage"], act.STAGES),
            "tuition_yuan": fmt_money(s["tuition"]),
            "boarding_yuan": fmt_money(s["boarding"]),
            "aid_yuan": fmt_money(s["aid"]),
        })
        data, rows = csv_bytes(table)
        return [(f"students_{term}.csv", data, rows)]

    # -- quarterly snapshots: roster persons -------------------------------------------------------
    def _snapshot_persons(self, m: int) -> np.ndarray:
        t = max(self.pv.cal.t_of(m), 0)
        r = self.roster_pairs(t)
        return np.unique(r["p"])

    def mohurd_housing(self, m: int, style: int) -> list:
        pv = self.pv
        t = pv.cal.t_of(m)
        p = self._snapshot_persons(m)
        prop = pv.p_prop.copy()
        area = pv.p_area_dm2.copy()
        for q, t_from, dc, da in pv.overrides.get("prop", []):
            if t >= t_from:
                prop[q] += dc
                area[q] += da
        dil = housing_levels(pv, t)
        yes, no = BOOL_STYLES[style % 3]
        as_of = (np.datetime64(f"{m // 12:04d}-{m % 12 + 1:02d}", "M") + 1).astype("datetime64[D]") - 1
        table = pa.table({
            "as_of": pa.array([str(as_of)] * len(p), pa.string()),
            "person_id": pc.take(self.ids, pa.array(p)),
            "property_count": fmt_int(prop[p]),
            "property_area_m2": fmt_money(area[p]),
            "public_rental": strings(np.where(pv.p_rental[p], yes, no)),
            "dilapidated_level": strings(np.array(["", "A", "B", "C", "D"])[dil[p]]),
        })
        data, rows = csv_bytes(table)
        return [(f"housing_{str(as_of).replace('-', '')}.csv", data, rows)]

    def bank_deposits(self, m: int) -> list:
        pv = self.pv
        t = pv.cal.t_of(m)
        p = self._snapshot_persons(m)
        dep = pv.p_dep.copy()
        for q, t_from, amount in pv.overrides.get("dep", []):
            if t >= t_from:
                dep[q] = amount
        as_of = (np.datetime64(f"{m // 12:04d}-{m % 12 + 1:02d}", "M") + 1).astype("datetime64[D]") - 1
        table = pa.table({
            "as_of": pa.array([str(as_of)] * len(p), pa.string()),
            "person_id": pc.take(self.ids, pa.array(p)),
            "deposits_yuan": fmt_money(dep[p]),
            "securities_yuan": fmt_money(pv.p_sec[p]),
        })
        data, rows = csv_bytes(table)
        return [(f"deposits_{str(as_of).replace('-', '')}.csv", data, rows)]

    # -- 市场监管 business -------------------------------------------------------------------------
    def samr_business(self, t: int) -> list:
        pv = self.pv
        b = pv.rec["business"]
        b = b.take(np.flatnonzero(b["t"] == t))
        order = np.lexsort((b["credit"], b["date"]))
        b = b.take(order)
        table = pa.table({
            "credit_code": strings(b["credit"]),
            "person_id": pc.take(self.ids, pa.array(b["p"])),
            "role": label(b["role"], ("legal_rep", "investor")),
            "entity_type": label(b["etype"], ("individual", "company")),
            "registered_capital_yuan": fmt_money(b["capital"]),
            "status": label(b["status"], ("active", "cancelled", "revoked")),
            "event_date": fmt_dates(b["date"]),
        })
        data, rows = csv_bytes(table)
        return [(f"business_{pv.cal.period(t).replace('-', '')}.csv", data, rows)]

    # -- 公安 hukou events / members, vehicles ------------------------------------------------------
    def mps_hukou_events(self, t: int) -> list:
        pv = self.pv
        e = pv.rec["hukou_events"]
        e = e.take(np.flatnonzero(e["t"] == t))
        e = e.take(np.lexsort((e["p"], e["date"])))
        n = len(e["p"])
        ym = pv.cal.period(t).replace("-", "")
        table = pa.table({
            "event_id": join_str(f"HJ{ym}", fmt_int(np.arange(1, n + 1), 6)) if n else pa.array([], pa.string()),
            "person_id": pc.take(self.ids, pa.array(e["p"])),
            "hukou_no": pc.take(self.hukou_arr, pa.array(e["h"])),
            "event_type": label(e["etype"], act.HUKOU_EVENTS),
            "event_date": fmt_dates(e["date"], "%Y%m%d"),
            "region_code": pc.take(self.regions_arr, pa.array(e["h"])),
        })
        data, rows = csv_bytes(table)
        return [(f"hukou_events_{ym}.csv", data, rows)]

    def members(self, t: int) -> np.ndarray:
        pv = self.pv
        present = self.presence(t)
        return np.flatnonzero(pv.alive_listed(t) & present[pv.p_hh])

    def mps_hukou_members(self, t: int) -> list:
        """One file per city (the extract is produced by each city's public security bureau)."""
        pv = self.pv
        p = self.members(t)
        h = pv.p_hh[p]
        order = np.lexsort((p, h))
        p, h = p[order], h[order]
        city = pv.h_city()[h]
        last = str(pv.cal.last_day(t)).replace("-", "")
        ym = pv.cal.period(t).replace("-", "")
        out = []
        for c, code in enumerate(pv.regions.city_codes):
            sel = np.flatnonzero(city == c)
            table = pa.table({
                "person_id": pc.take(self.ids, pa.array(p[sel])),
                "hukou_no": pc.take(self.hukou_arr, pa.array(h[sel])),
                "region_code": pc.take(self.regions_arr, pa.array(h[sel])),
                "as_of": pa.array([last] * len(sel), pa.string()),
            })
            data, rows = csv_bytes(table)
            out.append((f"hukou_members_{ym}_{code}.csv", data, rows))
        return out

    def mps_vehicles(self, t: int, lower: bool = False) -> list:
        pv = self.pv
        v = pv.rec["vehicles"]
        v = v.take(np.flatnonzero(v["t"] == t))
        v = v.take(np.lexsort((v["p"], v["date"])))
        ids = pc.take(self.ids, pa.array(v["p"]))
        table = pa.table({
            "person_id": lower_x(ids) if lower else ids,
            "vehicle_class": label(v["vclass"], act.VEHICLE_CLASSES),
            "first_registered": fmt_dates(v["first"]),
            "event": label(v["event"], act.VEHICLE_EVENTS),
            "event_date": fmt_dates(v["date"]),
        })
        data, rows = csv_bytes(table)
        return [(f"vehicles_{pv.cal.period(t).replace('-', '')}.csv", data, rows)]

    # -- 残联 certificates (xlsx) -----------------------------------------------------------------
    def cdpf_subsidies(self, t: int, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(living, nursing) subsidy flags of certificate holders ``p`` in month t (layout v2)."""
        return cdpf_subsidies(self.pv, t, p, self.u_nursing, self.u_living, self.roster_pairs(t))

    def cdpf_disability(self, t: int, lower: bool = False, layout: int = 1, unannounced: bool = False) -> list:
        pv = self.pv
        p = self._cert_persons(t)
        p = p[np.argsort(pv.p_id[p], kind="stable")]
        status = np.where(pv.p_cert_cancel_t[p] <= t, "注销", "有效")
        ids = pc.take(self.ids, pa.array(p))
        header = list(CDPF_HEADERS)
        cols = [lower_x(ids) if lower else ids,
                label(pv.p_cert_type[p], act.DISABILITY_TYPES_ZH),
                label(pv.p_cert_grade[p], act.GRADES_ZH),
                fmt_dates(cert_issued(pv, t)[p]),
                strings(status)]
        if layout == 2:
            living, nursing = self.cdpf_subsidies(t, p)
            header += CDPF_V2_EXTRA
            cols += [strings(np.where(living, "是", "否")), strings(np.where(nursing, "是", "否"))]
        if unannounced:
            header.append(CDPF_UNANNOUNCED)
            cols.append(strings(np.where(np.arange(len(p)) % 37 == 5, "待复核", "")))
        created = f"{pv.cal.last_day(t)}T18:00:00Z"
        data, rows = xlsx_bytes(header, cols, sheet="持证残疾人", created=created, creator="残联信息系统")
        return [(f"disability_{pv.cal.period(t).replace('-', '')}.xlsx", data, rows)]

    # -- 应急管理 disasters (jsonl) ----------------------------------------------------------------
    def disaster_record(self, i: int, d: Cols | None = None, status: str | None = None, **changes) -> dict:
        """One JSON object of ``mem_disaster`` for row i of the disasters (``status`` from catalog v2)."""
        pv = self.pv
        d = pv.rec["disasters"] if d is None else d
        h = pv.p_hh[d["p"][i]]
        loss, aid = int(changes.get("loss", d["loss"][i])), int(d["aid"][i])
        rec = {
            "disaster_id": str(d["did"][i]),
            "disaster_type": act.DISASTER_TYPES[d["dtype"][i]],
            "occurred_on": str(d["date"][i]),
            "person_id": str(pv.p_id[d["p"][i]]),
            "region_code": str(self.region[h]),
            "house_damage": act.DAMAGE[d["damage"][i]],
            "loss_yuan": loss // 100 if loss % 100 == 0 else loss / 100,
            "emergency_aid_yuan": aid // 100 if aid % 100 == 0 else aid / 100,
        }
        if status is not None:
            rec["status"] = status
        return rec

    def mem_disaster(self, t: int) -> list:
        """The monthly delivery (catalog v1, and v2 before the daily deliveries start): the month's
        records as they finally stand (withdrawn records left out), without ``status``."""
        pv = self.pv
        d = pv.rec["disasters"]
        idx = np.flatnonzero(d["t"] == t)
        idx = idx[np.lexsort((d["p"][idx], d["did"][idx]))]
        data, rows = jsonl_bytes([self.disaster_record(int(i)) for i in idx])
        return [(f"disaster_{pv.cal.period(t).replace('-', '')}.jsonl", data, rows)]

    def mem_disaster_day(self, day: np.datetime64, records: list[dict]) -> list:
        """A daily delivery (catalog v2): the records new or changed on ``day`` (may be none)."""
        data, rows = jsonl_bytes(records)
        return [(f"disaster_{str(day).replace('-', '')}.jsonl", data, rows)]

    # -- 走访 visits ------------------------------------------------------------------------------
    def grid_visits(self, idx: np.ndarray, day: np.datetime64, layout: int = 1) -> list:
        pv = self.pv
        v = pv.rec["visits"]
        v = v.take(idx)
        order = np.lexsort((v["h"], v["date"]))
        v = v.take(order)
        rows = []
        ymd = str(day).replace("-", "")
        for i in range(len(v["h"])):
            h = int(v["h"][i])
            roster = h < pv.F
            row = [f"V{str(v['date'][i]).replace('-', '')}{i + 1:04d}{ymd[-2:]}",
                   str(pv.h_family[h]) if roster else "", "" if roster else str(pv.h_hukou[h]),
                   str(v["date"][i]), act.ROLES[v["role"][i]], str(v["findings"][i]), str(v["note"][i])]
            if layout == 2:
                p = int(v["p"][i])
                row += [str(pv.p_id[p]) if p >= 0 else "", str(self.region[h])]
            rows.append(row)
        header = GRID_COLUMNS + (GRID_V2_EXTRA if layout == 2 else [])
        data, n = csv_text_bytes(rows, header)
        return [(f"visits_{ymd}.csv", data, n)]

    # -- 民政 economic checks (catalog v2) -----------------------------------------------------------
    def mca_econ_checks(self, t: int) -> list:
        pv = self.pv
        c = pv.rec["checks"]
        sel = np.flatnonzero(c["t"] == t)
        ym = pv.cal.period(t).replace("-", "")
        cid = np.array([f"HD{ym}{i + 1:06d}" for i in range(len(sel))], dtype=object)
        data, rows = csv_bytes(self.checks_table(c, sel, cid), bom=True)
        mdata, mrows = csv_bytes(self.check_members_table(pv.rec["check_members"], sel, cid, len(c["t"])), bom=True)
        return [(f"checks_{ym}.csv", data, rows), (f"check_members_{ym}.csv", mdata, mrows)]

    def checks_table(self, c: Cols, sel: np.ndarray, cid: np.ndarray) -> pa.Table:
        """The rows ``sel`` of checks ``c`` as the feed's ``checks_<YYYYMM>.csv``, check ids ``cid``."""
        pv = self.pv
        h = c["h"][sel]
        roster = h < pv.F
        table = pa.table({
            "check_id": strings(cid),
            "check_date": fmt_dates(c["date"][sel]),
            "reason": label(c["reason"][sel], chk.REASONS),
            "family_id": strings(np.where(roster, pv.h_family[h], "")),
            "hukou_no": pc.take(self.hukou_arr, pa.array(h)),
            "applicant_id": pc.take(self.ids, pa.array(c["applicant"][sel])),
            "region_code": pc.take(self.regions_arr, pa.array(h)),
            "urban_rural": label(pv.h_urban()[h].astype(np.int8), ("rural", "urban")),
            "household_size": fmt_int(c["size"][sel]),
            "income_basis": label(c["basis"][sel], chk.BASES),
            "monthly_income_yuan": fmt_money(c["income"][sel]),
            "financial_assets_yuan": fmt_money(c["assets"][sel]),
            "vehicles": fmt_int(c["cars"][sel]),
            "properties": fmt_int(c["props"][sel]),
            "outcome": label(c["outcome"][sel], chk.OUTCOMES),
        })
        return table

    def check_members_table(self, m: Cols, sel: np.ndarray, cid: np.ndarray, n: int) -> pa.Table:
        """The members ``m`` of the rows ``sel`` (of ``n`` checks) as ``check_members_<YYYYMM>.csv``."""
        pos = np.full(n, -1, np.int64)
        pos[sel] = np.arange(len(sel))
        msel = np.flatnonzero(pos[m["ci"]] >= 0)
        return pa.table({
            "check_id": strings(cid[pos[m["ci"][msel]]]) if len(msel) else pa.array([], pa.string()),
            "person_id": pc.take(self.ids, pa.array(m["p"][msel])),
        })

    def write_check_book(self, book: tuple[Cols, Cols] | None, path) -> int:
        """The check centre's book (:func:`pipelines.synth.checks.build_check_book`) as parquet: per
        household and month, the feed's columns of the check (``check_id`` empty, ``check_date`` the
        month's last day) with ``household_id``, ``period`` and ``members`` (the person ids counted, in
        ``check_members`` order). Nothing is written without a book; returns the rows written."""
        import pyarrow.parquet as pq

        if book is None:
            return 0
        c, m = book
        pv = self.pv
        n = len(c["h"])
        table = self.checks_table(c, np.arange(n), np.full(n, "", dtype=object))
        hid = pa.array(pv.household_ids().tolist(), pa.string())
        periods = pa.array([pv.cal.period(x) for x in range(pv.T)], pa.string())
        # members: check_rows lists them row after row (``ci`` ascending), ``size`` of them per row
        offsets = np.concatenate([[0], np.cumsum(c["size"])]).astype(np.int32)
        table = table.append_column("household_id", pc.take(hid, pa.array(c["h"])))
        table = table.append_column("period", pc.take(periods, pa.array(c["t"])))
        table = table.append_column("members", pa.ListArray.from_arrays(
            pa.array(offsets), pc.take(self.ids, pa.array(m["p"]))))
        pq.write_table(table, path, compression="zstd")
        return n

    # -- 农业农村 relapse watch (catalog v2) ----------------------------------------------------------
    def moa_relapse_watch(self, t: int, hm_size: np.ndarray) -> list:
        pv = self.pv
        w = pv.rec["watch"]
        sel = np.flatnonzero(w["t_from"] <= t)
        h = w["h"][sel]
        year = pv.cal.year(t) - 1
        net, transfer = pv.rec["watch_survey"][year]
        head = self._heads(h, t)
        table = pa.table({
            "wid": strings(w["wid"][sel]),
            "head": pc.take(self.ids, pa.array(head)),
            "hukou": pc.take(self.hukou_arr, pa.array(h)),
            "region": pc.take(self.regions_arr, pa.array(h)),
            "type": label(w["mtype"][sel], chk.WATCH_TYPES),
            "risks": strings(w["risks"][sel]),
            "size": fmt_int(np.maximum(hm_size[h, t], 1)),
            "year": fmt_int(np.full(len(sel), year)),
            "net": fmt_int(net[sel]),
            "transfer": fmt_int(transfer[sel]),
            "ident": fmt_dates(w["ident"][sel]),
            "eliminated": strings(np.where(w["eliminated"][sel], "是", "否")),
        })
        data, rows = csv_bytes(table, header=WATCH_HEADERS)
        return [(f"relapse_watch_{pv.cal.period(t).replace('-', '')}.csv", data, rows)]

    def _heads(self, h: np.ndarray, t: int) -> np.ndarray:
        """Households' heads in month t: the roster head of a family, else the hukou head."""
        pv = self.pv
        r = self.roster_pairs(t)
        head_of = np.full(pv.F + 1, -1, np.int64)
        sel = r["rel"] == 0
        head_of[r["f"][sel]] = r["p"][sel]
        out = np.where(h < pv.F, head_of[np.minimum(h, pv.F)], -1)
        return np.where(out >= 0, out, pv.h_head[h])

    # -- reference data -------------------------------------------------------------------------
    def ref_regions(self) -> list:
        r = self.pv.regions
        rows = [[c, n, lv, p or ""] for c, n, lv, p in zip(r.codes, r.names, r.levels, r.parents)]
        data, n = csv_text_bytes(rows, ["region_code", "name", "level", "parent_code"])
        return [("regions.csv", data, n)]

    def ref_standards(self) -> list:
        rows = [[c, str(y), ur, f"{d / 100:.2f}", f"{k / 100:.2f}"]
                for c, y, ur, d, k in self.pv.regions.standards_rows()]
        data, n = csv_text_bytes(rows, ["city_code", "year", "urban_rural", "dibao_monthly_yuan", "tekun_monthly_yuan"])
        return [("standards.csv", data, n)]
