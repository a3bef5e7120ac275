-- 预警按指标×县×月 Warnings by indicator, county and data month.
create or replace view warnings_by_indicator_county_month as
with w as (
    select * from warnings
),
counted as (
    select
        period,
        indicator_code,
        county_code,
        count(*) as warnings,
        count(distinct household_key) as households,
        count(*) filter (where severity = 'urgent') as urgent,
        count(*) filter (where severity = 'high') as high,
        count(*) filter (where severity = 'medium') as medium,
        count(*) filter (where severity = 'low') as low
    from w
    group by all
),
counties as (
    select level_code as county_code, region_name as county_name from regions where level = 'county'
)
select
    c.period,
    c.indicator_code,
    i.name_zh as indicator_name,
    c.county_code,
    n.county_name,
    c.warnings,
    c.households,
    c.urgent,
    c.high,
    c.medium,
    c.low
from counted c
left join indicators i using (indicator_code)
left join counties n using (county_code)
order by c.period, c.indicator_code, c.county_code;

comment on view warnings_by_indicator_county_month is '预警按指标×县×月 Warnings per indicator, county and data month, with counts by severity.';
comment on column warnings_by_indicator_county_month.period is '数据月份 Data month YYYY-MM';
comment on column warnings_by_indicator_county_month.indicator_code is '指标代码 Indicator code';
comment on column warnings_by_indicator_county_month.indicator_name is '指标名称 Indicator name (Chinese)';
comment on column warnings_by_indicator_county_month.county_code is '县级区划代码 County code';
comment on column warnings_by_indicator_county_month.county_name is '县名 County name, when ref_regions has it';
comment on column warnings_by_indicator_county_month.warnings is '预警数 Warnings';
comment on column warnings_by_indicator_county_month.households is '涉及家庭数 Distinct households warned';
comment on column warnings_by_indicator_county_month.urgent is '紧急 Warnings with severity urgent';
comment on column warnings_by_indicator_county_month.high is '高 Warnings with severity high';
comment on column warnings_by_indicator_county_month.medium is '中 Warnings with severity medium';
comment on column warnings_by_indicator_county_month.low is '低 Warnings with severity low';
