-- AID_DISABILITY 应享未享-残疾人两项补贴 for data month $period, in the disability snapshot of M: a
-- member of a household of M with a valid certificate held at least $min_cert_months months (held
-- since = the earliest issue date of a valid certificate of that kind in any snapshot up to M, so a
-- renewal does not restart the clock) who
--   (nursing) holds a grade <= $max_grade_nursing certificate and nursing_subsidy = false, or
--   (living)  is in a roster family whose category is in $living_categories (dibao, edge; not tekun:
--             特困 persons take the higher 特困 benefit instead) and living_subsidy = false.
-- Only deliveries that state the subsidies (layout v2, from 2026-07): a null column is "not
-- delivered", never "not received". One warning per household; CDPF.
with certificates as (
    select * from staging.cdpf_disability
    where period = $period and cert_status = 'valid' and person_id is not null
      and (nursing_subsidy is not null or living_subsidy is not null)
    qualify row_number() over (partition by person_id order by disability_grade, issued_on, _row) = 1
),
held as (
    select s.person_id,
           min(s.issued_on) as held_since,
           min(s.issued_on) filter (where s.disability_grade <= $max_grade_nursing) as severe_since
    from staging.cdpf_disability s
    join certificates c using (person_id)
    where s.period <= $period and s.cert_status = 'valid'
    group by s.person_id
),
members as (
    select p.person_id, p.household_id, p.name, p.relation, h.category
    from core.person_month p
    join core.household_month h on h.period = p.period and h.household_id = p.household_id
    where p.period = $period
),
cutoff as (
    select cast($period_end - to_months($min_cert_months) as date) as held_by
),
missing as (
    select c.person_id, c.disability_grade, c.disability_type, c.issued_on, c.delivery_id, c._row,
           m.household_id, m.name, m.relation, m.category, k.held_since, k.severe_since,
           c.disability_grade <= $max_grade_nursing and c.nursing_subsidy = false
               and k.severe_since <= (select held_by from cutoff) as no_nursing,
           list_contains($living_categories, m.category) and c.living_subsidy = false
               and k.held_since <= (select held_by from cutoff) as no_living
    from certificates c
    join held k using (person_id)
    join members m using (person_id)
),
fired as (
    select * from missing where coalesce(no_nursing, false) or coalesce(no_living, false)
),
per_household as (
    select household_id,
           any_value(category) as category,
           count(*) as persons,
           arg_min(person_id, (disability_grade, person_id)) as key_person_id,
           arg_min(name, (disability_grade, person_id)) as key_name,
           arg_min(relation, (disability_grade, person_id)) as key_relation,
           arg_min(disability_grade, (disability_grade, person_id)) as key_grade,
           arg_min(disability_type, (disability_grade, person_id)) as key_type,
           arg_min(held_since, (disability_grade, person_id)) as key_since,
           bool_or(coalesce(no_nursing, false)) as no_nursing,
           bool_or(coalesce(no_living, false)) as no_living,
           list(struct_pack(person_id := person_id, grade := disability_grade, held_since := held_since,
                            no_nursing := coalesce(no_nursing, false), no_living := coalesce(no_living, false))
                order by person_id) as detail,
           any_value(delivery_id) as delivery_id
    from fired
    group by household_id
)
select
    'AID_DISABILITY' as indicator_code,
    $sev_default as severity,
    $period as period,
    h.household_id, h.family_id, h.hukou_no,
    d.key_person_id as person_id,
    h.county_code,
    $departments as departments,
    json_object(
        'category', d.category, 'persons', d.persons, 'no_nursing_subsidy', d.no_nursing,
        'no_living_subsidy', d.no_living, 'detail', d.detail, 'held_by', (select held_by from cutoff),
        'snapshot_delivery_id', d.delivery_id,
        'record_ids', json_object('person_ids', list_transform(d.detail, x -> x.person_id))
    ) as evidence,
    zh_person(d.key_relation, d.key_name, h.hukou_no) || '自' || zh_date(d.key_since) || '持有' || zh_disability(d.key_type)
      || zh_grade(d.key_grade) || '残疾证'
      || case when d.persons > 1 then '（家中共 ' || d.persons || ' 人）' else '' end
      || '，' || zh_month($period) || '残联数据显示未享受'
      || concat_ws('、', case when d.no_living then '困难残疾人生活补贴' end,
                        case when d.no_nursing then '重度残疾人护理补贴' end)
      || case when d.no_living then '（家庭为' || zh_category(d.category) || '）' else '' end
      || '，请核实是否应享未享'
        as explanation
from per_household d
join core.household_month h on h.period = $period and h.household_id = d.household_id
