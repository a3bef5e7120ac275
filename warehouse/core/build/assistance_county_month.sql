-- core.assistance_county_month for data month $period: the month's assistance per county and kind,
-- and per county for all kinds together.
with chain as (
    select household_id, kind, payments, amount_yuan from core.assistance_month where period = $period
),
households as (
    select household_id, county_code, city_code from core.household_month where period = $period
),
located as (
    select c.*, coalesce(h.county_code, '000000') as county_code, coalesce(h.city_code, '0000') as city_code
    from chain c
    left join households h using (household_id)
),
per_kind as (
    select county_code, city_code, kind, count(distinct household_id) as households, sum(payments) as payments,
           sum(amount_yuan) as amount_yuan
    from located group by county_code, city_code, kind
),
every_kind as (
    select county_code, city_code, 'all' as kind, count(distinct household_id) as households,
           sum(payments) as payments, sum(amount_yuan) as amount_yuan
    from located group by county_code, city_code
),
cells as (
    select * from per_kind
    union all
    select * from every_kind
)
select
    $period as period,
    county_code,
    city_code,
    left(county_code, 2) as province_code,
    kind,
    households,
    cast(payments as bigint) as payments,
    cast(amount_yuan as decimal(18,2)) as amount_yuan
from cells
