-- BENEFIT_AFTER_DEATH 死亡后仍享受待遇 for data month $period: a death dated in month
-- M - $months_after_death (from any delivery) whose person is still on the roster snapshot of M
-- with a benefit > 0, i.e. one full month after the death month.
with death_month as (
    select cast($period_start - to_months($months_after_death) as date) as first_day
),
deaths as (
    select * from staging.mps_hukou_events
    where event_type = 'death' and person_id is not null
      and event_date between (select first_day from death_month) and last_day((select first_day from death_month))
    qualify row_number() over (partition by person_id order by event_date, event_id) = 1
),
roster as (
    select * from staging.mca_roster
    where period = $period and monthly_benefit_yuan > 0
    qualify row_number() over (partition by family_id, person_id order by _row) = 1
),
paid as (
    select d.event_id, d.event_date, r.person_id, r.family_id, r.name, r.relation, r.category,
           r.monthly_benefit_yuan, r.delivery_id as roster_delivery_id, r._row as roster_row
    from deaths d
    join roster r using (person_id)
)
select
    'BENEFIT_AFTER_DEATH' as indicator_code,
    $sev_default as severity,
    $period as period,
    h.household_id, h.family_id, h.hukou_no,
    p.person_id,
    h.county_code,
    $departments as departments,
    json_object(
        'death_date', p.event_date, 'monthly_benefit_yuan', p.monthly_benefit_yuan, 'category', p.category,
        'record_ids', json_object('event_ids', [p.event_id], 'roster_delivery_id', p.roster_delivery_id,
                                  'roster_row', p.roster_row)
    ) as evidence,
    zh_person(p.relation, p.name, h.hukou_no) || ' 已于' || zh_date(p.event_date) || '死亡（户籍注销），'
      || zh_month($period) || '低保名册仍在册并享受' || zh_category(p.category) || '待遇 '
      || zh_yuan(p.monthly_benefit_yuan) || ' 元/月，请核实并停发'
        as explanation
from paid p
join core.household_month h on h.period = $period and h.household_id = p.family_id
