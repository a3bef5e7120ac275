-- CHILD_NO_CARE 事实无人抚养儿童 for data month $period, evaluated on arrival (principle 9): a death
-- event dated in M (from any delivery) in a household -- the deceased's household in the composition
-- month $composition_period (the newest month <= M-1 with roster and hukou members loaded), else in M --
-- with a member under $adult_age. The members who remain: that household's members in that month less
-- the deceased, anyone with a death dated up to the end of M and anyone whose hukou moved out up to the
-- date of this death. Ages at the date of the death (birth date: roster, else the 身份证号).
--   urgent ($sev_no_adult): a child remains and no member aged $adult_age or more;
--   medium ($sev_no_working_age_adult): the deceased was aged $adult_age..$working_age_max, a child
--     remains and no member of that age does (the town assesses whether the parents can care).
-- The death of an older member while working-age adults remain (a great-grandparent) and a move-out
-- alone never raise it. MCA.
with deaths as (
    select * from staging.mps_hukou_events
    where event_type = 'death' and event_date between $period_start and $period_end and person_id is not null
    qualify row_number() over (partition by person_id order by event_date, event_id) = 1
),
died as (
    select person_id, min(event_date) as died_on
    from staging.mps_hukou_events
    where event_type = 'death' and event_date <= $period_end and person_id is not null
    group by person_id
),
moved_out as (
    select person_id, min(event_date) as moved_on
    from staging.mps_hukou_events
    where event_type = 'move_out' and event_date <= $period_end and person_id is not null
    group by person_id
),
placed as (
    select d.event_id, d.event_date, d.person_id as deceased_id, d.delivery_id, p.household_id,
           p.period as household_period, p.birth_date as deceased_birth, p.name as deceased_name,
           p.relation as deceased_relation, p.hukou_no as deceased_hukou_no
    from deaths d
    join core.person_month p on p.person_id = d.person_id and p.period in ($composition_period, $period)
    qualify dense_rank() over (partition by d.person_id order by p.period) = 1
),
remaining as (
    select pl.event_id, m.person_id, m.name, m.relation, m.birth_date,
           date_sub('year', m.birth_date, pl.event_date) as age
    from placed pl
    join core.person_month m on m.period = pl.household_period and m.household_id = pl.household_id
    left join died x on x.person_id = m.person_id
    left join moved_out o on o.person_id = m.person_id
    where m.person_id <> pl.deceased_id
      and x.person_id is null
      and (o.person_id is null or o.moved_on > pl.event_date)
),
per_death as (
    select pl.*,
           date_sub('year', pl.deceased_birth, pl.event_date) as deceased_age,
           count(r.person_id) filter (where r.age < $adult_age) as children,
           -- an unknown age counts as an adult: no verdict on missing data
           count(r.person_id) filter (where r.age >= $adult_age or r.age is null) as adults,
           count(r.person_id) filter (where r.age between $adult_age and $working_age_max or r.age is null)
               as working_age_adults,
           list(struct_pack(person_id := r.person_id, age := r.age, relation := r.relation)
                order by r.age nulls last, r.person_id) as remaining_members,
           arg_min(r.person_id, (r.age, r.person_id)) filter (where r.age < $adult_age) as youngest_child_id,
           min(r.age) filter (where r.age < $adult_age) as youngest_age,
           max(r.age) filter (where r.age < $adult_age) as eldest_child_age
    from placed pl
    left join remaining r using (event_id)
    group by all
),
judged as (
    select *,
           case when children > 0 and adults = 0 then 'no_adult'
                when children > 0 and deceased_age between $adult_age and $working_age_max
                     and working_age_adults = 0 then 'no_working_age_adult' end as outcome
    from per_death
),
fired as (
    select * from judged where outcome is not null
    qualify row_number() over (partition by household_id
                               order by (outcome = 'no_adult') desc, event_date, deceased_id) = 1
)
select
    'CHILD_NO_CARE' as indicator_code,
    case outcome when 'no_adult' then $sev_no_adult else $sev_no_working_age_adult end as severity,
    $period as period,
    f.household_id, h.family_id, coalesce(h.hukou_no, f.deceased_hukou_no) as hukou_no,
    f.youngest_child_id as person_id,
    h.county_code,
    h.region_code as office_region,
    $departments as departments,
    json_object(
        'outcome', outcome, 'event_date', event_date, 'deceased_person_id', deceased_id,
        'deceased_age', deceased_age, 'children', children, 'adults', adults,
        'working_age_adults', working_age_adults, 'youngest_child_age', youngest_age,
        'household_period', household_period, 'remaining_members', remaining_members,
        'evidence_deliveries', [delivery_id],
        'record_ids', json_object('event_ids', [event_id])
    ) as evidence,
    zh_person(deceased_relation, deceased_name, coalesce(deceased_hukou_no, h.hukou_no)) || '（' || coalesce(cast(deceased_age as varchar) || '岁', '年龄不详') || '）于'
      || zh_date(event_date) || '死亡，家中' || children || '名未满' || $adult_age || '岁儿童（最小 ' || youngest_age || ' 岁）'
      || case outcome when 'no_adult' then '身边已无成年家庭成员，可能成为事实无人抚养儿童，请立即入户核实监护情况'
              else '身边仅剩' || adults || '名' || ($working_age_max + 1) || '岁以上老人，请乡镇评估其父母能否履行抚养义务（事实无人抚养儿童认定）' end
        as explanation
from fired f
left join core.household_month h on h.period = f.household_period and h.household_id = f.household_id
