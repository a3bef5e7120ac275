"""Income as it truly is and as the feeds show it: hidden income, coverage, ``truth_income.parquet``.

A member's *observed* income for a month is what ``hrss_employment`` shows (contribution base when
employed or flexibly employed, unemployment benefit, pension). The generator also knows the member's
*hidden* income (farm, migrant, informal and business earnings, rent, the children's support of the
elderly: :mod:`pipelines.synth.population`), so it knows every household's *true* income.

Coverage follows the catalog's principle "income: known, unknown, verified". A member's income is
*known* in month ``M`` on positive evidence only: an HRSS row with status employed or flexible, an
unemployment benefit > 0, or a pension >= the household's 低保 standard of ``M``; a member under 16 at
the end of ``M``, or a student in the latest ``moe_students`` term whose period is <= ``M``, is known
at zero. Everyone else is unknown. A household-month is

* ``verified`` — an ``assessed`` economic check of the household dated in the 6 months up to the end
  of ``M``, with no birth, death or move of a member after it;
* ``surveyed`` — listed in the ``moa_relapse_watch`` snapshot of ``M`` (whose survey is of the
  previous year, well within 18 months);
* ``full`` — every member known;
* ``partial`` — otherwise: the observed income is only a floor.

The first that applies is ``coverage``; ``observed_coverage`` is ``full``/``partial`` alone, what a
pipeline that reads neither the checks nor the relapse watch can know. Hidden income only ever belongs
to an unknown member, so a ``full`` household-month has observed income = true income.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synth import activity as act
from pipelines.synth.common import decimal_cents, label
from pipelines.synth.population import CATEGORIES, EMPLOYED, FLEXIBLE, NON_ROSTER, Province

COVERAGE = ("partial", "full", "surveyed", "verified")
PARTIAL, FULL, SURVEYED, VERIFIED = range(4)
TRUTH_INCOME_COLUMNS = ["household_id", "period", "urban_rural", "category", "size", "known_members",
                        "true_income_yuan", "observed_income_yuan", "hidden_income_yuan", "observed_coverage",
                        "coverage"]


def student_terms(pv: Province) -> tuple[np.ndarray, np.ndarray]:
    """(T,) index of the latest term (period <= the month) per data month, -1 if none, and a
    (terms, P) boolean matrix of who is in each term's delivery."""
    s = pv.rec["students"]
    terms = np.array(sorted(set(s["m"].tolist())), np.int64)
    listed = np.zeros((len(terms), pv.P), bool)
    for k, m in enumerate(terms):
        listed[k, s["p"][s["m"] == m]] = True
    abs_t = pv.cal.start + np.arange(pv.T)
    k_of_t = np.searchsorted(terms, abs_t, side="right") - 1
    return k_of_t, listed


def under16_threshold(pv: Province) -> np.ndarray:
    """(T,) the date 16 years before each month's last day: born after it = under 16 at month end."""
    out = []
    for t in range(pv.T):
        end = pv.cal.last_day(t).astype(object)
        out.append(np.datetime64(dt.date(end.year - 16, end.month, min(end.day, 28 if end.month == 2 else end.day))))
    return np.array(out, dtype="datetime64[D]")


def known_pairs(pv: Province, mh: np.ndarray, mp: np.ndarray, mt: np.ndarray, std_cents: np.ndarray) -> np.ndarray:
    """For each (household, person, month) membership pair: is the member's income known?"""
    k_of_t, listed = student_terms(pv)
    thr = under16_threshold(pv)
    k = k_of_t[mt]
    student = np.zeros(len(mp), bool)
    ok = k >= 0
    student[ok] = listed[k[ok], mp[ok]]
    status = pv.hr_status[mp, mt]
    return ((pv.p_birth[mp] > thr[mt]) | student | (status == EMPLOYED) | (status == FLEXIBLE)
            | (pv.hr_ub[mp, mt] > 0) | (pv.hr_pension[mp, mt] >= std_cents[mh, mt]))


def hidden_pairs(pv: Province, mp: np.ndarray, mt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The membership pairs with hidden income: (their indices, hidden income in cents); none from the
    month of the person's death. Sparse: most members hide nothing."""
    idx = np.flatnonzero((pv.hid_amt > 0)[mp])
    p, t = mp[idx], mt[idx]
    cents = np.where(t < pv.p_death_t[p], pv.hidden_cents(p, t), 0)
    keep = cents > 0
    return idx[keep], cents[keep]


# --- coverage of the catalog v2 sources ----------------------------------------------------------------

def verified_matrix(pv: Province, hm) -> np.ndarray:
    """(H, T) bool: an assessed economic check of the household dated in the 6 months up to the end of
    the month, and no birth, death or move of a member after it."""
    return verified_checks(pv, hm) >= 0


def verified_checks(pv: Province, hm) -> np.ndarray:
    """(H, T) the row of ``pv.rec["checks"]`` that verifies the household's income in the month (its
    latest assessed check dated in the 6 months up to the month's end, with no birth, death or move of
    a member after it), -1 where none does."""
    from pipelines.synth.truth import months_before

    H, T = hm.size.shape
    out = np.full((H, T), -1, np.int64)
    ch = pv.rec.get("checks")
    if ch is None or len(ch) == 0:
        return out
    rows = np.flatnonzero(ch["basis"] == 1)
    h, d = ch["h"][rows], ch["date"][rows]
    e = pv.rec["hukou_events"]
    moves = np.isin(e["etype"], [act.BIRTH, act.DEATH, act.MOVE_IN, act.MOVE_OUT])
    ev_h, ev_d = e["h"][moves], e["date"][moves]
    for t in range(T):
        end = pv.cal.last_day(t)
        lo = np.datetime64(months_before(end, 6))
        ok = (d > lo) & (d <= end)
        if not ok.any():
            continue
        hh, dd, rr = h[ok], d[ok], rows[ok]
        # latest check per household in the window (the latest check id on a day), then no member event after it
        order = np.lexsort((rr, dd, hh))
        hh, dd, rr = hh[order], dd[order], rr[order]
        last = np.ones(len(hh), bool)
        last[:-1] = hh[1:] != hh[:-1]
        hh, dd, rr = hh[last], dd[last], rr[last]
        later = np.zeros(len(hh), bool)
        if len(ev_h):
            evsel = (ev_d <= end)
            pos = {int(x): i for i, x in enumerate(hh)}
            for x, xd in zip(ev_h[evsel], ev_d[evsel]):
                i = pos.get(int(x))
                if i is not None and xd > dd[i]:
                    later[i] = True
        out[hh[~later], t] = rr[~later]
    return out


def rule_income_matrix(pv: Province, hm, cov: np.ndarray) -> np.ndarray:
    """(H, T) the income the rules use (yuan), as core.household_coverage_month computes it:
    verified -> the verifying check's income; surveyed -> the larger of observed income and the survey's
    (人均纯收入 - 人均转移性收入) / 12 x size plus the month's pensions on record (the survey's transfers
    include them); full / partial -> observed income."""
    out = hm.income.astype(float).copy()
    ver = verified_checks(pv, hm)
    ch = pv.rec.get("checks")
    if ch is not None and len(ch):
        hh, tt = np.nonzero(ver >= 0)
        out[hh, tt] = ch["income"][ver[hh, tt]] / 100.0
    w = pv.rec.get("watch")
    if w is not None and len(w):
        from pipelines.synth.checks import WATCH_SINCE, since_index

        t0 = since_index(pv, WATCH_SINCE)
        for t in range(t0, pv.T):
            sel = np.flatnonzero(w["t_from"] <= t)
            net, transfer = pv.rec["watch_survey"][pv.cal.year(t) - 1]
            h = w["h"][sel]
            surveyed = np.round((net[sel] - transfer[sel]) / 12.0 * hm.size[h, t], 2) + hm.pension[h, t]
            take = cov[h, t] == SURVEYED
            out[h[take], t] = np.maximum(hm.income[h[take], t], surveyed[take])
    return out


def surveyed_matrix(pv: Province, hm) -> np.ndarray:
    """(H, T) bool: listed in the month's relapse-watch snapshot."""
    H, T = hm.size.shape
    out = np.zeros((H, T), bool)
    w = pv.rec.get("watch")
    if w is None or len(w) == 0:
        return out
    for t in range(T):
        listed = w["h"][w["t_from"] <= t]
        out[listed, t] = True
    return out


def coverage_matrix(pv: Province, hm) -> np.ndarray:
    """(H, T) int8 coverage code (COVERAGE), the first that applies."""
    cov = np.where(hm.full, FULL, PARTIAL).astype(np.int8)
    cov[surveyed_matrix(pv, hm)] = SURVEYED
    cov[verified_matrix(pv, hm)] = VERIFIED
    return cov


def coverage_shares(pv: Province, hm) -> dict:
    """Share of ``partial`` household-months (observed coverage) by roster/non-roster and urban/rural."""
    present = hm.size > 0
    urban = pv.h_urban()[:, None]
    roster = (np.arange(pv.H) < pv.F)[:, None]
    out = {}
    for name, sel in (("urban", urban), ("rural", ~urban)):
        for who, r in (("all", np.ones_like(roster)), ("roster", roster), ("other", ~roster)):
            m = present & sel & r
            n = int(m.sum())
            out[f"{name}_{who}"] = (float((m & ~hm.full).sum() / n) if n else 0.0, n)
    return out


def write_truth_income(pv: Province, hm, path: Path) -> int:
    """One row per household and month in which the pipeline sees the household (``truth_income``),
    written month by month (one row group each)."""
    import pyarrow.parquet as pq

    H, T = hm.size.shape
    cov = coverage_matrix(pv, hm)
    hid = pa.array(pv.household_ids().tolist(), pa.string())
    cat_all = np.where(pv.h_cat == NON_ROSTER, len(CATEGORIES), pv.h_cat).astype(np.int8)
    urban = pv.h_urban().astype(np.int8)
    rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    try:
        for t in range(T):
            h = np.flatnonzero(hm.size[:, t] > 0)
            obs = np.rint(hm.income[h, t] * 100).astype(np.int64)
            hidden = np.rint(hm.hidden[h, t] * 100).astype(np.int64)
            table = pa.table({
                "household_id": pc.take(hid, pa.array(h)),
                "period": pa.array([pv.cal.period(t)] * len(h), pa.string()),
                "urban_rural": label(urban[h], ("rural", "urban")),
                "category": label(cat_all[h], CATEGORIES + ("none",)),
                "size": pa.array(hm.size[h, t].astype(np.int32)),
                "known_members": pa.array(hm.known[h, t].astype(np.int32)),
                "true_income_yuan": decimal_cents(obs + hidden),
                "observed_income_yuan": decimal_cents(obs),
                "hidden_income_yuan": decimal_cents(hidden),
                # what an assessed economic check that month finds (truth.assessed_income), before its noise
                "assessed_income_yuan": decimal_cents(np.rint(hm.assessed[h, t] * 100).astype(np.int64)),
                "observed_coverage": label(hm.full[h, t].astype(np.int8), COVERAGE[:2]),
                "coverage": label(cov[h, t], COVERAGE),
            })
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd", use_dictionary=True,
                                          write_statistics=True, store_schema=True)
            writer.write_table(table)
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows
