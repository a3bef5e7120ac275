-- DISASTER 受灾 for data month $period: mem_disaster records in force for the month
-- (staging.mem_disaster_current: the month's delivery, or for daily months the latest version of each
-- record, withdrawn ones left out) whose person is a member (or, with $head_only, the head) of a
-- household; per household the worst house damage and the summed loss. Raised when the damage is in
-- $damage_levels or loss >= $min_loss_yuan. Urgent when collapsed; + MOHURD when the house is
-- collapsed/severely damaged.
with disasters as (
    select * from staging.mem_disaster_current
    where period = $period and person_id is not null
),
persons as (
    select * from core.person_month where period = $period
),
households as (
    select * from core.household_month where period = $period
),
matched as (
    select d.*, p.household_id, p.name, p.relation, p.hukou_no as person_hukou_no,
           d.person_id = h.head_person_id as is_head,
           case d.house_damage when 'collapsed' then 4 when 'severe' then 3 when 'moderate' then 2 else 1 end
               as damage_rank
    from disasters d
    join persons p using (person_id)
    join households h using (household_id)
    where not $head_only or d.person_id = h.head_person_id
),
per_household as (
    select
        household_id,
        arg_max(house_damage, damage_rank) as house_damage,
        sum(coalesce(loss_yuan, 0)) as loss_yuan,
        sum(coalesce(emergency_aid_yuan, 0)) as emergency_aid_yuan,
        arg_max(person_id, (damage_rank, loss_yuan)) as key_person_id,
        arg_max(name, (damage_rank, loss_yuan)) as key_name,
        arg_max(relation, (damage_rank, loss_yuan)) as key_relation,
        arg_max(disaster_type, (damage_rank, loss_yuan)) as disaster_type,
        min(occurred_on) as occurred_on,
        list(disaster_id order by disaster_id) as disaster_ids
    from matched
    group by household_id
),
fired as (
    select h.*, d.*,
           list_contains($damage_levels, d.house_damage) as house_damaged
    from per_household d
    join households h using (household_id)
    where list_contains($damage_levels, d.house_damage) or d.loss_yuan >= $min_loss_yuan
)
select
    'DISASTER' as indicator_code,
    case when house_damage = 'collapsed' then $sev_collapsed else $sev_otherwise end as severity,
    $period as period,
    household_id, family_id, hukou_no,
    key_person_id as person_id,
    county_code,
    case when house_damaged then list_concat($departments, $route_house_damage) else $departments end as departments,
    json_object(
        'house_damage', house_damage, 'loss_yuan', loss_yuan, 'emergency_aid_yuan', emergency_aid_yuan,
        'disaster_type', disaster_type, 'occurred_on', occurred_on, 'size', size,
        'record_ids', json_object('disaster_ids', disaster_ids, 'person_id', key_person_id)
    ) as evidence,
    zh_person(key_relation, key_name, hukou_no) || ' ' || zh_date(occurred_on) || '遭受' || zh_disaster(disaster_type)
      || '灾害，' || zh_damage(house_damage) || '，直接损失 ' || zh_yuan(loss_yuan) || ' 元'
      || case when emergency_aid_yuan > 0 then '（已获应急救助 ' || zh_yuan(emergency_aid_yuan) || ' 元）' else '' end
        as explanation
from fired
