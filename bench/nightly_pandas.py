"""The baseline a user would write instead: INC_DROP, EXP_MED and ELIG_DIBAO for one data month in
straightforward pandas, from the same staged data (``staging.*`` of the warehouse, read into pandas
DataFrames), following docs/architecture.md's interpretation (household composition per month, income
per month, OOP by settlement month net of reversals, standards by city/year/urban-rural).

Used by ``bench/nightly.py`` (stage ``pandas``); the thresholds come from the same rules
(``models/indicators.toml``) as the SQL models. ``run()`` returns timings and the households found,
compared with ``mart.warnings`` of the same month.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd


def _shift(period: str, k: int) -> str:
    y, m = int(period[:4]), int(period[5:7])
    idx = y * 12 + (m - 1) + k
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def read_common(con) -> dict:
    """Small tables read once: all claims, the standards, the completeness of every feed-month."""
    q = lambda sql, params=None: con.execute(sql, params or []).df()  # noqa: E731
    return {
        "claims": q("""select period, settle_id, person_id, settle_date, oop_yuan, _row from staging.nhsa_claims"""),
        "standards": q("select period, city_code, year, urban_rural, dibao_monthly_yuan, delivery_id, _row from staging.ref_standards"),
        "completeness": q("select feed_id, period, status from ops.completeness"),
    } | {}


def read_month(con, k: str) -> dict:
    """One data month of the staged person-level feeds (read per month to keep memory bounded)."""
    q = lambda sql: con.execute(sql, [k]).df()  # noqa: E731
    return {
        "roster": q("""select period, family_id, person_id, relation, region_code, urban_rural, category, birth_date, _row
                       from staging.mca_roster where period = ?"""),
        "members": q("""select period, person_id, hukou_no, region_code, as_of, _row
                        from staging.mps_hukou_members where period = ?"""),
        "hrss": q("""select period, person_id, employment_status, contribution_base_yuan, unemployment_benefit_yuan,
                            pension_yuan from staging.hrss_employment where period = ?"""),
    }


def person_month(d: dict, k: str) -> pd.DataFrame:
    """person_id -> household_id (+ head attributes) for data month k."""
    r = d["roster"]
    r = r[(r.period == k) & r.person_id.notna() & r.family_id.notna()].sort_values("_row")
    r = r.drop_duplicates(["family_id", "person_id"])
    m = d["members"]
    m = m[(m.period == k) & m.person_id.notna() & m.hukou_no.notna()]
    m = m.sort_values(["as_of", "_row"], ascending=False, na_position="last").drop_duplicates("person_id")
    rp = r.merge(m[["person_id", "hukou_no"]], on="person_id", how="left")
    rp = rp.assign(household_id=rp.family_id, on_roster=True)
    fh = rp[rp.hukou_no.notna()].assign(is_head=lambda x: x.relation == "head")
    fh = fh.sort_values(["is_head", "family_id"], ascending=[False, True]).drop_duplicates("hukou_no")
    # anti-joins as merges (pandas 3's isin on Arrow strings loops in Python over the values)
    others = m.merge(r[["person_id"]].drop_duplicates().assign(_r=True), on="person_id", how="left")
    others = others[others._r.isna()].drop(columns="_r")
    attached = others[["person_id", "hukou_no"]].merge(fh[["hukou_no", "family_id", "region_code", "urban_rural"]], on="hukou_no")
    attached = attached.assign(household_id=attached.family_id, on_roster=False, category=None, relation=None)
    nr = others.merge(fh[["hukou_no"]].assign(_f=True), on="hukou_no", how="left")
    nr = nr[nr._f.isna()].drop(columns="_f")
    village = pd.to_numeric(nr.region_code.str[-3:], errors="coerce")
    nr = nr.assign(household_id="H" + nr.hukou_no, family_id=None, on_roster=False, category=None, relation=None,
                   urban_rural=np.where(village.between(1, 199), "urban", "rural"))
    cols = ["person_id", "household_id", "family_id", "hukou_no", "on_roster", "category", "region_code",
            "urban_rural", "relation", "birth_date"]
    for df in (attached, nr):
        df["birth_date"] = pd.to_datetime(df.person_id.str[6:14], format="%Y%m%d", errors="coerce")
    rp["birth_date"] = pd.to_datetime(rp["birth_date"])
    return pd.concat([rp[cols], attached[cols], nr[cols]], ignore_index=True)


def standards_for(d: dict, k: str) -> pd.DataFrame:
    s = d["standards"]
    s = s[(s.period <= k) & (s.year <= int(k[:4])) & s.city_code.notna() & s.urban_rural.notna()]
    s = s.sort_values(["period", "year", "delivery_id", "_row"], ascending=False)
    s = s.drop_duplicates(["city_code", "urban_rural"])
    return s[["city_code", "urban_rural", "dibao_monthly_yuan"]].rename(columns={"dibao_monthly_yuan": "std"})


def household_month(d: dict, k: str, persons: pd.DataFrame, loaded: set) -> pd.DataFrame:
    """household_id -> size, income, income_known, category, std for month k."""
    p = persons.assign(is_head=persons.relation == "head")
    heads = p.sort_values(["on_roster", "is_head", "birth_date", "person_id"],
                          ascending=[False, False, True, True], na_position="last").drop_duplicates("household_id")
    size = p.groupby("household_id").person_id.nunique().rename("size")
    h = d["hrss"]
    h = h[(h.period == k) & h.person_id.notna()]
    wage = np.where(h.employment_status.isin(["employed", "flexible"]), h.contribution_base_yuan.fillna(0), 0)
    inc = (pd.Series(wage, index=h.index).astype(float) + h.unemployment_benefit_yuan.fillna(0).astype(float)
           + h.pension_yuan.fillna(0).astype(float))
    per_person = inc.groupby(h.person_id).sum().rename("income")
    hh_income = p[["person_id", "household_id"]].merge(per_person, left_on="person_id", right_index=True) \
        .groupby("household_id").income.sum()
    out = heads[["household_id", "category", "region_code", "urban_rural"]].set_index("household_id").join(size)
    known = ("hrss_employment", k) in loaded
    out["income_known"] = known
    out["income"] = hh_income.reindex(out.index).fillna(0.0) if known else np.nan
    out["city_code"] = out.region_code.str[:4]
    out = out.reset_index().merge(standards_for(d, k), on=["city_code", "urban_rural"], how="left")
    out["std"] = out["std"].astype(float)
    out["period"] = k
    return out


def household_oop(d: dict, k: str, persons: pd.DataFrame) -> pd.Series:
    c = d["claims"]
    start = pd.Timestamp(k + "-01")
    end = start + pd.offsets.MonthEnd(0)
    sd = c.settle_date
    mc = c[(sd >= start) & (sd <= end)].sort_values(["period", "_row"], ascending=False).drop_duplicates("settle_id")
    mc = mc.merge(persons[["person_id", "household_id"]], on="person_id")
    return mc.assign(oop=mc.oop_yuan.fillna(0).astype(float)).groupby("household_id").oop.sum()


def indicators(con, period: str, rules, timings: dict, history: int = 12) -> dict[str, set]:
    t = time.perf_counter()
    d = read_common(con)
    d["claims"]["settle_date"] = pd.to_datetime(d["claims"]["settle_date"])
    timings["read_s"] += time.perf_counter() - t
    loaded = {(f, p) for f, p, s in d["completeness"].itertuples(index=False) if s == "loaded"}
    months = [_shift(period, -k) for k in range(history, -1, -1)]
    hm, oop = {}, {}
    for k in months:
        t = time.perf_counter()
        d.update(read_month(con, k))
        timings["rows"] += sum(len(d[x]) for x in ("roster", "members", "hrss"))
        timings["read_s"] += time.perf_counter() - t
        persons = person_month(d, k)
        hm[k] = household_month(d, k, persons, loaded)
        oop[k] = household_oop(d, k, persons)
        for x in ("roster", "members", "hrss"):
            del d[x]
        del persons
    cur = hm[period].set_index("household_id")
    found = {}

    # INC_DROP
    p = rules.indicators["INC_DROP"].params
    base_months = [_shift(period, -i) for i in range(p["baseline_months"], 0, -1)]
    hist = pd.concat([hm[k][["household_id", "income"]] for k in base_months if k in hm and hm[k].income_known.all()])
    base = hist.groupby("household_id").income.agg(["median", "count"])
    c = cur[cur.income_known & (cur["size"] > 0) & cur["std"].notna()].join(base, how="inner")
    fired = c[(c["count"] >= p["min_baseline_months"]) & (c["median"] > 0)
              & (c.income <= p["drop_ratio"] * c["median"])
              & ((c["median"] - c.income) / c["size"] >= p["min_drop_std_share"] * c["std"])]
    found["INC_DROP"] = set(fired.index)

    # ELIG_DIBAO
    p = rules.indicators["ELIG_DIBAO"].params
    win = [_shift(period, -i) for i in range(p["months"] - 1, -1, -1)]
    rec = pd.concat([hm[k] for k in win])
    rec = rec[rec.income_known & (rec["size"] > 0)]
    rec = rec.assign(pc=rec.income / rec["size"]).groupby("household_id").pc.agg(["mean", "count"])
    c = cur[cur.income_known & (cur["size"] > 0) & cur["std"].notna()
            & ~cur.category.isin(p["excluded_categories"])].join(rec, how="inner")
    found["ELIG_DIBAO"] = set(c[(c["count"] == p["months"]) & (c["mean"] < c["std"])].index)

    # EXP_MED
    p = rules.indicators["EXP_MED"].params
    cur_ok = cur[cur["size"] > 0]
    win = [_shift(period, -i) for i in range(p["window_months"] - 1, -1, -1)]
    oop_win = pd.concat([oop[k] for k in win]).groupby(level=0).sum()
    a = cur_ok[cur_ok["std"].notna()].join(oop_win.rename("oop_w"), how="inner")
    a = a[a.oop_w >= a["size"] * p["min_std_multiple_per_member"] * a["std"]]
    inc = pd.concat([hm[k][["household_id", "income", "income_known"]] for k in win])
    inc = inc[inc.household_id.isin(a.index)]
    inc_g = inc.groupby("household_id").agg(n=("income_known", "sum"), income_w=("income", "sum"))
    a = a.join(inc_g, how="inner")
    rule_a = set(a[(a.n == p["window_months"]) & (a.oop_w >= p["income_share"] * a.income_w)].index)
    hist_months = [_shift(period, -i) for i in range(p["spike_history_months"], 0, -1)
                   if ("nhsa_claims", _shift(period, -i)) in loaded]
    m_oop = oop[period]
    b = m_oop[m_oop >= p["spike_floor_yuan"]]
    hist = pd.DataFrame({k: oop[k].reindex(b.index).fillna(0.0) for k in hist_months}, index=b.index)
    med = hist.median(axis=1) if len(hist_months) else pd.Series(np.nan, index=b.index)
    rule_b = set(b.index[(len(hist_months) >= p["min_history_months"]) & (b >= p["spike_multiple"] * med)])
    found["EXP_MED"] = (rule_a | rule_b) & set(cur_ok.index)
    return found


def run(settings, period: str) -> dict:
    """Time the pandas baseline for ``period`` and compare with mart.warnings."""
    from pipelines import rules as rules_mod
    from pipelines.warehouse import connect

    ruleset = rules_mod.load_rules(settings.indicator_config)
    con = connect(settings, read_only=True)
    try:
        timings = {"read_s": 0.0, "rows": 0}
        t = time.perf_counter()
        found = indicators(con, period, ruleset, timings)
        total = time.perf_counter() - t
        read_s, compute_s, rows_in = timings["read_s"], total - timings["read_s"], timings["rows"]
        ours = {}
        for code in found:
            ours[code] = {r[0] for r in con.execute(
                "select distinct household_id from mart.warnings where indicator_code = ? and period = ?",
                [code, period]).fetchall()}
    finally:
        con.close()
    check = {code: {"pandas": len(found[code]), "ours": len(ours[code]), "same": found[code] == ours[code],
                    "only_pandas": sorted(found[code] - ours[code])[:5], "only_ours": sorted(ours[code] - found[code])[:5]}
             for code in found}
    return {"rows": rows_in, "read_s": round(read_s, 2), "compute_s": round(compute_s, 2), "check": check,
            "note": "same households: " + ", ".join(f"{c} {'yes' if v['same'] else 'NO'} ({v['ours']})" for c, v in check.items())}
