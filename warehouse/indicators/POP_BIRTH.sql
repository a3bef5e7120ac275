-- POP_BIRTH 人口变化-新增人口 for data month $period: a birth / move_in event dated in M into a
-- hukou_no whose other members (not themselves arriving this month) belong to a household of M.
with events as (
    select * from staging.mps_hukou_events
    where list_contains($event_types, event_type) and event_date between $period_start and $period_end
      and person_id is not null and hukou_no is not null
    qualify row_number() over (partition by event_id order by _row desc) = 1
),
arrivals as (
    select distinct person_id from events
),
others as (
    -- the existing members of the event's hukou household this month
    select e.event_id, p.household_id, p.on_roster
    from events e
    join core.person_month p on p.period = $period and p.hukou_no = e.hukou_no and p.person_id <> e.person_id
    where p.person_id not in (select person_id from arrivals)
),
target as (
    select event_id, household_id from others
    qualify row_number() over (partition by event_id order by on_roster desc, household_id) = 1
),
per_household as (
    select t.household_id,
           count(*) filter (where e.event_type = 'birth') as births,
           count(*) filter (where e.event_type = 'move_in') as moves_in,
           min(e.event_date) as first_date,
           arg_min(e.person_id, (e.event_date, e.person_id)) as key_person_id,
           list(e.event_id order by e.event_id) as event_ids,
           list(distinct e.person_id order by e.person_id) as person_ids
    from target t
    join events e using (event_id)
    group by t.household_id
)
select
    'POP_BIRTH' as indicator_code,
    $sev_default as severity,
    $period as period,
    h.household_id, h.family_id, h.hukou_no,
    d.key_person_id as person_id,
    h.county_code,
    $departments as departments,
    json_object(
        'births', d.births, 'moves_in', d.moves_in, 'first_event_date', d.first_date, 'size', h.size,
        'category', h.category,
        'record_ids', json_object('event_ids', d.event_ids, 'person_ids', d.person_ids)
    ) as evidence,
    zh_household(hd.name, h.hukou_no) || ' ' || zh_month($period) || '新增家庭成员 ' || (d.births + d.moves_in) || ' 人（'
      || concat_ws('、',
            case when d.births > 0 then '出生 ' || d.births || ' 人' end,
            case when d.moves_in > 0 then '迁入 ' || d.moves_in || ' 人' end)
      || '），家庭人口变化，请核实家庭人口和保障情况'
        as explanation
from per_household d
join core.household_month h on h.period = $period and h.household_id = d.household_id
left join core.person_month hd on hd.period = $period and hd.household_id = h.household_id and hd.person_id = h.head_person_id
