-- mart.warning_statistics: 民政统计 — warnings and the cases they opened per data month, by indicator
-- and department, with indicator, department and month totals. A warning routed to two departments
-- counts once in each department's rows and once in the indicator and month rows (distinct counts).
create or replace view mart.warning_statistics as
with routed as (
    select w.period, w.indicator_code, w.warning_id,
           coalesce(w.household_id, w.family_id, 'H' || w.hukou_no) as household_id, w.case_id,
           unnest(case when len(w.departments) > 0 then w.departments else ['MCA'] end) as department
    from mart.warnings w
),
opened as (
    select case_id, opened_period from mart.cases
),
joined as (
    select r.*, o.case_id is not null as opens
    from routed r
    left join opened o on o.case_id = r.case_id and o.opened_period = r.period
)
select
    period,
    case when grouping(indicator_code) = 0 and grouping(department) = 0 then 'indicator_department'
         when grouping(indicator_code) = 0 then 'indicator'
         when grouping(department) = 0 then 'department'
         else 'total' end as level,
    case when grouping(indicator_code) = 0 then indicator_code else 'all' end as indicator_code,
    case when grouping(department) = 0 then department else 'all' end as department,
    count(distinct warning_id) as warnings,
    count(distinct household_id) as households,
    count(distinct case_id) filter (where opens) as cases_opened
from joined
group by grouping sets ((period, indicator_code, department), (period, indicator_code), (period, department), (period));
comment on view mart.warning_statistics is '民政统计 warnings and the cases they opened per data month by indicator x department, with per-indicator, per-department and month totals (level). Distinct counts: a warning routed to two departments counts in both department rows and once in the totals.';
comment on column mart.warning_statistics.period is 'Data month YYYY-MM of the warnings.';
comment on column mart.warning_statistics.level is 'indicator_department, indicator, department or total.';
comment on column mart.warning_statistics.indicator_code is 'Indicator code, or all.';
comment on column mart.warning_statistics.department is 'Department the warnings are routed to, or all.';
comment on column mart.warning_statistics.warnings is '预警数: warnings of the month.';
comment on column mart.warning_statistics.households is '涉及户数: distinct households warned.';
comment on column mart.warning_statistics.cases_opened is '立案数: cases a warning of the month opened (opened_period = period).';
