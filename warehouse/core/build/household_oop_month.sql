-- core.household_oop_month for settlement month $period: net out-of-pocket per household.
with claims as (
    select * from staging.nhsa_claims
),
reversed as (
    select distinct reversal_of as settle_id from claims where reversal_of is not null
),
month_claims as (
    select * from claims
    where settle_date between cast($period || '-01' as date) and last_day(cast($period || '-01' as date))
    -- a settlement delivered twice (two periods) counts once: the newest delivery's row
    qualify row_number() over (partition by settle_id order by period desc, _row desc) = 1
),
persons as (
    select person_id, household_id from core.person_month where period = $period
),
flagged as (
    select
        p.household_id,
        c.settle_id,
        c.oop_yuan,
        c.catastrophic,
        c.delivery_id,
        c.reversal_of is not null as is_reversal,
        c.reversal_of is null and c.settle_id not in (select settle_id from reversed) as is_live
    from month_claims c
    join persons p using (person_id)
)
select
    $period as period,
    household_id,
    sum(coalesce(oop_yuan, 0)) as oop_yuan,
    coalesce(sum(oop_yuan) filter (where not is_reversal), 0) as gross_oop_yuan,
    coalesce(sum(oop_yuan) filter (where is_reversal), 0) as reversal_oop_yuan,
    cast(count(*) as integer) as settlements,
    coalesce(bool_or(catastrophic) filter (where is_live), false) as catastrophic,
    coalesce(list(settle_id order by oop_yuan desc, settle_id) filter (where is_live), []) as settle_ids,
    coalesce(list(settle_id order by settle_id) filter (where is_reversal), []) as reversal_ids,
    list(distinct delivery_id order by delivery_id) as delivery_ids
from flagged
group by household_id
