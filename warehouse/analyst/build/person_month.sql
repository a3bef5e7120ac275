-- The rows of person_month for the data months $periods (VARCHAR[]): persons by data month with
-- keys instead of 身份证号 / family_id / hukou_no, the age at the month's end instead of the birth
-- date, the town (9 digits) instead of the village code. temp.analyst_person_keys and
-- temp.analyst_household_keys are the build's key mappings (raw id -> pseudonym), made in Python.
with persons as (
    select * from core.person_month where period in (select unnest($periods))
),
dated as (
    -- hukou members carry no birth date: fall back to the one inside the 身份证号 (digits 7-14)
    select
        *,
        last_day(cast(period || '-01' as date)) as month_end,
        coalesce(birth_date, cast(try_strptime(substr(person_id, 7, 8), '%Y%m%d') as date)) as born
    from persons
),
keyed as (
    select d.*, pk.person_key, hk.household_key
    from dated d
    left join temp.analyst_person_keys pk on pk.person_id = d.person_id
    left join temp.analyst_household_keys hk on hk.household_id = d.household_id
)
select
    period,
    person_key,
    household_key,
    on_roster,
    category,
    county_code,
    left(region_code, 9) as town_code,
    city_code,
    urban_rural,
    relation,
    case when born <= month_end then date_sub('year', born, month_end) end::integer as age
from keyed
