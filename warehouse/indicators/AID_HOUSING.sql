-- AID_HOUSING 应享未享-危房改造 for data month $period: a housing snapshot delivered for M (months
-- without their own snapshot raise nothing) in which a member of a roster family whose category is in
-- $categories lives in a house rated in $levels (D high, C medium). Once per rating: the household's
-- worst rating of the snapshot is raised only if no earlier snapshot showed that rating for one of its
-- current members while that member's roster family was in $categories -- a rating already referred
-- (a case closed `assisted` means renovation is planned) is not referred again. MOHURD.
with snapshot as (
    select * from staging.mohurd_housing
    where period = $period and person_id is not null and list_contains($levels, upper(dilapidated_level))
),
current as (
    select s.person_id, upper(s.dilapidated_level) as level, s.as_of, s.delivery_id, s._row,
           p.household_id, p.name, p.relation, h.category
    from snapshot s
    join core.person_month p on p.period = $period and p.person_id = s.person_id
    join core.household_month h on h.period = $period and h.household_id = p.household_id
    where list_contains($categories, h.category)
),
worst as (
    select household_id,
           max(level) as level,   -- 'D' > 'C'
           arg_max(person_id, (level, person_id)) as key_person_id,
           arg_max(name, (level, person_id)) as key_name,
           arg_max(relation, (level, person_id)) as key_relation,
           any_value(category) as category,
           max(as_of) as as_of,
           any_value(delivery_id) as delivery_id,
           list_sort(list(distinct person_id)) as person_ids
    from current
    group by household_id
),
history as (
    -- earlier snapshots that showed the same rating for a current member of an eligible family
    select w.household_id, min(s.period) as first_period
    from worst w
    join current c on c.household_id = w.household_id
    join staging.mohurd_housing s on s.person_id = c.person_id and s.period < $period
                                 and upper(s.dilapidated_level) = w.level
    join core.person_month p on p.period = s.period and p.person_id = s.person_id
    join core.household_month h on h.period = p.period and h.household_id = p.household_id
    where list_contains($categories, h.category)
    group by w.household_id
)
select
    'AID_HOUSING' as indicator_code,
    case w.level when 'D' then $sev_level_d else $sev_level_c end as severity,
    $period as period,
    h.household_id, h.family_id, h.hukou_no,
    w.key_person_id as person_id,
    h.county_code,
    $departments as departments,
    json_object(
        'dilapidated_level', w.level, 'as_of', w.as_of, 'category', w.category, 'first_rating', true,
        'snapshot_delivery_id', w.delivery_id,
        'record_ids', json_object('person_ids', w.person_ids)
    ) as evidence,
    zh_household(case when w.key_relation = 'head' then w.key_name end, h.hukou_no) || '（' || zh_category(w.category) || '）'
      || case when w.key_relation = 'head' then '' else zh_person(w.key_relation, w.key_name, h.hukou_no) end
      || '住房在' || zh_date(w.as_of) || '住房安全鉴定中为' || w.level || '级'
      || case w.level when 'D' then '（整体危房）' else '（局部危房）' end
      || '，请住建部门核实是否纳入农村危房改造'
        as explanation
from worst w
join core.household_month h on h.period = $period and h.household_id = w.household_id
where w.household_id not in (select household_id from history)
