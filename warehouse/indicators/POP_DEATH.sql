-- POP_DEATH 人口变化-死亡 for data month $period, evaluated on arrival (principle 9): a death event
-- dated in M (from any delivery); the household is the deceased's household in the composition month
-- $composition_period (the newest month <= M-1 with roster and hukou members loaded: the household
-- before the death), else in M. A deceased person in neither is placed by the event's hukou_no (the
-- household of that hukou in the composition month, else 'H' || hukou_no), with the event's region.
-- High when the deceased earned the largest share of the household's income over
-- M-$income_months..M-1 (known months), else medium.
with deaths as (
    select * from staging.mps_hukou_events
    where event_type = 'death' and event_date between $period_start and $period_end and person_id is not null
    qualify row_number() over (partition by person_id order by event_date, event_id) = 1
),
listed as (
    select d.event_id, d.event_date, d.person_id, d.delivery_id, p.household_id, p.period as household_period,
           p.name, p.relation, p.hukou_no as person_hukou_no
    from deaths d
    join core.person_month p on p.person_id = d.person_id and p.period in ($composition_period, $period)
    qualify dense_rank() over (partition by d.person_id order by p.period) = 1
),
hukou_households as (
    select hukou_no, min(household_id) as household_id
    from core.person_month
    where period = $composition_period and hukou_no in (select hukou_no from deaths)
    group by hukou_no
),
by_hukou as (
    -- not in any household of those months: the household of the event's hukou, else H || hukou_no
    select d.event_id, d.event_date, d.person_id, d.delivery_id,
           coalesce(k.household_id, 'H' || d.hukou_no) as household_id,
           case when k.household_id is not null then $composition_period end as household_period,
           cast(null as varchar) as name, cast(null as varchar) as relation, d.hukou_no as person_hukou_no
    from deaths d
    left join hukou_households k using (hukou_no)
    where d.hukou_no is not null and d.person_id not in (select person_id from listed)
),
placed as (
    select * from listed
    union all
    select * from by_hukou
),
households as (
    select pl.*, h.family_id, coalesce(h.hukou_no, pl.person_hukou_no) as hukou_no,
           coalesce(h.county_code, left(e.region_code, 6)) as county_code,
           coalesce(h.region_code, e.region_code) as office_region,
           h.size, h.head_person_id, h.household_id is not null as in_household
    from placed pl
    join deaths e using (event_id)
    left join core.household_month h on h.period = pl.household_period and h.household_id = pl.household_id
),
income_months as (
    select period from core.month_calendar
    where month_idx between $month_idx - $income_months and $month_idx - 1
),
member_income as (
    select pm.household_id, pm.person_id, sum(i.income_yuan) as income_yuan
    from (select distinct household_id, household_period from households where in_household) h
    join core.person_month pm on pm.period = h.household_period and pm.household_id = h.household_id
    join core.person_income_month i on i.person_id = pm.person_id and i.period in (select period from income_months)
    group by all
),
shares as (
    select household_id, max(income_yuan) as top_income_yuan, sum(income_yuan) as household_income_yuan
    from member_income group by household_id
),
scored as (
    select h.*, coalesce(mi.income_yuan, 0) as deceased_income_yuan, s.top_income_yuan, s.household_income_yuan,
           coalesce(mi.income_yuan, 0) > 0 and mi.income_yuan >= s.top_income_yuan as main_earner
    from households h
    left join member_income mi on mi.household_id = h.household_id and mi.person_id = h.person_id
    left join shares s on s.household_id = h.household_id
)
select
    'POP_DEATH' as indicator_code,
    case when main_earner then $sev_main_earner else $sev_otherwise end as severity,
    $period as period,
    household_id, family_id, hukou_no,
    person_id,
    county_code,
    office_region,
    $departments as departments,
    json_object(
        'event_date', event_date, 'household_period', household_period, 'size_before', size,
        'deceased_income_yuan', deceased_income_yuan, 'household_income_yuan', household_income_yuan,
        'income_share', case when household_income_yuan > 0 then round(deceased_income_yuan / household_income_yuan, 4) end,
        'main_earner', main_earner, 'in_household', in_household,
        'evidence_deliveries', [delivery_id],
        'record_ids', json_object('event_ids', [event_id])
    ) as evidence,
    zh_person(relation, name, coalesce(person_hukou_no, hukou_no)) || ' 于' || zh_date(event_date) || '死亡（户籍注销）'
      || case when main_earner
              then '，系家庭主要收入来源（此前' || $income_months || '个月收入 ' || zh_yuan(deceased_income_yuan)
                   || ' 元，占家庭收入 ' || zh_pct(deceased_income_yuan / household_income_yuan) || '）'
              else '' end
      || case when size is not null then '，家庭人口由 ' || size || ' 人减为 ' || (size - 1) || ' 人' else '' end
        as explanation
from scored
