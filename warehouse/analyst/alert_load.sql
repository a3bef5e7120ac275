-- 预警负荷 Warnings per 1,000 monitored households, by county and data month.
create or replace view alert_load as
with monitored as (
    select period, county_code, count(*) as households,
           count(*) filter (where on_roster) as roster_households
    from household_month
    group by all
),
warned as (
    select period, county_code, count(*) as warnings, count(distinct household_key) as households_warned
    from warnings
    group by all
)
select
    m.period,
    m.county_code,
    m.households as monitored_households,
    m.roster_households,
    coalesce(w.warnings, 0) as warnings,
    coalesce(w.households_warned, 0) as households_warned,
    round(1000.0 * coalesce(w.warnings, 0) / nullif(m.households, 0), 2) as warnings_per_1000
from monitored m
left join warned w using (period, county_code)
order by m.period, m.county_code;

comment on view alert_load is '预警负荷 Alert load: warnings per 1,000 monitored households (roster and non-roster) by county and data month.';
comment on column alert_load.period is '数据月份 Data month YYYY-MM';
comment on column alert_load.county_code is '县级区划代码 County code';
comment on column alert_load.monitored_households is '监测家庭数 Households in household_month for that month and county';
comment on column alert_load.roster_households is '在册家庭数 Roster families among them';
comment on column alert_load.warnings is '预警数 Warnings raised for that month and county';
comment on column alert_load.households_warned is '预警家庭数 Distinct households warned';
comment on column alert_load.warnings_per_1000 is '每千户预警数 Warnings per 1,000 monitored households';
