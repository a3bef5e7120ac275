-- 核实属实率 Confirmation rate per indicator and county: of the cases a department has
-- answered, the share verified as real (verified or assisted) rather than not_verified/ineligible.
create or replace view confirmation_rate as
with outcomes as (
    select
        case_key,
        bool_or(to_status in ('verified', 'assisted')) as ever_confirmed,
        bool_or(to_status in ('not_verified', 'ineligible')) as ever_rejected
    from case_events
    group by case_key
),
judged as (
    select
        c.indicator_code,
        c.county_code,
        coalesce(o.ever_confirmed, false) or c.status in ('verified', 'assisted') as confirmed,
        coalesce(o.ever_rejected, false) or c.status in ('not_verified', 'ineligible') as rejected
    from cases c
    left join outcomes o using (case_key)
)
select
    j.indicator_code,
    i.name_zh as indicator_name,
    j.county_code,
    count(*) as cases,
    count(*) filter (where confirmed) as confirmed,
    count(*) filter (where rejected and not confirmed) as not_confirmed,
    count(*) filter (where not confirmed and not rejected) as pending,
    round(count(*) filter (where confirmed)
          / nullif(count(*) filter (where confirmed or rejected), 0), 4) as confirmation_rate
from judged j
left join indicators i using (indicator_code)
group by all
order by j.indicator_code, j.county_code;

comment on view confirmation_rate is '核实属实率 Per indicator and county: cases, confirmed, not confirmed, pending, and confirmed / (confirmed + not confirmed). Sum the counts to roll up.';
comment on column confirmation_rate.indicator_code is '指标代码 Indicator code';
comment on column confirmation_rate.indicator_name is '指标名称 Indicator name (Chinese)';
comment on column confirmation_rate.county_code is '县级区划代码 County code';
comment on column confirmation_rate.cases is '个案数 Cases opened';
comment on column confirmation_rate.confirmed is '属实 Cases ever verified or assisted';
comment on column confirmation_rate.not_confirmed is '不属实 Cases answered not_verified or ineligible (and never verified)';
comment on column confirmation_rate.pending is '待核实 Cases without a verification answer yet';
comment on column confirmation_rate.confirmation_rate is '属实率 confirmed / (confirmed + not_confirmed); null until a case is answered';
