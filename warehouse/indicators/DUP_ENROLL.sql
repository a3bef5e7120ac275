-- DUP_ENROLL 重复救助 for data month $period: in the roster snapshot of M a person listed in two
-- family_ids, or in families of two counties. One warning per family involved, each to its own
-- county's MCA office.
with roster as (
    select distinct family_id, person_id, name, relation, left(region_code, 6) as county_code, category
    from staging.mca_roster
    where period = $period and person_id is not null and family_id is not null
),
duplicates as (
    select person_id,
           count(distinct family_id) as families,
           count(distinct county_code) as counties,
           list_sort(list(distinct family_id)) as family_ids,
           list_sort(list(distinct county_code)) as county_codes
    from roster
    group by person_id
    having count(distinct family_id) > 1 or count(distinct county_code) > 1
),
involved as (
    select r.family_id, r.person_id, r.name, r.relation, d.families, d.counties, d.family_ids, d.county_codes
    from roster r
    join duplicates d using (person_id)
    qualify row_number() over (partition by r.family_id order by r.person_id, r.county_code) = 1
)
select
    'DUP_ENROLL' as indicator_code,
    $sev_default as severity,
    $period as period,
    h.household_id, h.family_id, h.hukou_no,
    i.person_id,
    h.county_code,
    $departments as departments,
    json_object(
        'families', i.families, 'counties', i.counties, 'family_ids', i.family_ids, 'county_codes', i.county_codes,
        'category', h.category,
        'record_ids', json_object('person_id', i.person_id, 'family_ids', i.family_ids)
    ) as evidence,
    coalesce(i.name, '身份证号 ' || i.person_id) || ' 在' || zh_month($period) || '低保名册中同时在册于 '
      || i.families || ' 个家庭（' || array_to_string(i.family_ids, '、') || '）'
      || case when i.counties > 1 then '，涉及 ' || i.counties || ' 个区县（' || array_to_string(i.county_codes, '、') || '）' else '' end
      || '，请核实是否重复救助'
        as explanation
from involved i
join core.household_month h on h.period = $period and h.household_id = i.family_id
