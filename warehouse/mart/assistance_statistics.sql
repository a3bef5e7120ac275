-- mart.assistance_statistics: 民政统计 — the assistance chain summed per data month and kind (and all
-- kinds), by county, rolled up to city and province: households that received it, payments (months or
-- times, mart.assistance_kinds.counts) and yuan. Sums of core.assistance_county_month cells (a
-- household is in one county a month), so every level adds up exactly.
create or replace view mart.assistance_statistics as
with cells as (
    select * from core.assistance_county_month
),
rolled as (
    select
        period,
        case when grouping(county_code) = 0 then 'county' when grouping(city_code) = 0 then 'city'
             else 'province' end as level,
        province_code, city_code, county_code, kind,
        sum(households) as households,
        sum(payments) as payments,
        sum(amount_yuan) as amount_yuan
    from cells
    group by period, kind, rollup(province_code, city_code, county_code)
    having grouping(province_code) = 0
)
select
    period, level,
    case level when 'county' then county_code when 'city' then city_code else province_code end as region_code,
    province_code, city_code, county_code, kind,
    cast(households as bigint) as households,
    cast(payments as bigint) as payments,
    cast(amount_yuan as decimal(18,2)) as amount_yuan
from rolled;
comment on view mart.assistance_statistics is '民政统计 assistance received per data month and kind (or all kinds), by county, city and province (level): households, payments (months or times) and yuan; sums of core.assistance_county_month, so every level adds up exactly.';
comment on column mart.assistance_statistics.period is 'Data month YYYY-MM.';
comment on column mart.assistance_statistics.level is 'county, city or province.';
comment on column mart.assistance_statistics.region_code is 'County (6 digits), city (4) or province (2) code of the row.';
comment on column mart.assistance_statistics.province_code is '2-digit province.';
comment on column mart.assistance_statistics.city_code is '4-digit city; null on province rows.';
comment on column mart.assistance_statistics.county_code is '6-digit county; null on city and province rows.';
comment on column mart.assistance_statistics.kind is 'Kind of assistance (mart.assistance_kinds) or all.';
comment on column mart.assistance_statistics.households is '户数: households that received it (for all: that received any kind).';
comment on column mart.assistance_statistics.payments is '次数/月数: months paid or times (mart.assistance_kinds.counts); summed over kinds for all.';
comment on column mart.assistance_statistics.amount_yuan is '金额: yuan received.';
