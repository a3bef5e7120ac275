-- core.assistance_month for data month $period: every assistance the household's members received
-- in the month, as the feeds show it. Kind codes: models/departments.toml [assistance.*].
with persons as (
    select person_id, household_id, on_roster, category, monthly_benefit_yuan
    from core.person_month where period = $period
),
roster_rows as (
    select * from staging.mca_roster where period = $period and person_id is not null
),
roster_benefit as (
    -- the roster rows of the month: the family's benefit is the sum of its members' rows
    select household_id,
           case category when 'dibao' then 'dibao' when 'tekun' then 'tekun' else 'roster_other' end as kind,
           'MCA' as department, 'mca_roster' as feed_id,
           1 as payments,
           sum(monthly_benefit_yuan) as amount_yuan,
           count(*) filter (where monthly_benefit_yuan > 0) as persons,
           cast(null as varchar[]) as source_ids,
           (select list(distinct delivery_id order by delivery_id) from roster_rows) as delivery_ids
    from persons
    where on_roster
    group by all
    having sum(monthly_benefit_yuan) > 0
),
claims as (
    select * from staging.nhsa_claims
),
reversed as (
    select distinct reversal_of as settle_id from claims where reversal_of is not null
),
month_claims as (
    -- settled in the month (a settlement dated M may come in the M+1 delivery); one row per settlement
    select * from claims
    where settle_date between cast($period || '-01' as date) and last_day(cast($period || '-01' as date))
    qualify row_number() over (partition by settle_id order by period desc, _row desc) = 1
),
medical_aid as (
    select p.household_id, 'medical_aid' as kind, 'NHSA' as department, 'nhsa_claims' as feed_id,
           count(*) filter (where c.reversal_of is null and c.medical_aid_yuan > 0
                            and c.settle_id not in (select settle_id from reversed)) as payments,
           sum(c.medical_aid_yuan) as amount_yuan,
           count(distinct p.person_id) filter (where c.medical_aid_yuan <> 0) as persons,
           list(c.settle_id order by c.settle_id) filter (where c.medical_aid_yuan <> 0) as source_ids,
           list(distinct c.delivery_id order by c.delivery_id) as delivery_ids
    from month_claims c
    join persons p using (person_id)
    where coalesce(c.medical_aid_yuan, 0) <> 0
    group by p.household_id
),
education_aid as (
    -- the term's aid, in the term's first month (core.student_term.period); a mid-term delivery
    -- replaces the start-of-term figures of that month
    select household_id, 'education_aid' as kind, 'MOE' as department, 'moe_students' as feed_id,
           count(*) as payments,
           sum(aid_yuan) as amount_yuan,
           count(distinct person_id) as persons,
           list(distinct term order by term) as source_ids,
           list(distinct delivery_id order by delivery_id) as delivery_ids
    from core.student_term
    where period = $period and household_id is not null and aid_yuan > 0
    group by household_id
),
emergency_aid as (
    -- the disaster records in force that count for the month (occurred_on month from daily deliveries)
    select p.household_id, 'emergency_aid' as kind, 'MEM' as department, 'mem_disaster' as feed_id,
           count(*) as payments,
           sum(d.emergency_aid_yuan) as amount_yuan,
           count(distinct p.person_id) as persons,
           list(distinct d.disaster_id order by d.disaster_id) as source_ids,
           list(distinct d.delivery_id order by d.delivery_id) as delivery_ids
    from staging.mem_disaster_current d
    join persons p using (person_id)
    where d.period = $period and d.emergency_aid_yuan > 0
    group by p.household_id
),
unemployment as (
    select p.household_id, 'unemployment_benefit' as kind, 'HRSS' as department, 'hrss_employment' as feed_id,
           1 as payments,
           sum(i.unemployment_benefit_yuan) as amount_yuan,
           count(*) as persons,
           cast(null as varchar[]) as source_ids,
           list(distinct i.delivery_id order by i.delivery_id) as delivery_ids
    from core.person_income_month i
    join persons p using (person_id)
    where i.period = $period and i.unemployment_benefit_yuan > 0
    group by p.household_id
),
every_kind as (
    select * from roster_benefit
    union all by name select * from medical_aid
    union all by name select * from education_aid
    union all by name select * from emergency_aid
    union all by name select * from unemployment
)
select
    $period as period,
    household_id,
    kind,
    department,
    feed_id,
    cast(payments as integer) as payments,
    cast(amount_yuan as decimal(18,2)) as amount_yuan,
    cast(persons as integer) as persons,
    source_ids,
    delivery_ids
from every_kind
