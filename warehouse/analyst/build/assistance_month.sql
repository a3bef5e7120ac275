-- The rows of assistance_month for the data months $periods (VARCHAR[]): the household key instead of
-- the household id; the record ids behind the amounts are left out.
with chain as (
    select * from core.assistance_month where period in (select unnest($periods))
),
keyed as (
    select c.*, hk.household_key
    from chain c
    left join temp.analyst_household_keys hk on hk.household_id = c.household_id
)
select
    period,
    household_key,
    kind,
    department,
    payments,
    amount_yuan,
    persons
from keyed
