-- core.roster_month for data month $period: roster families, roster persons and benefit per county,
-- category and urban/rural of the family.
with households as (
    select household_id, county_code, city_code, category, urban_rural
    from core.household_month
    where period = $period and on_roster
),
persons as (
    select household_id, monthly_benefit_yuan from core.person_month where period = $period and on_roster
),
per_household as (
    select h.household_id, h.county_code, h.city_code, h.category, h.urban_rural,
           count(p.household_id) as persons,
           coalesce(sum(p.monthly_benefit_yuan), 0) as benefit_yuan
    from households h
    left join persons p using (household_id)
    group by all
)
select
    $period as period,
    coalesce(county_code, '000000') as county_code,
    coalesce(city_code, '0000') as city_code,
    coalesce(left(county_code, 2), '00') as province_code,
    coalesce(category, 'unknown') as category,
    coalesce(urban_rural, 'unknown') as urban_rural,
    count(*) as households,
    sum(persons) as persons,
    cast(sum(benefit_yuan) as decimal(18,2)) as benefit_yuan
from per_household
group by all
