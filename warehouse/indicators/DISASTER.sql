-- DISASTER 受灾 for data month $period, evaluated on arrival (principle 9): mem_disaster records in
-- force for the month (staging.mem_disaster_current: the month's delivery, or for daily months the
-- latest version of each record, withdrawn ones left out) whose person is a member (or, with
-- $head_only, the head) of a household of the composition month $composition_period (the newest month
-- <= M with roster and hukou members loaded); per household the worst house damage and the summed
-- loss. Raised when the damage is in $damage_levels or loss >= $min_loss_yuan. Urgent when collapsed;
-- MEM and MCA (临时救助); + MOHURD when the house is collapsed/severely damaged. The office acts where
-- the disaster happened: office_region = the record's region_code. A person in no household of the
-- composition month (not on the roster, in no hukou snapshot yet) is warned on 'P' || person_id with
-- the record's region.
with disasters as (
    select * from staging.mem_disaster_current
    where period = $period and person_id is not null
),
persons as (
    select * from core.person_month where period = $composition_period
),
households as (
    select * from core.household_month where period = $composition_period
),
first_seen as (
    -- the delivery that first brought each record (a correction comes later): when the evidence arrived
    select s.disaster_id, s.person_id, arg_min(s.delivery_id, (d.delivery_date, s.delivery_id)) as first_delivery_id
    from staging.mem_disaster s
    join (select distinct disaster_id, person_id from disasters) k using (disaster_id, person_id)
    join (select delivery_id, min(delivery_date) as delivery_date from ops.deliveries group by delivery_id) d
      using (delivery_id)
    group by all
),
placed as (
    select d.*, f.first_delivery_id,
           coalesce(p.household_id, 'P' || d.person_id) as household_id,
           p.household_id is not null as in_household,
           p.name, p.relation, p.hukou_no as person_hukou_no,
           d.person_id = h.head_person_id as is_head,
           case d.house_damage when 'collapsed' then 4 when 'severe' then 3 when 'moderate' then 2 else 1 end
               as damage_rank
    from disasters d
    left join first_seen f using (disaster_id, person_id)
    left join persons p using (person_id)
    left join households h on h.household_id = p.household_id
    where not $head_only or d.person_id = h.head_person_id or p.household_id is null
),
per_household as (
    select
        household_id,
        bool_or(in_household) as in_household,
        arg_max(house_damage, damage_rank) as house_damage,
        sum(coalesce(loss_yuan, 0)) as loss_yuan,
        sum(coalesce(emergency_aid_yuan, 0)) as emergency_aid_yuan,
        arg_max(person_id, (damage_rank, loss_yuan, person_id)) as key_person_id,
        arg_max(name, (damage_rank, loss_yuan, person_id)) as key_name,
        arg_max(relation, (damage_rank, loss_yuan, person_id)) as key_relation,
        arg_max(disaster_type, (damage_rank, loss_yuan, person_id)) as disaster_type,
        arg_max(region_code, (damage_rank, loss_yuan, person_id)) as disaster_region,
        min(occurred_on) as occurred_on,
        list_sort(list(distinct disaster_id)) as disaster_ids,
        list_sort(list(distinct delivery_id)) as delivery_ids,
        list_sort(list(distinct first_delivery_id)) as first_delivery_ids
    from placed
    group by household_id
),
fired as (
    select d.*, h.family_id, h.hukou_no, h.county_code, h.size, h.category, h.region_code as household_region,
           list_contains($damage_levels, d.house_damage) as house_damaged
    from per_household d
    left join households h using (household_id)
    where list_contains($damage_levels, d.house_damage) or d.loss_yuan >= $min_loss_yuan
)
select
    'DISASTER' as indicator_code,
    case when house_damage = 'collapsed' then $sev_collapsed else $sev_otherwise end as severity,
    $period as period,
    household_id, family_id, hukou_no,
    key_person_id as person_id,
    coalesce(county_code, left(disaster_region, 6)) as county_code,
    coalesce(disaster_region, household_region) as office_region,
    case when house_damaged then list_concat($departments, $route_house_damage) else $departments end as departments,
    json_object(
        'house_damage', house_damage, 'loss_yuan', loss_yuan, 'emergency_aid_yuan', emergency_aid_yuan,
        'disaster_type', disaster_type, 'occurred_on', occurred_on, 'size', size,
        'disaster_region', disaster_region, 'in_household', in_household, 'category', category,
        'evidence_deliveries', first_delivery_ids,
        'record_ids', json_object('disaster_ids', disaster_ids, 'person_id', key_person_id,
                                  'delivery_ids', delivery_ids)
    ) as evidence,
    case when in_household then zh_person(key_relation, key_name, hukou_no)
         else '受灾人员（尚未见于名册和户籍，按身份证号派送）' end
      || ' ' || zh_date(occurred_on) || '遭受' || zh_disaster(disaster_type)
      || '灾害，' || zh_damage(house_damage) || '，直接损失 ' || zh_yuan(loss_yuan) || ' 元'
      || case when emergency_aid_yuan > 0 then '（已获应急救助 ' || zh_yuan(emergency_aid_yuan) || ' 元）' else '' end
      || '，请灾害发生地民政部门评估临时救助'
        as explanation
from fired
