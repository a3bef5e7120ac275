-- core.month_calendar: every data month the warehouse knows (full rebuild; a few dozen rows).
with completeness as (
    select period from ops.completeness
),
roster as (
    select distinct period from staging.mca_roster
),
members as (
    select distinct period from staging.mps_hukou_members
),
hrss as (
    select distinct period from staging.hrss_employment
),
periods as (
    select period from completeness
    union select period from roster
    union select period from members
    union select period from hrss
),
valid as (
    select distinct period, cast(period || '-01' as date) as month_start
    from periods
    where regexp_full_match(period, '\d{4}-(0[1-9]|1[0-2])')
)
select
    period,
    cast(year(month_start) * 12 + month(month_start) - 1 as integer) as month_idx,
    month_start,
    last_day(month_start) as month_end,
    cast(year(month_start) as integer) as year,
    cast(month(month_start) as integer) as month
from valid
order by period
