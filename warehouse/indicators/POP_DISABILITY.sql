-- POP_DISABILITY 人口变化-重度残疾 for data month $period: a member's FIRST valid certificate of grade
-- <= $max_grade (一级/二级) issued in M, in the disability snapshot of M. A renewal or re-issue is not
-- new: a person an earlier snapshot already lists with a grade <= $max_grade certificate (valid or
-- cancelled) issued before M is left out. CDPF; + MCA when the family is 低保边缘 (a severely
-- disabled member may be enrolled in 低保 alone).
with certificates as (
    select * from staging.cdpf_disability
    where period = $period and cert_status = 'valid' and disability_grade <= $max_grade
      and issued_on between $period_start and $period_end and person_id is not null
    qualify row_number() over (partition by person_id order by disability_grade, issued_on desc, _row) = 1
),
held_before as (
    -- the person already held a severe certificate: an earlier snapshot lists one issued before M
    select distinct s.person_id
    from staging.cdpf_disability s
    join certificates c using (person_id)
    where s.period < $period and s.disability_grade <= $max_grade and s.issued_on < $period_start
),
matched as (
    select c.*, p.household_id, p.name, p.relation
    from certificates c
    join core.person_month p on p.period = $period and p.person_id = c.person_id
    where c.person_id not in (select person_id from held_before)
),
per_household as (
    select household_id,
           arg_min(person_id, (disability_grade, person_id)) as key_person_id,
           arg_min(name, (disability_grade, person_id)) as key_name,
           arg_min(relation, (disability_grade, person_id)) as key_relation,
           arg_min(disability_type, (disability_grade, person_id)) as disability_type,
           min(disability_grade) as disability_grade,
           arg_min(issued_on, (disability_grade, person_id)) as issued_on,
           count(*) as persons,
           list(person_id order by person_id) as person_ids
    from matched
    group by household_id
)
select
    'POP_DISABILITY' as indicator_code,
    $sev_default as severity,
    $period as period,
    h.household_id, h.family_id, h.hukou_no,
    d.key_person_id as person_id,
    h.county_code,
    case when h.category = 'edge' then list_concat($departments, $route_edge_family) else $departments end
        as departments,
    json_object(
        'disability_grade', d.disability_grade, 'disability_type', d.disability_type, 'issued_on', d.issued_on,
        'persons', d.persons, 'category', h.category, 'first_certificate', true,
        'edge_family', coalesce(h.category = 'edge', false),
        'record_ids', json_object('person_ids', d.person_ids)
    ) as evidence,
    zh_person(d.key_relation, d.key_name, h.hukou_no) || ' ' || zh_date(d.issued_on) || '首次取得' || zh_disability(d.disability_type)
      || zh_grade(d.disability_grade) || '残疾证（重度残疾），可能符合困难残疾人生活补贴和重度残疾人护理补贴条件'
      || case when h.category = 'edge' then '；家庭为低保边缘家庭，请民政部门评估重残人员单独纳入低保' else '' end
        as explanation
from per_household d
join core.household_month h on h.period = $period and h.household_id = d.household_id
