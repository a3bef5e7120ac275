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


# --- income rules on hidden income --------------------------------------------------------------------

# Today's income rules and the months of observed income each one reads (M-k..M). The synthetic
# province hides part of most households' income (``truth_income.parquet``): where a household's
# coverage is ``partial`` the observed income is only a floor and these rules fire on households whose
# true income is fine. EXP_MED counts only by its rule A (rule B compares spending with spending).
INCOME_RULE_WINDOWS = {"ELIG_DIBAO": 2, "ELIG_EDGE": 2, "EXP_HARDSHIP": 11, "EXP_MED": 2, "EXP_EDU": 6}


@dataclass
class FalseAlarmReport:
    real: list[tuple]          # (indicator, household, period, explanation): false alarms, no excuse
    on_partial: dict           # indicator -> false alarms of an income rule on a partial household
    warnings: int


def false_alarms_by_coverage(con: duckdb.DuckDBPyConnection, truth: Path, truth_income: Path) -> FalseAlarmReport:
    """Warnings with no truth row for their household and indicator, split into those an income rule
    raised on a household whose observed coverage is ``partial`` in some month of the rule's window
    (the flood the coverage rule is to fix) and all the others."""
    load_truth(con, truth)
    con.execute("create or replace temp table truth_income as select household_id, period, observed_coverage "
                "from read_parquet(?)", [str(truth_income)])
    windows = ", ".join(f"('{k}', {v})" for k, v in INCOME_RULE_WINDOWS.items())
    rows = con.execute(
        f"""
        with win(indicator_code, months) as (values {windows}),
        fa as (
            select w.indicator_code, w.household_id, w.period, w.explanation,
                   coalesce(json_extract_string(w.evidence, '$.rule_b'), 'false') = 'true' as rule_b
            from mart.warnings w
            where not exists (select 1 from truth t where t.household_id = w.household_id
                                and t.indicator_code = w.indicator_code))
        select fa.indicator_code, fa.household_id, fa.period, fa.explanation,
               win.months is not null and not (fa.indicator_code = 'EXP_MED' and fa.rule_b) and exists (
                   select 1 from truth_income ti
                   where ti.household_id = fa.household_id and ti.observed_coverage = 'partial'
                     and date_diff('month', strptime(ti.period || '-01', '%Y-%m-%d'),
                                   strptime(fa.period || '-01', '%Y-%m-%d')) between 0 and win.months
               ) as on_partial
        from fa left join win using (indicator_code)
        order by 1, 2, 3
        """
    ).fetchall()
    total = con.execute("select count(*) from mart.warnings").fetchone()[0]
    on_partial: dict[str, int] = {}
    real = []
    for code, hh, period, text, partial in rows:
        if partial:
            on_partial[code] = on_partial.get(code, 0) + 1
        else:
            real.append((code, hh, period, text))
    return FalseAlarmReport(real=real, on_partial=on_partial, warnings=total)


# Income rules scored against true income: rule -> (window of months M-k..M, categories the rule leaves out, roster families only/none/all)
INCOME_RULES = {
    "ELIG_DIBAO": (2, ("dibao", "tekun"), "all"),
    "ELIG_EDGE": (2, (), "off_roster"),
    "EXP_HARDSHIP": (11, ("dibao", "tekun", "expense_hardship"), "all"),
}


def income_rule_report(con, truth_income: Path, indicators: list[str] | None = None) -> list[dict]:
    """Alert load (warnings per 1,000 household-months) on partial and full households and precision
    against TRUE income (the generator's truth_income) of the income rules; see
    scripts/income_rule_precision.py for the definitions."""
    indicators = list(indicators or INCOME_RULES)
    from pipelines.rules import load_rules

    rules = load_rules()
    con.execute("create or replace temp table ti as select household_id, period, size,"
                " true_income_yuan::double as true_income, observed_coverage from read_parquet(?)",
                [str(truth_income)])
    cities = [r[0] for r in con.execute("select distinct city_code from core.household_month").fetchall()]
    con.execute("create or replace temp table edge(city_code varchar, mult double)")
    con.executemany("insert into edge values (?, ?)", [(c, rules.edge_multiplier_for(c)) for c in cities])
    out = []
    for code in indicators:
        k, excluded, who = INCOME_RULES[code]
        excl = ", ".join(f"'{c}'" for c in excluded)
        eligible = f"coalesce(m.category, '') not in ({excl})" if excluded else "true"
        rows = con.execute(
            f"""
            with hm as (
                select h.household_id, h.period, h.month_idx, h.size as core_size, h.dibao_std_yuan::double as std,
                       h.category, h.on_roster, coalesce(e.mult, {rules.edge_multiplier}) as mult,
                       coalesce(h.oop_yuan, 0)::double + coalesce(h.edu_cost_yuan, 0)::double
                         + coalesce(h.disaster_loss_yuan, 0)::double as costs,
                       ti.true_income, ti.size, ti.observed_coverage
                from core.household_month h
                left join ti using (household_id, period)
                left join edge e using (city_code)),
            evaluated as (select distinct period from mart.indicator_runs where indicator_code = '{code}'),
            cand as (
                select m.household_id, m.period, m.std, m.mult,
                       {eligible} as eligible, m.on_roster,
                       (select bool_or(w.observed_coverage = 'partial') from hm w
                         where w.household_id = m.household_id and w.month_idx between m.month_idx - {k}
                           and m.month_idx) as partial,
                       (select avg(w.true_income / w.size) from hm w
                         where w.household_id = m.household_id and w.month_idx between m.month_idx - {k}
                           and m.month_idx and w.size > 0) as true_pc,
                       (select avg((w.true_income - w.costs) / w.size) from hm w
                         where w.household_id = m.household_id and w.month_idx between m.month_idx - {k}
                           and m.month_idx and w.size > 0) as net_pc,
                       (select count(*) from hm w where w.household_id = m.household_id
                          and w.month_idx between m.month_idx - {k} and m.month_idx and w.true_income is null)
                         as untracked
                from hm m join evaluated using (period)),
            warned as (select distinct household_id, period from mart.warnings where indicator_code = '{code}')
            select c.partial, w.household_id is not null as warned,
                   case '{code}' when 'ELIG_DIBAO' then c.true_pc < c.std
                                 when 'ELIG_EDGE' then c.true_pc < c.mult * c.std
                                 else c.net_pc < c.std end as below,
                   c.eligible and ('{who}' = 'all' or not c.on_roster) as can_warn,
                   count(*)
            from cand c left join warned w using (household_id, period)
            where c.untracked = 0
            group by all
            """
        ).fetchall()
        untracked = con.execute(
            f"""select count(*) from mart.warnings w where indicator_code = '{code}' and not exists (
                    select 1 from ti where ti.household_id = w.household_id and ti.period = w.period)""").fetchone()[0]
        for cls in (True, False):
            sel = [r for r in rows if bool(r[0]) == cls]
            hm_n = sum(r[4] for r in sel)
            warned = sum(r[4] for r in sel if r[1])
            correct = sum(r[4] for r in sel if r[1] and r[2])
            below = sum(r[4] for r in sel if r[2] and r[3])
            found = sum(r[4] for r in sel if r[2] and r[3] and r[1])
            out.append({"indicator": code, "coverage": "partial" if cls else "full", "household_months": hm_n,
                        "warnings": warned, "per_1000": 1000.0 * warned / hm_n if hm_n else 0.0,
                        "correct": correct, "precision": correct / warned if warned else None,
                        "truly_below": below, "found": found, "untracked_warnings": untracked})
    return out


def render_income_rules(results: list[dict], meta: dict) -> str:
    lines = [f"Income rules against true income — {meta['households']:,} roster families, {meta['months']} months, "
             f"seed {meta['seed']}; {meta['household_months']:,} household-months evaluated "
             f"({meta['partial_share']:.0%} partial).", "",
             "| indicator | coverage | household-months | warnings | per 1,000 hh-months | correct (true income) "
             "| precision | truly below | found |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        prec = f"{r['precision']:.0%}" if r["precision"] is not None else "–"
        lines.append(f"| {r['indicator']} | {r['coverage']} | {r['household_months']:,} | {r['warnings']:,} | "
                     f"{r['per_1000']:.1f} | {r['correct']:,} | {prec} | {r['truly_below']:,} | {r['found']:,} |")
    by_ind = {}
    for r in results:
        a = by_ind.setdefault(r["indicator"], [0, 0, 0])
        a[0] += r["warnings"]
        a[1] += r["correct"]
        a[2] += r["household_months"]
    lines.append("")
    for code, (w, c, n) in by_ind.items():
        lines.append(f"{code}: {w:,} warnings, {1000.0 * w / n if n else 0:.1f} per 1,000 household-months, "
                     f"precision {c / w if w else float('nan'):.0%} against true income")
    return "\n".join(lines)
