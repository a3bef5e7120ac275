-- AID_EDU 应享未享-教育资助 for term-start month $period, on the term's mid-term delivery (the gate
-- requires the pseudo-feed moe_students_midterm: the loaded delivery of the term is the one made about
-- 60 days in, once the term's aid has been granted). A student of a household whose roster category is
-- in $categories, at a stage in $stages or boarding (boarding_yuan > 0) at any stage, with aid_yuan = 0
-- in that delivery. One warning per household; MOE.
with students as (
    select * from staging.moe_students
    where period = $period and person_id is not null
    qualify row_number() over (partition by person_id order by _row) = 1
),
members as (
    select p.person_id, p.household_id, p.name, p.relation, h.category, h.family_id, h.hukou_no, h.county_code
    from core.person_month p
    join core.household_month h on h.period = p.period and h.household_id = p.household_id
    where p.period = $period and list_contains($categories, h.category)
),
entitled as (
    select s.*, m.household_id, m.name, m.relation, m.category,
           list_contains($stages, s.stage) as non_compulsory,
           coalesce(s.boarding_yuan, 0) > 0 as boarding
    from students s
    join members m using (person_id)
    where (list_contains($stages, s.stage) or coalesce(s.boarding_yuan, 0) > 0)
      and s.aid_yuan = 0
),
per_household as (
    select household_id,
           any_value(category) as category,
           count(*) as students,
           arg_min(person_id, (not non_compulsory, person_id)) as key_person_id,
           arg_min(name, (not non_compulsory, person_id)) as key_name,
           arg_min(relation, (not non_compulsory, person_id)) as key_relation,
           arg_min(stage, (not non_compulsory, person_id)) as key_stage,
           arg_min(boarding, (not non_compulsory, person_id)) as key_boarding,
           sum(coalesce(tuition_yuan, 0) + coalesce(boarding_yuan, 0)) as fees_yuan,
           any_value(term) as term,
           any_value(delivery_id) as delivery_id,
           list(struct_pack(person_id := person_id, stage := stage, tuition_yuan := tuition_yuan,
                            boarding_yuan := boarding_yuan, aid_yuan := aid_yuan) order by person_id) as detail
    from entitled
    group by household_id
)
select
    'AID_EDU' as indicator_code,
    $sev_default as severity,
    $period as period,
    h.household_id, h.family_id, h.hukou_no,
    d.key_person_id as person_id,
    h.county_code,
    $departments as departments,
    json_object(
        'term', d.term, 'category', d.category, 'students', d.students, 'fees_yuan', d.fees_yuan,
        'detail', d.detail, 'midterm_delivery_id', d.delivery_id,
        'record_ids', json_object('person_ids', list_transform(d.detail, x -> x.person_id))
    ) as evidence,
    zh_person(d.key_relation, d.key_name, h.hukou_no) || '（' || zh_category(d.category) || '家庭）'
      || coalesce(left(d.term, 4) || case right(d.term, 1) when '1' then '年春季' else '年秋季' end, zh_month($period) || '起的')
      || '学期就读' || zh_stage(d.key_stage)
      || case when d.key_boarding then '（寄宿）' else '' end
      || case when d.students > 1 then '等 ' || d.students || ' 名学生' else '' end
      || '，学期中期资助名单显示本学期资助为 0（学费住宿费 ' || zh_yuan(d.fees_yuan) || ' 元），请核实是否应享未享学生资助'
        as explanation
from per_household d
join core.household_month h on h.period = $period and h.household_id = d.household_id
