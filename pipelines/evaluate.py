"""Detection quality against a ground-truth file: recall, precision, latency, alert load.

Used by the demo, the end-to-end test and the benchmarks. Truth rows come from the synthetic
generator (``truth.csv``): ``required = 1`` rows must be raised for that household, indicator and
data month; ``required = 0`` rows are consequences that may be raised (not false alarms).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass
class DetectionReport:
    per_indicator: list[tuple]  # (indicator, required, hit_on_time, hit_late, missed, recall)
    warnings: int
    true_warnings: int
    false_alarms: int
    precision: float
    alert_load: float  # warnings per 1,000 monitored households per month
    missed: list[tuple]
    false_alarm_sample: list[tuple]

    def render(self) -> str:
        lines = ["detection against ground truth (检测效果):",
                 f"  {'indicator':<20} {'required':>8} {'on time':>8} {'late':>5} {'missed':>6} {'recall':>7}"]
        for code, req, ok, late, miss, rec in self.per_indicator:
            lines.append(f"  {code:<20} {req:>8} {ok:>8} {late:>5} {miss:>6} {rec:>7.0%}")
        lines.append(f"  warnings {self.warnings}, pointing at a real event {self.true_warnings}, "
                     f"false alarms {self.false_alarms}, precision {self.precision:.0%}, "
                     f"alert load {self.alert_load:.1f} per 1,000 households per month")
        return "\n".join(lines)


def load_truth(con: duckdb.DuckDBPyConnection, truth: Path) -> None:
    con.execute("create or replace temp table truth as select * from read_csv(?, header=true, all_varchar=true)",
                [str(truth)])


def detection_report(con: duckdb.DuckDBPyConnection, truth: Path) -> DetectionReport:
    load_truth(con, truth)
    per = con.execute(
        """
        with req as (select distinct household_id, indicator_code, period from truth where required = '1'),
        hits as (
            select r.indicator_code, r.household_id, r.period,
                   min(case when w.period = r.period then 0
                            when w.period > r.period then 1 end) as lateness
            from req r left join mart.warnings w
              on w.household_id = r.household_id and w.indicator_code = r.indicator_code
             and w.period >= r.period
            group by all)
        select indicator_code, count(*) as required,
               count(*) filter (where lateness = 0) as on_time,
               count(*) filter (where lateness = 1) as late,
               count(*) filter (where lateness is null) as missed,
               count(*) filter (where lateness = 0) / count(*) as recall
        from hits group by indicator_code order by indicator_code
        """
    ).fetchall()
    missed = con.execute(
        """
        select r.indicator_code, r.household_id, r.period, r.event_type
        from truth r
        where r.required = '1' and not exists (
            select 1 from mart.warnings w where w.household_id = r.household_id
              and w.indicator_code = r.indicator_code and w.period = r.period)
        order by 1, 2 limit 50
        """
    ).fetchall()
    total, true_w = con.execute(
        """
        select count(*),
               count(*) filter (where exists (
                   select 1 from truth t where t.household_id = w.household_id
                     and t.indicator_code = w.indicator_code))
        from mart.warnings w
        """
    ).fetchone()
    sample = con.execute(
        """
        select w.indicator_code, w.household_id, w.period, w.explanation from mart.warnings w
        where not exists (select 1 from truth t where t.household_id = w.household_id
                            and t.indicator_code = w.indicator_code)
        order by 1, 2, 3 limit 20
        """
    ).fetchall()
    hh_months = con.execute("select count(*) from core.household_month").fetchone()[0] or 1
    return DetectionReport(
        per_indicator=per, warnings=total, true_warnings=true_w, false_alarms=total - true_w,
        precision=(true_w / total) if total else 1.0,
        alert_load=1000.0 * total / hh_months, missed=missed, false_alarm_sample=sample,
    )


# --- latency of urgent evidence (principle 9) ---------------------------------------------------------

@dataclass
class LatencyReport:
    """Runs between the first night whose ingest saw a required warning's evidence and the night its
    case was first dispatched (0 = the same night), per indicator evaluated on arrival."""

    per_indicator: list[tuple]   # (indicator, required, dispatched, latency 0, latency >= 1, not dispatched, max)
    rows: list[tuple]            # (indicator, household, period, evidence night, dispatch night, latency)
    runs: int                    # nights run

    @property
    def all_same_night(self) -> bool:
        return all(r[5] == 0 for r in self.rows)

    def render(self) -> str:
        lines = [f"latency of urgent evidence (到达当晚派发), runs from the night the evidence was loaded to the "
                 f"night its case was first dispatched ({self.runs} nights run):",
                 f"  {'indicator':<20} {'required':>8} {'dispatched':>10} {'0 runs':>7} {'>=1 run':>8} "
                 f"{'missing':>8} {'max':>4}"]
        for code, req, disp, zero, late, missing, worst in self.per_indicator:
            lines.append(f"  {code:<20} {req:>8} {disp:>10} {zero:>7} {late:>8} {missing:>8} "
                         f"{'-' if worst is None else worst:>4}")
        return "\n".join(lines)


def latency_report(con: duckdb.DuckDBPyConnection, truth: Path, indicators: list[str] | None = None) -> LatencyReport:
    """Latency in runs of every required truth row of the indicators evaluated on arrival (default:
    those marked ``arrival`` in the rules).

    The evidence night is the night the ingest loaded the earliest delivery the warning's evidence
    names (``evidence_deliveries``: the records that made it fire; ``ops.deliveries.as_of``); the
    dispatch night the first night a department extract carried its case (``mart.case_dispatches``,
    escalations left out). Latency = the nights run (``ops.runs``) after the evidence night up to the
    dispatch night: 0 when the case went out the night the evidence arrived. A case that already
    existed (dispatched before the evidence arrived) counts 0. A truth row without a warning or whose
    case was never dispatched is "missing"."""
    if indicators is None:
        from pipelines.rules import load_rules

        rules = load_rules()
        indicators = [c for c in rules.codes if rules.indicators[c].arrival]
    load_truth(con, truth)
    con.execute("create or replace temp table latency_codes as select unnest(?::varchar[]) as indicator_code",
                [list(indicators)])
    rows = con.execute(
        """
        with req as (
            select distinct household_id, indicator_code, period from truth
            where required = '1' and indicator_code in (select indicator_code from latency_codes)),
        warned as (
            select r.indicator_code, r.household_id, r.period, w.case_id, w.evidence
            from req r join mart.warnings w using (household_id, indicator_code, period)),
        evidence as (
            select indicator_code, household_id, period,
                   unnest(coalesce(from_json(json_extract(evidence, '$.evidence_deliveries'), '["VARCHAR"]'),
                                   []::varchar[])) as delivery_id
            from warned),
        seen as (
            select e.indicator_code, e.household_id, e.period, min(d.as_of) as evidence_night
            from evidence e join ops.deliveries d using (delivery_id)
            group by all),
        sent as (
            select w.indicator_code, w.household_id, w.period, min(c.as_of) as dispatch_night
            from warned w join mart.case_dispatches c using (case_id)
            where c.kind <> 'escalation'
            group by all),
        nights as (select distinct as_of from ops.runs)
        select r.indicator_code, r.household_id, r.period, s.evidence_night, p.dispatch_night,
               case when p.dispatch_night is not null and s.evidence_night is not null then
                   (select count(*) from nights n where n.as_of > s.evidence_night and n.as_of <= p.dispatch_night)
               end as latency
        from req r
        left join seen s using (indicator_code, household_id, period)
        left join sent p using (indicator_code, household_id, period)
        order by 1, 2, 3
        """).fetchall()
    runs = con.execute("select count(distinct as_of) from ops.runs").fetchone()[0]
    per = []
    for code in indicators:
        mine = [r for r in rows if r[0] == code]
        if not mine:
            continue
        lat = [r[5] for r in mine if r[5] is not None]
        per.append((code, len(mine), len(lat), sum(1 for x in lat if x == 0), sum(1 for x in lat if x >= 1),
                    len(mine) - len(lat), max(lat) if lat else None))
    return LatencyReport(per_indicator=per, rows=rows, runs=runs)


# --- income rules against true income -----------------------------------------------------------------

# Income rules scored against true income: rule -> the households it looks at (all, or off the roster
# only: ELIG_EDGE's SQL). Its window (Rules.income_window) and the categories it leaves out
# (params.excluded_categories) are read from the rules. The synthetic province hides part of most
# households' income (``truth_income.parquet``): a warning is correct when the household's TRUE income is
# below the rule's line.
INCOME_RULES = {"ELIG_DIBAO": "all", "ELIG_EDGE": "off_roster", "EXP_HARDSHIP": "all"}
COVERAGE_BASES = ("observed", "v2")   # partial = some member unknown to HRSS / partial after checks and surveys


def _matched_truth(con) -> None:
    """Temp table ``tm(household_id, period, matched_pc)``: the TRUE per-capita income over the window the
    income a rule used was measured on. A month whose rule income is an economic check's (``verified``:
    the income of the members counted, over the 12 months up to the check) is matched with what the check
    truly finds (``assessed_income_yuan``; a province without it: the household's true income of those
    12 months); a month whose rule income is a relapse-watch survey's (``surveyed``, the survey above the
    observed income) with the true income of the survey year (the generator surveys the first months of
    the data when that year precedes them); every other month with its own true income."""
    has_coverage = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'core' and table_name = 'household_coverage_month'"
    ).fetchone()[0]
    if not has_coverage:
        con.execute("create or replace temp table tm as select household_id, period,"
                    " true_income / size as matched_pc from ti where size > 0")
        return
    con.execute(
        """
        create or replace temp table tm as
        with cov as (
            select c.household_id, c.period, c.income_coverage, c.check_date,
                   c.income_coverage = 'surveyed'
                     and c.surveyed_income_yuan >= coalesce(c.observed_income_yuan, 0) as survey_wins,
                   (select max(w.income_year) from staging.moa_relapse_watch w
                    where w.watch_id = c.watch_id and w.period <= c.period) as survey_year
            from core.household_coverage_month c),
        first_months as (select period from (select distinct period from ti) order by period limit 3),
        checked as (
            select c.household_id, c.period,
                   coalesce(any_value(t.assessed_income) filter (where t.period = strftime(c.check_date, '%Y-%m')),
                            avg(t.true_income)) as check_income
            from cov c join ti t on t.household_id = c.household_id and t.size > 0
             and t.period between strftime(c.check_date - interval 11 month, '%Y-%m') and strftime(c.check_date, '%Y-%m')
            where c.income_coverage = 'verified' group by all),
        survey_pc as (
            select c.household_id, c.period,
                   coalesce(avg(t.true_income / t.size) filter (where substr(t.period, 1, 4) = c.survey_year::varchar),
                            avg(t.true_income / t.size) filter (where t.period in (select period from first_months)))
                     as survey_pc
            from cov c join ti t on t.household_id = c.household_id and t.size > 0
            where c.survey_wins group by all)
        select t.household_id, t.period,
               case when ck.check_income is not null then ck.check_income / t.size
                    when sv.survey_pc is not null then sv.survey_pc
                    else t.true_income / t.size end as matched_pc
        from ti t
        left join checked ck using (household_id, period)
        left join survey_pc sv using (household_id, period)
        where t.size > 0
        """)


def _precision(warned: int, correct: int) -> float | None:
    return correct / warned if warned else None


def income_rule_report(con, truth_income: Path, indicators: list[str] | None = None) -> dict:
    """Alert load (warnings per 1,000 household-months) on partial and full households and precision
    against TRUE income (the generator's truth_income) of the income rules; see
    scripts/income_rule_precision.py for the definitions.

    Two measures of precision, both printed: ``precision`` compares every warning with the household's
    true income over the rule's own window (M-2..M; EXP_HARDSHIP M-11..M), the first measure;
    ``precision_matched`` compares it with the true income over the window the rule's income was measured
    on (:func:`_matched_truth`: a check's 12 months, a survey's year, else the month itself) -- what the
    warning claims. The target is judged on the matched measure. Both count household-months; the
    ``households`` figures count distinct households per indicator (correct: every warned month correct).

    Returns ``{"rows": [...], "paths": [...], "combined": {...}, "load": {...}}``: ``rows`` per indicator,
    coverage basis (``observed``: some member's income unknown to HRSS in the rule's window, the first
    version's classification; ``v2``: coverage partial after the economic checks and relapse surveys)
    and class (partial / full); ``paths`` per indicator and path (a: known income, b: partial income
    with a hardship signal); ``combined`` the rules together; ``load`` the partial / full ratio."""
    indicators = list(indicators or INCOME_RULES)
    from pipelines.rules import load_rules

    rules = load_rules()
    columns = {r[0] for r in con.execute("describe select * from read_parquet(?)", [str(truth_income)]).fetchall()}
    # a province written before the checks' own income was kept: the household's 12-month mean stands in
    assessed = "assessed_income_yuan::double" if "assessed_income_yuan" in columns else "null::double"
    con.execute("create or replace temp table ti as select household_id, period, size,"
                " true_income_yuan::double as true_income, observed_coverage, coverage as v2_coverage,"
                f" {assessed} as assessed_income from read_parquet(?)", [str(truth_income)])
    _matched_truth(con)
    cities = [r[0] for r in con.execute("select distinct city_code from core.household_month").fetchall()]
    con.execute("create or replace temp table edge(city_code varchar, mult double)")
    con.executemany("insert into edge values (?, ?)", [(c, rules.edge_multiplier_for(c)) for c in cities])
    rows, paths, households = [], [], []
    referrals = [0, 0]  # warnings sent to an office (a case opened or its severity raised), of them correct (matched)
    for code in indicators:
        k, who = rules.income_window(code), INCOME_RULES[code]
        excluded = tuple(rules.indicator(code).params.get("excluded_categories", ()))
        excl = ", ".join(f"'{c}'" for c in excluded)
        eligible = f"coalesce(m.category, '') not in ({excl})" if excluded else "true"
        cells = con.execute(
            f"""
            with hm as (
                select h.household_id, h.period, h.month_idx, h.size as core_size, h.dibao_std_yuan::double as std,
                       h.category, h.on_roster, coalesce(e.mult, {rules.edge_multiplier}) as mult,
                       coalesce(h.oop_yuan, 0)::double + coalesce(h.edu_cost_yuan, 0)::double
                         + coalesce(h.disaster_loss_yuan, 0)::double as costs,
                       ti.true_income, ti.size, ti.observed_coverage, ti.v2_coverage, tm.matched_pc
                from core.household_month h
                left join ti using (household_id, period)
                left join tm using (household_id, period)
                left join edge e using (city_code)),
            evaluated as (select distinct period from mart.indicator_runs where indicator_code = '{code}'),
            win as (
                select m.household_id, m.period, m.std, m.mult, m.on_roster, {eligible} as eligible,
                       w.observed_coverage, w.v2_coverage, w.true_income, w.size, w.costs, w.matched_pc
                from hm m join evaluated using (period)
                join hm w on w.household_id = m.household_id
                 and w.month_idx between m.month_idx - {k} and m.month_idx),
            cand as (
                select household_id, period, any_value(std) as std, any_value(mult) as mult,
                       any_value(eligible) as eligible, any_value(on_roster) as on_roster,
                       bool_or(observed_coverage = 'partial') as partial_observed,
                       bool_or(v2_coverage = 'partial') as partial_v2,
                       avg(true_income / size) filter (where size > 0) as true_pc,
                       avg((true_income - costs) / size) filter (where size > 0) as net_pc,
                       avg(matched_pc) filter (where size > 0) as matched_true_pc,
                       avg(matched_pc - costs / size) filter (where size > 0) as matched_net_pc,
                       count(*) filter (where true_income is null) as untracked
                from win group by household_id, period),
            warned as (
                select w.household_id, w.period, max(coalesce(json_extract_string(w.evidence, '$.path'), 'a')) as path,
                       -- a referral: the warning opened a case or raised its severity (sent again); one linked to
                       -- a case the office already has, or to a closed one within its cool-down, sends nothing
                       coalesce(bool_or(cw.link in ('opened', 'raised')), false) as sent
                from mart.warnings w left join mart.case_warnings cw on cw.warning_id = w.warning_id
                where w.indicator_code = '{code}' group by w.household_id, w.period)
            select c.partial_observed, c.partial_v2, w.household_id is not null as warned, w.path,
                   case '{code}' when 'ELIG_DIBAO' then c.true_pc < c.std
                                 when 'ELIG_EDGE' then c.true_pc < c.mult * c.std
                                 else c.net_pc < c.std end as below,
                   c.eligible and ('{who}' = 'all' or not c.on_roster) as can_warn,
                   count(*),
                   case '{code}' when 'ELIG_DIBAO' then c.matched_true_pc < c.std
                                 when 'ELIG_EDGE' then c.matched_true_pc < c.mult * c.std
                                 else c.matched_net_pc < c.std end as below_matched,
                   case when w.household_id is not null then c.household_id end as warned_household,
                   coalesce(w.sent, false) as sent
            from cand c left join warned w using (household_id, period)
            where c.untracked = 0
            group by all
            """
        ).fetchall()
        untracked = con.execute(
            f"""select count(*) from mart.warnings w where indicator_code = '{code}' and not exists (
                    select 1 from ti where ti.household_id = w.household_id and ti.period = w.period)""").fetchone()[0]
        for basis, col in (("observed", 0), ("v2", 1)):
            for cls in (True, False):
                sel = [r for r in cells if bool(r[col]) == cls]
                hm_n = sum(r[6] for r in sel)
                warned = sum(r[6] for r in sel if r[2])
                correct = sum(r[6] for r in sel if r[2] and r[4])
                matched = sum(r[6] for r in sel if r[2] and r[7])
                below = sum(r[6] for r in sel if r[4] and r[5])
                found = sum(r[6] for r in sel if r[4] and r[5] and r[2])
                rows.append({"indicator": code, "basis": basis, "coverage": "partial" if cls else "full",
                             "household_months": hm_n, "warnings": warned,
                             "per_1000": 1000.0 * warned / hm_n if hm_n else 0.0, "correct": correct,
                             "precision": _precision(warned, correct), "correct_matched": matched,
                             "precision_matched": _precision(warned, matched), "truly_below": below,
                             "found": found, "untracked_warnings": untracked})
        for path in sorted({r[3] for r in cells if r[2]}):
            sel = [r for r in cells if r[2] and r[3] == path]
            warned = sum(r[6] for r in sel)
            correct = sum(r[6] for r in sel if r[4])
            matched = sum(r[6] for r in sel if r[7])
            per_hh: dict[str, bool] = {}
            for r in sel:
                per_hh[r[8]] = per_hh.get(r[8], True) and bool(r[7])
            paths.append({"indicator": code, "path": path, "warnings": warned, "correct": correct,
                          "precision": _precision(warned, correct), "correct_matched": matched,
                          "precision_matched": _precision(warned, matched), "households": len(per_hh),
                          "households_correct": sum(per_hh.values()),
                          "households_precision": _precision(len(per_hh), sum(per_hh.values()))})
        per_hh = {}
        for r in cells:
            if r[2]:
                per_hh[r[8]] = per_hh.get(r[8], True) and bool(r[7])
        households.append((code, len(per_hh), sum(per_hh.values())))
        referrals[0] += sum(r[6] for r in cells if r[2] and r[9])
        referrals[1] += sum(r[6] for r in cells if r[2] and r[9] and r[7])
    obs = [r for r in rows if r["basis"] == "observed"]
    warned = sum(r["warnings"] for r in obs)
    correct = sum(r["correct"] for r in obs)
    matched = sum(r["correct_matched"] for r in obs)
    hh_n = sum(n for _, n, _ in households)
    hh_ok = sum(ok for _, _, ok in households)
    combined = {"indicators": indicators, "warnings": warned, "correct": correct,
                "precision_old": _precision(warned, correct), "correct_matched": matched,
                "precision": _precision(warned, matched), "households": hh_n, "households_correct": hh_ok,
                "households_precision": _precision(hh_n, hh_ok),
                "referrals": referrals[0], "referrals_correct": referrals[1],
                "referrals_precision": _precision(*referrals)}
    load = {}
    for basis in COVERAGE_BASES:
        per = {}
        for cls in ("partial", "full"):
            sel = [r for r in rows if r["basis"] == basis and r["coverage"] == cls]
            n = max(r["household_months"] for r in sel) if sel else 0      # the same months for every rule
            per[cls] = 1000.0 * sum(r["warnings"] for r in sel) / n if n else 0.0
        load[basis] = {**per, "ratio": per["partial"] / per["full"] if per["full"] else None}
    return {"rows": rows, "paths": paths, "combined": combined, "load": load}


def render_income_rules(report: dict, meta: dict) -> str:
    def pct(x):
        return f"{x:.0%}" if x is not None else "–"

    lines = [f"Income rules against true income — {meta['households']:,} roster families, {meta['months']} months, "
             f"seed {meta['seed']}; {meta['household_months']:,} household-months evaluated "
             f"({meta['partial_share']:.0%} partial to HRSS).",
             "precision: 3-month = true income of the rule's own window (M-2..M; EXP_HARDSHIP M-11..M); "
             "matched = true income of the window the rule's income was measured on (a check's 12 months, "
             "a survey's year, else the month). The target is judged on the matched measure.", "",
             "| indicator | coverage (observed) | household-months | warnings | per 1,000 hh-months | correct (3-month) "
             "| precision (3-month) | correct (matched) | precision (matched) | truly below | found |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in report["rows"]:
        if r["basis"] != "observed":
            continue
        lines.append(f"| {r['indicator']} | {r['coverage']} | {r['household_months']:,} | {r['warnings']:,} | "
                     f"{r['per_1000']:.1f} | {r['correct']:,} | {pct(r['precision'])} | {r['correct_matched']:,} | "
                     f"{pct(r['precision_matched'])} | {r['truly_below']:,} | {r['found']:,} |")
    lines.append("")
    for p in report["paths"]:
        what = "known income" if p["path"] == "a" else "partial income + hardship signal (referral for a check)"
        lines.append(f"{p['indicator']} path ({p['path']}, {what}): {p['warnings']:,} warnings, precision "
                     f"{pct(p['precision'])} (3-month), {pct(p['precision_matched'])} (matched); "
                     f"{p['households']:,} households, {pct(p['households_precision'])} with every warning correct")
    c = report["combined"]
    lines.append(f"{' + '.join(c['indicators'])} together: {c['warnings']:,} warnings (household-months), "
                 f"precision {pct(c['precision_old'])} ({c['correct']:,} correct, 3-month), "
                 f"{pct(c['precision'])} ({c['correct_matched']:,} correct, matched; target >= 90%); "
                 f"{c['households']:,} households, {pct(c['households_precision'])} with every warning correct (matched); "
                 f"{c['referrals']:,} of the warnings were referrals (opened a case or raised its severity: what reached "
                 f"an office), {pct(c['referrals_precision'])} of them correct (matched)")
    for basis, what in (("observed", "some member's income unknown to HRSS in the rule's window"),
                        ("v2", "coverage partial after economic checks and relapse surveys")):
        ld = report["load"][basis]
        ratio = f"{ld['ratio']:.1f}x" if ld["ratio"] is not None else "–"
        lines.append(f"alert load, partial = {what}: {ld['partial']:.1f} per 1,000 partial household-months vs "
                     f"{ld['full']:.1f} on full, ratio {ratio} (target <= 2x)")
    return "\n".join(lines)
