-- mart.roster_statistics: 民政统计 — roster households, persons and benefit paid per data month, by
-- category x urban/rural x county, rolled up to city and province (and to all categories and both
-- areas at every level). Every figure is a sum of core.roster_month cells, so the counties of a city
-- add up exactly to the city, the cities to the province, the categories to 'all'.
create or replace view mart.roster_statistics as
with cells as (
    select * from core.roster_month
),
regions as (
    select region_code, name, level from staging.ref_regions_current
),
names as (
    select 'county' as level, left(region_code, 6) as code, min(name) as name from regions where level = 'county' group by 2
    union all
    select 'city', left(region_code, 4), min(name) from regions where level = 'city' group by 2
    union all
    select 'province', left(region_code, 2), min(name) from regions where level = 'province' group by 2
),
rolled as (
    select
        period,
        case when grouping(county_code) = 0 then 'county' when grouping(city_code) = 0 then 'city'
             else 'province' end as level,
        province_code, city_code, county_code,
        case when grouping(category) = 0 then category else 'all' end as category,
        case when grouping(urban_rural) = 0 then urban_rural else 'all' end as urban_rural,
        sum(households) as households,
        sum(persons) as persons,
        sum(benefit_yuan) as benefit_yuan
    from cells
    group by period, rollup(province_code, city_code, county_code), cube(category, urban_rural)
    having grouping(province_code) = 0
)
select
    r.period,
    r.level,
    case r.level when 'county' then r.county_code when 'city' then r.city_code else r.province_code end as region_code,
    n.name as region_name,
    r.province_code,
    r.city_code,
    r.county_code,
    r.category,
    r.urban_rural,
    cast(r.households as bigint) as households,
    cast(r.persons as bigint) as persons,
    cast(r.benefit_yuan as decimal(18,2)) as benefit_yuan
from rolled r
left join names n
    on n.level = r.level
   and n.code = case r.level when 'county' then r.county_code when 'city' then r.city_code else r.province_code end;
comment on view mart.roster_statistics is '民政统计 roster households, persons and benefit per data month by category x urban/rural x county, rolled up to city and province (level), with all-categories and both-areas rows (category / urban_rural = all) at every level; sums of core.roster_month, so every level adds up exactly.';
comment on column mart.roster_statistics.period is 'Data month YYYY-MM (the roster snapshot).';
comment on column mart.roster_statistics.level is 'county, city or province.';
comment on column mart.roster_statistics.region_code is 'County (6 digits), city (4) or province (2) code of the row.';
comment on column mart.roster_statistics.region_name is 'Region name (staging.ref_regions_current); null when the region list lacks it.';
comment on column mart.roster_statistics.province_code is '2-digit province.';
comment on column mart.roster_statistics.city_code is '4-digit city; null on province rows.';
comment on column mart.roster_statistics.county_code is '6-digit county; null on city and province rows.';
comment on column mart.roster_statistics.category is 'Roster category (dibao, tekun, edge, expense_hardship, relapse_watch, other) or all.';
comment on column mart.roster_statistics.urban_rural is 'urban, rural or all.';
comment on column mart.roster_statistics.households is '户数: roster families.';
comment on column mart.roster_statistics.persons is '人数: their members on the roster.';
comment on column mart.roster_statistics.benefit_yuan is '发放金额: benefit on the month''s roster rows, yuan.';
