-- GRID_FINDING 走访发现 for data month $period, evaluated on arrival (principle 9): field visits dated
-- in M (from any delivery) with a finding in $findings. The visit names its household: family_id for a
-- roster family, else the hukou_no (the roster family of that hukou in the composition month, else
-- H || hukou_no) -- so a household no snapshot lists yet is still warned. The composition month
-- $composition_period (the newest month <= M with roster and hukou members loaded) gives names, size
-- and region. High when a finding is in $serious_findings, else medium; MCA. office_region = the
-- visit's region_code (layout v2), else the household's. A household not on the roster: the
-- explanation proposes entering it into monitoring (纳入监测).
with visits as (
    select *, list_filter(findings, f -> list_contains($findings, f)) as hits
    from staging.grid_visits
    where visit_date between $period_start and $period_end
      and list_has_any(findings, $findings)
      and (family_id is not null or hukou_no is not null)
    qualify row_number() over (partition by visit_id order by delivery_id desc, _row desc) = 1
),
persons as (
    select * from core.person_month where period = $composition_period
),
households as (
    select * from core.household_month where period = $composition_period
),
hukou_family as (
    -- a hukou whose members belong to a roster family in the composition month
    select hukou_no, min(household_id) as household_id
    from persons
    where hukou_no is not null and family_id is not null
    group by hukou_no
),
placed as (
    select v.*,
           coalesce(v.family_id, f.household_id, 'H' || v.hukou_no) as household_id,
           list_has_any(v.hits, $serious_findings) as serious
    from visits v
    left join hukou_family f on v.family_id is null and f.hukou_no = v.hukou_no
),
per_household as (
    select household_id,
           bool_or(serious) as serious,
           list_sort(list_distinct(flatten(list(hits)))) as findings,
           arg_max(visit_id, (serious, visit_date, visit_id)) as key_visit_id,
           arg_max(person_id, (serious, visit_date, visit_id)) as visit_person_id,
           arg_max(note, (serious, visit_date, visit_id)) as note,
           arg_max(visit_date, (serious, visit_date, visit_id)) as visit_date,
           arg_max(visitor_role, (serious, visit_date, visit_id)) as visitor_role,
           arg_max(region_code, (serious, visit_date, visit_id)) as visit_region,
           min(hukou_no) as visit_hukou_no,
           min(family_id) as visit_family_id,
           list_sort(list(visit_id)) as visit_ids,
           list_sort(list(distinct delivery_id)) as delivery_ids
    from placed
    group by household_id
),
described as (
    select d.*, h.household_id is not null as in_household,
           coalesce(h.family_id, d.visit_family_id) as family,
           coalesce(h.hukou_no, d.visit_hukou_no) as hukou,
           coalesce(h.on_roster, d.visit_family_id is not null) as on_roster,
           h.category, h.size, h.county_code, h.region_code as household_region,
           coalesce(d.visit_person_id, h.head_person_id) as key_person_id,
           p.name, p.relation
    from per_household d
    left join households h using (household_id)
    left join persons p on p.household_id = d.household_id and p.person_id = coalesce(d.visit_person_id, h.head_person_id)
)
select
    'GRID_FINDING' as indicator_code,
    case when serious then $sev_serious else $sev_otherwise end as severity,
    $period as period,
    household_id,
    family as family_id,
    hukou as hukou_no,
    key_person_id as person_id,
    coalesce(county_code, left(visit_region, 6)) as county_code,
    coalesce(visit_region, household_region) as office_region,
    $departments as departments,
    json_object(
        'findings', findings, 'visit_date', visit_date, 'visitor_role', visitor_role, 'on_roster', on_roster,
        'category', category, 'size', size, 'in_household', in_household, 'visit_region', visit_region,
        'propose_monitoring', not on_roster,
        'evidence_deliveries', delivery_ids,
        'record_ids', json_object('visit_ids', visit_ids, 'person_id', visit_person_id)
    ) as evidence,
    case when name is not null then zh_relation(relation) || name
         when family is not null then '名册家庭 ' || family || ' 的成员'
         else '户号 ' || coalesce(hukou, '未知') || ' 的家庭' end
      || ' ' || zh_date(visit_date)
      || case visitor_role when 'grid_worker' then '网格员' when 'village_assistant' then '村协理员'
                           when 'social_worker' then '社工' else '' end
      || '走访发现' || array_to_string(list_transform(findings, f -> case f
             when 'illness' then '患病' when 'job_loss' then '失业' when 'disability' then '残疾'
             when 'death' then '家庭成员死亡' when 'house_damage' then '房屋受损' else f end), '、')
      || case when note is not null and note <> '' then '（走访记录：' || left(replace(replace(note, chr(10), ' '), chr(13), ' '), $max_note_chars) || '）' else '' end
      || case when on_roster then '，请入户核实并评估救助需求'
              else '，该户未在低收入人口名册中，建议入户核实后纳入低收入人口动态监测（纳入监测）' end
        as explanation
from described
