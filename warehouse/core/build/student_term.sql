-- core.student_term for term-start month $period (students of the moe delivery of that period).
with students as (
    select * from staging.moe_students
    where period = $period and person_id is not null
    qualify row_number() over (partition by person_id order by _row desc) = 1
),
previous_period as (
    select strftime(cast($period || '-01' as date) - interval 6 month, '%Y-%m') as period
),
previous as (
    select person_id, stage from staging.moe_students
    where period = (select period from previous_period)
    qualify row_number() over (partition by person_id order by _row desc) = 1
),
previous_known as (
    select count(*) > 0 as known from staging.moe_students where period = (select period from previous_period)
),
persons as (
    select person_id, household_id from core.person_month where period = $period
    qualify row_number() over (partition by person_id order by household_id) = 1
)
select
    $period as period,
    s.term,
    s.person_id,
    p.household_id,
    s.stage,
    pr.stage as previous_stage,
    (select known from previous_known) as previous_term_known,
    s.tuition_yuan,
    s.boarding_yuan,
    s.aid_yuan,
    greatest(0, coalesce(s.tuition_yuan, 0) + coalesce(s.boarding_yuan, 0) - coalesce(s.aid_yuan, 0)) as cost_yuan,
    s.delivery_id
from students s
left join previous pr using (person_id)
left join persons p using (person_id)
