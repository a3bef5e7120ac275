"""End to end on a synthetic province: every night of a small province through the real
pipeline (landing zone -> GX -> DuckDB -> indicators -> cases -> extracts -> simulated department
feedback), then checked against the generator's ground truth and by opening what departments get.

- every required truth row (an injected event's indicator and data month) is raised in that month;
- no warning points at a household the generator gave no truth row for that indicator (zero false
  alarms, the income rules included: they respect coverage), none at a near miss; the income rules
  scored against true income are precise and do not flood partly unknown income;
- every extract opens in openpyxl with Chinese headers and Chinese explanations equal to the
  warehouse's, holds only its own office's cases, and its manifest's checksums are right;
- the simulated feedback files round-trip: each line a department answered moved its case, and the
  confirmation rate the analysts query equals the one recomputed from the answered files.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from pipelines.config import load_settings

pytestmark = pytest.mark.slow

HOUSEHOLDS = 200  # the smallest province in which every event type, hence every indicator, occurs
INDICATORS = {"INC_DROP", "EXP_MED", "EXP_EDU", "EXP_HARDSHIP", "DISASTER", "POP_DEATH", "POP_DISABILITY",
              "POP_BIRTH", "ELIG_DIBAO", "ELIG_EDGE", "EXIT_REVIEW", "BENEFIT_AFTER_DEATH", "DUP_ENROLL",
              "REVIEW_OVERDUE", "AID_EDU", "AID_HOUSING", "AID_DISABILITY", "AID_EMPLOYMENT", "GRID_FINDING",
              "CHILD_NO_CARE", "TEKUN_CANDIDATE", "RELAPSE_RISK"}
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    from pipelines.demo import replay
    from pipelines.synth import generate

    out = tmp_path_factory.mktemp("e2e")
    result = generate(out=out / "province", households=HOUSEHOLDS, months=13, seed=20261, catalog="v2")
    settings = load_settings(
        env={}, landing=result.landing, warehouse=out / "wh" / "warehouse.duckdb",
        outbox=out / "outbox", feedback=out / "feedback", show_progress=False,
    ).with_(extra={"allow_ephemeral_hmac_key": True})
    last = replay(settings, result.nights, result.truth)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    yield result, settings, last, con
    con.close()


def _truth(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_every_injected_event_is_raised_in_its_month(province):
    from pipelines.evaluate import detection_report

    result, settings, _, con = province
    report = detection_report(con, result.truth)
    per = {code: (req, on_time, late, missed) for code, req, on_time, late, missed, _ in report.per_indicator}
    assert set(per) == INDICATORS, "the province exercises every indicator"
    not_on_time = {code: v for code, v in per.items() if v[1] != v[0]}
    assert not_on_time == {}, f"(required, on time, late, missed) per indicator; missed: {report.missed}"


def test_urgent_evidence_is_dispatched_the_night_it_arrives(province):
    """Principle 9: every required DISASTER, POP_DEATH, GRID_FINDING and CHILD_NO_CARE truth row is in
    a department extract the night its evidence was loaded (latency 0 runs), including a disaster of a
    daily-delivered month, warned before that month's roster came in."""
    from pipelines.evaluate import latency_report

    result, _, _, con = province
    report = latency_report(con, result.truth)
    print("\n" + report.render())
    assert {r[0] for r in report.per_indicator} == {"DISASTER", "POP_DEATH", "GRID_FINDING", "CHILD_NO_CARE"}
    assert report.rows and all(r[5] == 0 for r in report.rows), [r for r in report.rows if r[5] != 0]
    on_arrival = con.execute(
        """select count(*) from mart.warnings
           where indicator_code = 'DISASTER' and json_extract(evidence, '$.composition.on_arrival')::boolean""").fetchone()[0]
    assert on_arrival >= 1, "a daily disaster was warned before its month's roster arrived"


def test_no_false_alarms(province):
    """Zero false alarms, for every indicator: no warning on a household the generator gave no truth row
    for that indicator. The income rules respect coverage (principle 5): on partly unknown income they
    refer a household only on a hardship signal (ELIG path b), so the farmers, migrant workers and
    elderly people whose income the feeds cannot see raise nothing; what the rules raise on ordinary
    households -- a verified applicant, a household on the relapse watch (a routine field visit finds
    nothing) -- has truth rows of its own (computed from the generator's data)."""
    from pipelines.evaluate import detection_report

    result, _, _, con = province
    truth = _truth(result.truth)
    with_truth = {(t["household_id"], t["indicator_code"]) for t in truth}
    warnings = con.execute("select household_id, indicator_code, period, explanation from mart.warnings").fetchall()
    assert len(warnings) > 50
    stray = [w for w in warnings if (w[0], w[1]) not in with_truth]
    assert stray == [], stray[:20]
    assert detection_report(con, result.truth).false_alarms == 0
    near = {r["household_id"] for r in _truth(result.out / "near_misses.csv")}
    assert {"farmer_unknown_income", "elderly_basic_pension", "checked_above_edge", "relapse_listing_only"} <= \
        {r["kind"] for r in _truth(result.out / "near_misses.csv")}
    # a near-miss household may hold a routine fact a v2 indicator refers (a C-rated house, a subsidy
    # not received: the generator's "OB" truth rows); its near miss itself raises nothing
    routine = {(t["household_id"], t["indicator_code"]) for t in truth if t["event_id"].startswith("OB")}
    raised = {w[0] for w in warnings if (w[0], w[1]) not in routine}
    assert not near & raised, sorted((w[0], w[1]) for w in warnings if w[0] in near & raised)[:20]


def test_income_rules_against_true_income(province):
    """The catalog v2 income rules scored against the generator's TRUE income: ELIG_DIBAO, ELIG_EDGE
    and EXP_HARDSHIP together precise (>= 90%), and no flood on partly unknown income: the alert load on
    partial households at most twice that on full ones."""
    from pipelines.evaluate import income_rule_report, render_income_rules

    result, _, _, con = province
    report = income_rule_report(con, result.truth_income)
    n, partial = con.execute(
        "select count(*), count(*) filter (where observed_coverage = 'partial') from core.household_month "
        "join read_parquet(?) using (household_id, period)", [str(result.truth_income)]).fetchone()
    print("\n" + render_income_rules(report, {"households": HOUSEHOLDS, "months": 13, "seed": 20261,
                                              "household_months": n, "partial_share": partial / n}))
    # a floor on every measure (matched window, the rule's own window, per household); the 90% target on the
    # matched measure is the test below
    for measure in ("precision", "precision_old", "households_precision", "referrals_precision"):
        assert report["combined"][measure] >= 0.8, (measure, report["combined"])
    # what reached an office: the warnings that opened a case or raised its severity (the others joined a case
    # the office already had, or a closed one within its cool-down)
    sent = con.execute("select count(distinct (w.household_id, w.period, w.indicator_code)) from mart.warnings w "
                       "join mart.case_warnings cw using (warning_id) where cw.link in ('opened', 'raised') "
                       "and w.indicator_code in ('ELIG_DIBAO', 'ELIG_EDGE', 'EXP_HARDSHIP')").fetchone()[0]
    assert 0 < report["combined"]["referrals"] <= sent and report["combined"]["referrals"] < report["combined"]["warnings"]
    for basis in ("observed", "v2"):
        assert report["load"][basis]["ratio"] <= 2.0, (basis, report["load"])


def test_income_rules_reach_the_precision_target(province):
    """ELIG_DIBAO, ELIG_EDGE and EXP_HARDSHIP together >= 90% precise against TRUE income (matched measure),
    in a province whose offices answer a referral by an economic check (the replay's): a path (b) referral of
    a household truly above the line is quiet once the check's `above_edge` is in."""
    from pipelines.evaluate import income_rule_report

    result, _, _, con = province
    assert income_rule_report(con, result.truth_income)["combined"]["precision"] >= 0.9
    # the loop that gets it there: a path (b) referral answered by a check that finds the household above the
    # edge line, after which the household's income is verified and path (b) quiet for the check's 6 months
    quiet = con.execute(
        """with checks as (
               select s.check_id, c.household_id, strftime(s.check_date, '%Y-%m') as checked
               from staging.mca_econ_checks s
               join (select distinct household_id, check_id from core.household_coverage_month) c using (check_id)
               where s.check_id like 'HR%' and s.outcome = 'above_edge'),
           path_b as (select household_id, period from mart.warnings
                      where indicator_code like 'ELIG_%' and json_extract_string(evidence, '$.path') = 'b')
           select k.household_id, k.checked,
                  count(*) filter (where b.period < k.checked) as before,
                  count(*) filter (where b.period >= k.checked
                                     and b.period <= strftime(cast(k.checked || '-01' as date) + interval 5 month, '%Y-%m'))
                    as after
           from checks k join path_b b using (household_id) group by all""").fetchall()
    assert quiet and all(before > 0 and after == 0 for _, _, before, after in quiet), quiet


def test_catalog_v2_feeds_load(province):
    """The province delivers catalog v2: the economic checks and the relapse watch load, the CDPF and
    grid layouts change in 2026-07, disasters come daily. Only the injected faults are rejected, and the
    unannounced CDPF column loads with a warning naming it."""
    result, _, _, con = province
    for feed in ("mca_econ_checks", "moa_relapse_watch"):
        loaded = con.execute("select count(*) from ops.deliveries where feed_id = ? and status = 'loaded'",
                             [feed]).fetchone()[0]
        assert loaded >= 9, feed
    faults = list(_truth(result.faults))
    rejected = {r[0] for r in con.execute("select delivery_id from ops.deliveries where status = 'rejected'").fetchall()}
    assert rejected <= {r["delivery_id"] for r in faults if r["fault"].startswith("corrupt")}, rejected
    unannounced = [r["delivery_id"] for r in faults if r["fault"] == "unannounced_column"]
    assert unannounced
    for delivery_id in unannounced:
        status, warnings = con.execute("select status, cast(warnings as varchar) from ops.deliveries "
                                       "where delivery_id = ?", [delivery_id]).fetchone()
        assert status in ("loaded", "superseded") and "extra_column" in warnings, (delivery_id, warnings)


def test_warnings_contract_is_queryable(province):
    _, _, _, con = province
    cols = [r[0] for r in con.execute("describe select * from warnings").fetchall()]
    assert cols[:13] == ["warning_id", "indicator_code", "severity", "period", "family_id", "hukou_no",
                         "person_id", "county_code", "departments", "evidence", "explanation", "case_id",
                         "raised_at"]
    # every warning carries its evidence, a Chinese sentence and a case
    bad = con.execute(
        """select count(*) from warnings
           where evidence is null or json_extract(evidence, '$.thresholds') is null
              or case_id is null or not regexp_matches(explanation, '[\\x{4e00}-\\x{9fff}]')"""
    ).fetchone()[0]
    assert bad == 0


def _extract_dirs(outbox: Path) -> list[Path]:
    return sorted(p.parent for p in outbox.glob("*/*/*/manifest.json") if p.parts[-4] != "report")


def test_extracts_open_in_openpyxl_with_chinese_and_only_their_office(province):
    import openpyxl

    _, settings, _, con = province
    dirs = _extract_dirs(settings.outbox)
    assert len(dirs) >= 10
    explanations: dict[str, set] = {}
    for case_id, text in con.execute("select case_id, explanation from mart.warnings").fetchall():
        explanations.setdefault(case_id, set()).add(text)
    sent_to = set(con.execute("select case_id, department, county_code from mart.case_dispatches").fetchall())
    seen_departments, levels = set(), set()
    for d in dirs:
        dept, office = d.parts[-3], d.parts[-2]
        levels.add((dept, len(office)))
        seen_departments.add(dept)
        manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
        for f in manifest["files"]:
            assert hashlib.sha256((d / f["name"]).read_bytes()).hexdigest() == f["sha256"], (d, f["name"])
        wb = openpyxl.load_workbook(d / "cases.xlsx", read_only=True)
        assert wb.sheetnames[:2] == ["案件 cases", "指标说明 indicators"]
        rows = list(wb["案件 cases"].iter_rows(values_only=True))
        header, body = rows[0], rows[1:]
        assert header[0] == "案件编号 case_id" and all(HAN.search(h) for h in header)
        assert len(body) == manifest["cases"] > 0
        at = {h.split(" ")[-1]: i for i, h in enumerate(header)}
        for r in body:
            case_id = r[at["case_id"]]
            assert (case_id, dept, office) in sent_to, "an office gets only its own cases"
            if len(office) == 9:  # a town office: the case's town
                assert r[at["town_code"]] == office and HAN.search(r[at["town_name"]])
            assert r[at["explanation"]] in explanations[case_id], "the warehouse's own sentence"
            assert HAN.search(r[at["explanation"]])
        codes = [r[0] for r in list(wb["指标说明 indicators"].iter_rows(values_only=True))[1:]]
        assert set(r[at["indicator_code"]] for r in body) <= set(codes)
        wb.close()
        raw = (d / "cases.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") and "案件编号".encode() in raw
    assert {"MCA", "NHSA", "HRSS", "MEM", "MOHURD", "CDPF", "MOE"} <= seen_departments
    # MCA at its town offices (and its county offices for county acts and escalations), the others at
    # their county offices
    assert ("MCA", 9) in levels and all(n == 6 for dept, n in levels if dept != "MCA")


def test_feedback_round_trips(province):
    _, settings, last, con = province
    files = sorted(Path(settings.feedback).glob("*/*/*/*.csv"))  # feedback/<DEPT>/<office>/<date>/
    visible = [f for f in files if dt.date.fromisoformat(f.parent.name) <= last.as_of]
    assert len(visible) >= 10, "the simulated offices answered"
    ledger = dict(con.execute("select sha256, status from ops.feedback_files").fetchall())
    answers: dict[str, str] = {}
    for f in visible:
        assert ledger.get(hashlib.sha256(f.read_bytes()).hexdigest()) == "applied", f
        with open(f, encoding="utf-8-sig", newline="") as fh:
            answers.update((r["case_id"], r["status"]) for r in csv.DictReader(fh))
    # the last night's answers are dated after it: they wait for the next night, untouched
    later = [f for f in files if f not in visible]
    assert all(hashlib.sha256(f.read_bytes()).hexdigest() not in ledger for f in later)

    moved = set(con.execute(
        "select case_id, to_status from mart.case_events where source = 'feedback'").fetchall())
    assert {(c, s) for c, s in answers.items()} <= moved, "every answered line moved its case"
    audited = con.execute("select count(*) from ops.audit_log where action = 'feedback_applied'").fetchone()[0]
    assert audited == len(visible)

    # the confirmation rate analysts query = verified / (verified + not verified), recomputed here:
    # assisted and ineligible are answered after a verification (核实属实), so they count as verified
    where = {c: (i, k) for c, i, k in
             con.execute("select case_id, indicator_code, county_code from mart.cases").fetchall()}
    reached = {"verified": "verified", "assisted": "verified", "ineligible": "verified", "not_verified": "not_verified"}
    expected: dict[tuple, Counter] = {}
    for case_id, status in answers.items():
        expected.setdefault(where[case_id], Counter())[reached[status]] += 1
    stats = {(r[0], r[1]): r[2:] for r in con.execute(
        "select indicator_code, county_code, verified, not_verified, confirmation_rate from mart.feedback_stats"
    ).fetchall()}
    assert Counter(answers.values())["verified"] > 0
    for key, n in expected.items():
        verified, not_verified, rate = stats[key]
        assert (verified, not_verified) == (n["verified"], n["not_verified"]), key
        # the mart rounds the rate to 4 decimals
        assert rate == pytest.approx(n["verified"] / (n["verified"] + n["not_verified"]), abs=5e-5), key


def test_the_nightly_incremental_analyst_db_equals_a_full_rebuild(province, tmp_path):
    """Thirteen nights of incremental analyst builds (months copied, texts from the cache, late and
    corrected deliveries, feedback) end with exactly the tables a full rebuild writes."""
    from analyst_fixtures import analyst_tables
    from pipelines.analyst import build_analyst_db

    _, settings, _, _ = province
    nightly = Path(settings.analyst_db)
    con = duckdb.connect(str(nightly), read_only=True)
    mode, stats = con.execute("select build_mode, build_stats from build_info").fetchone()
    con.close()
    stats = json.loads(stats)
    assert mode == "incremental"
    assert stats["months_copied"]["person_month"] >= 10, stats
    assert len(stats["months_built"]["person_month"]) <= 3, stats
    assert stats["texts_from_cache"] > stats["texts_scrubbed"], stats

    full = build_analyst_db(settings, target=tmp_path / "full.duckdb", full=True)
    con = duckdb.connect(str(full), read_only=True)
    assert con.execute("select build_mode from build_info").fetchone()[0] == "full"
    con.close()
    want, got = analyst_tables(full), analyst_tables(nightly)
    assert set(got) == set(want)
    for table in want:
        assert got[table] == want[table], f"analyst table {table}: incremental differs from a full rebuild"


def test_income_coverage_matches_the_generators(province):
    """core's income coverage (verified / surveyed / full / partial) and observed income, recomputed by
    the pipeline from the feeds alone, equal what the generator knows it built, household by month --
    except where an economic check the replay's offices asked for (check ids HR..., which the generator
    cannot know) verifies the month: there the check's own income is the rule's."""
    result, _, _, con = province
    truth = result.truth_income
    counts = dict(con.execute(
        """select coalesce(h.income_coverage = t.coverage, false)
                    and coalesce(h.observed_income_yuan = t.observed_income_yuan, false), count(*)
           from core.household_month h join read_parquet(?) t using (household_id, period)
           join core.household_coverage_month c using (household_id, period)
           where coalesce(c.check_id, '') not like 'HR%'
           group by all""", [str(truth)]).fetchall())
    assert counts.get(False, 0) == 0 and counts.get(True, 0) > 1000, counts
    replayed = con.execute(
        """select count(*), count(*) filter (where c.verified_income_yuan = s.monthly_income_yuan)
           from core.household_coverage_month c join staging.mca_econ_checks s using (check_id)
           where c.check_id like 'HR%' and c.income_coverage = 'verified'""").fetchone()
    assert replayed[0] > 0 and replayed[0] == replayed[1], replayed
    kinds = {k for (k,) in con.execute("select distinct income_coverage from core.household_month").fetchall()}
    assert kinds == {"verified", "surveyed", "full", "partial"}


# --- what the warehouse also answers: the assistance chain, 民政统计, data-quality notices ---------

def test_assistance_chain_carries_the_money_the_feeds_carry(province):
    """Month by month, every yuan of assistance in the feeds of the members of a known household is
    in the chain, and nothing else: roster benefits (the roster rows), medical aid of the settlements
    dated in the month (each settlement once, reversals included), unemployment benefit, emergency aid
    of the disaster records in force, the term's student aid."""
    _, _, _, con = province
    chain = dict(((p, k), a) for p, k, a in con.execute(
        "select period, case when kind in ('dibao', 'tekun', 'roster_other') then 'roster' else kind end, "
        "sum(amount_yuan) from core.assistance_month group by all").fetchall())
    feeds = """
        with persons as (select period, person_id, household_id, on_roster from core.person_month),
        roster as (
            select period, family_id, person_id, any_value(monthly_benefit_yuan) as b from staging.mca_roster
            group by all),
        claims as (
            select strftime(settle_date, '%Y-%m') as period, person_id, medical_aid_yuan from staging.nhsa_claims
            qualify row_number() over (partition by settle_id order by period desc, _row desc) = 1),
        hrss as (select period, person_id, sum(unemployment_benefit_yuan) as b from staging.hrss_employment group by all)
        select period, 'roster', sum(b) from roster r
            where exists (select 1 from persons p where p.period = r.period and p.person_id = r.person_id
                          and p.household_id = r.family_id and p.on_roster) group by all having sum(b) <> 0
        union all
        select c.period, 'medical_aid', sum(medical_aid_yuan) from claims c join persons p using (period, person_id)
            group by all having sum(medical_aid_yuan) <> 0
        union all
        select h.period, 'unemployment_benefit', sum(b) from hrss h join persons p using (period, person_id)
            where b > 0 group by all
        union all
        select d.period, 'emergency_aid', sum(emergency_aid_yuan) from staging.mem_disaster_current d
            join persons p using (period, person_id) where emergency_aid_yuan > 0 group by all
        union all
        select period, 'education_aid', sum(aid_yuan) from core.student_term
            where household_id is not null and aid_yuan > 0 group by all"""
    expected = {(p, k): a for p, k, a in con.execute(feeds).fetchall()}
    assert chain == expected
    # (the province's 失业登记 rows carry no benefit at this size: tests/test_assistance.py has one)
    assert {k for _, k in chain} >= {"roster", "medical_aid", "emergency_aid", "education_aid"}


def test_extract_rows_carry_the_assistance_cell(province):
    """Every office extract row has the 近12个月救助 cell: civil affairs sees the roster benefit of its
    roster households; an office that pays none of the other kinds sees only the roster benefits."""
    import openpyxl

    _, settings, _, _ = province
    cells: dict[str, list[str]] = {}
    for d in _extract_dirs(settings.outbox):
        wb = openpyxl.load_workbook(d / "cases.xlsx", read_only=True)
        rows = list(wb["案件 cases"].iter_rows(values_only=True))
        wb.close()
        at = {h.split(" ")[-1]: i for i, h in enumerate(rows[0])}
        cells.setdefault(d.parts[-3], []).extend(r[at["assistance"]] for r in rows[1:])
    assert all(c for v in cells.values() for c in v), "a cell on every row (无 none when nothing)"
    assert any(c.startswith(("低保", "特困")) for c in cells["MCA"])
    assert all(not re.search("医疗救助|教育资助|受灾救助|失业保险金", c) for c in cells["MOHURD"])


def test_statistics_roll_up_and_the_monthly_report(province):
    import openpyxl

    from tests.warehouse_fixtures import assert_rolls_up

    _, settings, last, con = province
    months = [m for (m,) in con.execute("select distinct period from core.roster_month order by 1").fetchall()]
    assert len(months) >= 12
    for month in months:
        rows = con.execute("select level, region_code, category, urban_rural, households, persons, benefit_yuan "
                           "from mart.roster_statistics where period = ?", [month]).fetchall()
        assert_rolls_up({r[:4]: r[4:] for r in rows})
        # the province total is the roster itself
        total = con.execute("select households, persons, benefit_yuan from mart.roster_statistics where period = ? "
                            "and level = 'province' and category = 'all' and urban_rural = 'all'", [month]).fetchone()
        roster = con.execute("select count(distinct family_id), count(distinct (family_id, person_id)), "
                             "sum(monthly_benefit_yuan) from (select distinct family_id, person_id, monthly_benefit_yuan "
                             "from staging.mca_roster where period = ?)", [month]).fetchone()
        assert total == roster, month
    # the assistance statistics add up across levels too (yuan and payments)
    a = con.execute("""select level, sum(amount_yuan), sum(payments) from mart.assistance_statistics
                       where kind = 'all' group by level""").fetchall()
    assert len({(amount, n) for _, amount, n in a}) == 1
    # the 月报 of the latest complete month, beside the last night's report, holds no person
    report = sorted((Path(settings.outbox) / "report" / last.as_of.isoformat()).glob("月报_*.xlsx"))
    assert len(report) == 1 and last.monthly_report == report[0]
    month = report[0].stem.split("_")[1]
    assert month < last.as_of.isoformat()[:7]
    wb = openpyxl.load_workbook(report[0], read_only=True)
    text = "\n".join(str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    province_rows = [r for r in wb["低收入人口 roster"].iter_rows(values_only=True) if r[0] == "省 province"]
    wb.close()
    assert not re.search(r"\d{17}[\dXx]", text), "no 身份证号 in the 月报"
    names = {n for (n,) in con.execute("select distinct name from staging.mca_roster where name is not null").fetchall()}
    assert not [n for n in names if len(n) >= 2 and n in text], "no roster name in the 月报"
    hh = con.execute("select households from mart.roster_statistics where period = ? and level = 'province' "
                     "and category = 'all' and urban_rural = 'all'", [month]).fetchone()[0]
    assert province_rows[0][5] == hh


def test_rejected_deliveries_get_a_notice(province):
    """Each delivery the province's faults made the ingest reject gets a notice in its department's
    outbox on the night it was rejected, naming the file and the rule; warned ones (the unannounced
    CDPF column) get theirs too."""
    import openpyxl

    _, settings, _, con = province
    bad = con.execute("""select delivery_id, feed_id, as_of, status, cast(errors as varchar) from ops.deliveries
                         where (status = 'rejected' and not coalesce(retry, false))
                            or (status = 'loaded' and json_array_length(warnings) > 0)""").fetchall()
    assert any(status == "rejected" for *_, status, _ in bad)
    from pipelines.feeds import FEEDS

    for delivery_id, feed_id, as_of, status, errors in bad:
        folder = Path(settings.outbox) / FEEDS[feed_id].department / "quality" / as_of.isoformat()
        stem = "notice_" + delivery_id.replace("/", "_")
        assert (folder / f"{stem}.csv").exists(), delivery_id
        wb = openpyxl.load_workbook(folder / f"{stem}.xlsx", read_only=True)
        rows = list(wb["问题明细 findings"].iter_rows(values_only=True))
        about = dict(list(wb["交付信息 delivery"].iter_rows(values_only=True))[1:])
        wb.close()
        assert about["交付编号 delivery_id"] == delivery_id
        assert len(rows) > 1 and all(HAN.search(r[4]) for r in rows[1:]), "each finding's rule in Chinese"
        if status == "rejected":
            first = json.loads(errors)[0]
            assert about["处理结果 outcome"].startswith("已拒收")
            assert any(r[1] == (first["file"] or "") and first["check"] in r[4] for r in rows[1:]), (delivery_id, rows)
