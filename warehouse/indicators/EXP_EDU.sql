-- EXP_EDU 教育支出骤增 for term-start month $period (spring YYYY-03, autumn YYYY-09).
-- cost = sum over members of greatest(0, tuition + boarding - aid) >= $min_cost_yuan, and either
--  (a) a member starts a costly stage (in $costly_stages and not at that stage, or absent, in the
--      previous term's delivery) and cost >= $start_income_multiple x mean known monthly income of M-6..M-1
--  (b) cost >= $income_share x income of M-6..M-1: the mean of the known months x the number of
--      months of M-6..M-1 the HRSS feed has reached (loaded or rejected), so a rejected month is
--      not read as zero income and the first months of the data are not over-counted.
-- Needs >= $min_income_months known income months in M-6..M-1. Known income (principle 5): the
-- household's coverage of M is not partial, and only months of accepted coverage (verified / surveyed /
-- full) count, with the income the rules use (rule_income_yuan). On partial coverage it does not fire.
with students as (
    select * from core.student_term where period = $period and household_id is not null
),
starts as (
    select *,
           list_contains($costly_stages, stage)
             and previous_term_known
             and (previous_stage is null or previous_stage <> stage) as starts_costly_stage
    from students
),
costs as (
    select
        household_id,
        sum(cost_yuan) as cost_yuan,
        sum(tuition_yuan) as tuition_yuan, sum(boarding_yuan) as boarding_yuan, sum(aid_yuan) as aid_yuan,
        bool_or(starts_costly_stage) as starts_costly_stage,
        arg_max(person_id, (starts_costly_stage, cost_yuan)) as key_person_id,
        arg_max(stage, (starts_costly_stage, cost_yuan)) as key_stage,
        arg_max(previous_stage, (starts_costly_stage, cost_yuan)) as key_previous_stage,
        list(struct_pack(person_id := person_id, stage := stage, previous_stage := previous_stage,
                         cost_yuan := cost_yuan) order by person_id) as students,
        any_value(term) as term
    from starts
    group by household_id
    having sum(cost_yuan) >= $min_cost_yuan
),
data_months as (
    -- months of M-6..M-1 the HRSS feed has reached (a delivery arrived, loaded or rejected)
    select count(*) as months from core.feed_month
    where feed_id = 'hrss_employment' and status in ('loaded', 'rejected')
      and period >= strftime(cast($period_start as date) - to_months($income_months), '%Y-%m')
      and period < $period
),
income as (
    select c.household_id, count(*) as income_months, avg(hm.rule_income_yuan) as mean_income_yuan,
           sum(hm.rule_income_yuan) as known_income_yuan,
           avg(hm.rule_income_yuan) * greatest(count(*), (select months from data_months)) as window_income_yuan
    from costs c
    join core.household_month hm
      on hm.household_id = c.household_id
     and hm.month_idx between $month_idx - $income_months and $month_idx - 1
     and hm.income_coverage <> 'partial' and hm.rule_income_yuan is not null
    group by c.household_id
),
fired as (
    select h.*, c.*, i.income_months, i.mean_income_yuan, i.known_income_yuan, i.window_income_yuan,
           c.starts_costly_stage and c.cost_yuan >= $start_income_multiple * i.mean_income_yuan as rule_a,
           c.cost_yuan >= $income_share * i.window_income_yuan as rule_b
    from costs c
    join income i using (household_id)
    join core.household_month h on h.period = $period and h.household_id = c.household_id
    where i.income_months >= $min_income_months and h.income_coverage <> 'partial'
),
named as (
    select f.*, k.name as key_name, k.relation as key_relation, hd.name as head_name
    from fired f
    left join core.person_month k on k.period = $period and k.household_id = f.household_id and k.person_id = f.key_person_id
    left join core.person_month hd on hd.period = $period and hd.household_id = f.household_id and hd.person_id = f.head_person_id
    where f.rule_a or f.rule_b
)
select
    'EXP_EDU' as indicator_code,
    $sev_default as severity,
    $period as period,
    household_id, family_id, hukou_no,
    key_person_id as person_id,
    county_code,
    $departments as departments,
    json_object(
        'term', term, 'cost_yuan', cost_yuan, 'tuition_yuan', tuition_yuan, 'boarding_yuan', boarding_yuan,
        'aid_yuan', aid_yuan, 'students', students,
        'rule_a_new_costly_stage', rule_a, 'rule_b_income_share', rule_b,
        'mean_monthly_income_yuan', round(mean_income_yuan, 2), 'income_months', income_months,
        'window_income_yuan', round(window_income_yuan, 2), 'known_income_yuan', known_income_yuan,
        'size', size, 'income_coverage', income_coverage,
        'record_ids', json_object('student_person_ids', list_transform(students, s -> s.person_id))
    ) as evidence,
    case when rule_a
         then zh_person(key_relation, key_name, hukou_no) || ' ' || zh_month($period) || '起就读' || zh_stage(key_stage)
              || case when key_previous_stage is null then '（新入学）' else '（由' || zh_stage(key_previous_stage) || '升入）' end
              || '，'
         else zh_household(head_name, hukou_no) || ' ' || zh_month($period) || '开学，' end
      || '本学期学费住宿费扣除资助后共 ' || zh_yuan(cost_yuan) || ' 元，'
      || case when rule_a
              then '相当于家庭月均收入 ' || zh_yuan(mean_income_yuan) || ' 元的 '
                   || case when mean_income_yuan > 0 then zh_times(cost_yuan / mean_income_yuan) || ' 倍' else '数倍（家庭无收入记录）' end
              else '占开学前' || $income_months || '个月家庭收入 ' || zh_yuan(window_income_yuan) || ' 元的 '
                   || case when window_income_yuan > 0 then zh_pct(cost_yuan / window_income_yuan) else '全部' end end
        as explanation
from named
