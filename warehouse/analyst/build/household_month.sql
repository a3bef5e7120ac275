-- The rows of household_month for the data months $periods (VARCHAR[]): household and head keys
-- instead of family_id / hukou_no / 身份证号. temp.analyst_household_keys and
-- temp.analyst_person_keys are the build's key mappings (raw id -> pseudonym), made in Python.
with households as (
    select * from core.household_month where period in (select unnest($periods))
),
keyed as (
    select h.*, hk.household_key, pk.person_key as head_person_key
    from households h
    left join temp.analyst_household_keys hk on hk.household_id = h.household_id
    left join temp.analyst_person_keys pk on pk.person_id = h.head_person_id
)
select
    period,
    household_key,
    on_roster,
    category,
    county_code,
    city_code,
    urban_rural,
    size,
    head_person_key,
    income_yuan,
    income_known,
    oop_yuan,
    edu_cost_yuan,
    dibao_std_yuan,
    tekun_std_yuan
from keyed
