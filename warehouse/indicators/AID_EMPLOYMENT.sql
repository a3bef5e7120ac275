-- AID_EMPLOYMENT 就业援助 for data month $period: a member of a roster family, on the roster snapshot
-- of M, aged $min_age..$max_age at the end of M, registered unemployed (hrss_employment status
-- unemployed_registered) in each of the $months months M-$months+1..M. One warning per household; HRSS.
with members as (
    select p.person_id, p.household_id, p.name, p.relation, p.birth_date,
           date_sub('year', p.birth_date, cast($period_end as date)) as age
    from core.person_month p
    where p.period = $period and p.on_roster
),
window_months as (
    select period from core.month_calendar where month_idx between $month_idx - ($months - 1) and $month_idx
),
unemployed as (
    select i.person_id, count(distinct i.period) as months,
           sum(coalesce(i.unemployment_benefit_yuan, 0)) as benefit_yuan
    from core.person_income_month i
    join members m using (person_id)
    where i.period in (select period from window_months) and i.employment_status = 'unemployed_registered'
    group by i.person_id
),
fired as (
    select m.*, u.months, u.benefit_yuan
    from members m
    join unemployed u using (person_id)
    where u.months = $months and m.age between $min_age and $max_age
),
per_household as (
    select household_id, count(*) as persons,
           arg_min(person_id, (age, person_id)) as key_person_id,
           arg_min(name, (age, person_id)) as key_name,
           arg_min(relation, (age, person_id)) as key_relation,
           arg_min(age, (age, person_id)) as key_age,
           sum(benefit_yuan) as benefit_yuan,
           list(struct_pack(person_id := person_id, age := age) order by person_id) as detail
    from fired
    group by household_id
)
select
    'AID_EMPLOYMENT' as indicator_code,
    $sev_default as severity,
    $period as period,
    h.household_id, h.family_id, h.hukou_no,
    d.key_person_id as person_id,
    h.county_code,
    $departments as departments,
    json_object(
        'persons', d.persons, 'months', $months, 'category', h.category, 'benefit_yuan', d.benefit_yuan,
        'window', [strftime(cast($period_start as date) - to_months($months - 1), '%Y-%m'), $period],
        'detail', d.detail,
        'record_ids', json_object('person_ids', list_transform(d.detail, x -> x.person_id))
    ) as evidence,
    zh_person(d.key_relation, d.key_name, h.hukou_no) || '（' || d.key_age || '岁，' || zh_category(h.category) || '家庭）'
      || case when d.persons > 1 then '等 ' || d.persons || ' 人' else '' end
      || '自' || zh_month(strftime(cast($period_start as date) - to_months($months - 1), '%Y-%m'))
      || '起连续' || $months || '个月失业登记'
      || case when d.benefit_yuan > 0 then '（期间领取失业保险金 ' || zh_yuan(d.benefit_yuan) || ' 元）' else '' end
      || '，请人社部门提供就业援助（岗位推荐、技能培训、公益性岗位）'
        as explanation
from per_household d
join core.household_month h on h.period = $period and h.household_id = d.household_id
