-- core.hardship_signal for data month $period: the hardship signals dated in the month, each attributed
-- to the household it concerns in that month (a death: the deceased's household of the month before).
with calendar as (
    select month_start, month_end, month_idx from core.month_calendar where period = $period
),
previous_period as (
    select strftime(cast($period || '-01' as date) - interval 1 month, '%Y-%m') as period
),
next_period as (
    select strftime(cast($period || '-01' as date) + interval 1 month, '%Y-%m') as period
),
persons as (
    select * from core.person_month where period = $period
),
previous_persons as (
    select * from core.person_month where period = (select period from previous_period)
),
households as (
    select household_id, size, dibao_std_yuan from core.household_month where period = $period
),

-- medical: live settlements dated in the month (a settlement delivered twice counts once; a reversed
-- one and the reversal are not live), as core.household_oop_month counts them
reversed as (
    select distinct reversal_of as settle_id from staging.nhsa_claims where reversal_of is not null
),
claims as (
    select * from staging.nhsa_claims
    where settle_date between (select month_start from calendar) and (select month_end from calendar)
    qualify row_number() over (partition by settle_id order by period desc, _row desc) = 1
),
live_claims as (
    select p.household_id, c.*
    from claims c
    join persons p using (person_id)
    where c.reversal_of is null and c.settle_id not in (select settle_id from reversed)
),
catastrophic as (
    select household_id, settle_date as signal_date, 'catastrophic_settlement' as kind, person_id,
           json_object('settle_id', settle_id, 'visit_type', visit_type, 'total_yuan', total_yuan,
                       'oop_yuan', oop_yuan) as detail
    from live_claims
    where catastrophic
),
oop_3m as (
    select o.household_id, sum(o.oop_yuan) as oop_yuan,
           list_sort(list(struct_pack(period := o.period, oop_yuan := o.oop_yuan))) as months
    from core.household_oop_month o
    join core.month_calendar c using (period)
    where c.month_idx between (select month_idx from calendar) - 2 and (select month_idx from calendar)
    group by o.household_id
),
medical as (
    -- net out-of-pocket of M-2..M >= size x 低保 standard, dated by the month's latest live settlement
    select h.household_id, l.signal_date, 'medical_oop_3m' as kind, cast(null as varchar) as person_id,
           json_object('oop_3m_yuan', o.oop_yuan, 'floor_yuan', h.size * h.dibao_std_yuan, 'size', h.size,
                       'dibao_std_yuan', h.dibao_std_yuan, 'months', o.months) as detail
    from households h
    join oop_3m o using (household_id)
    join (select household_id, max(settle_date) as signal_date from live_claims where oop_yuan > 0
          group by household_id) l using (household_id)
    where h.dibao_std_yuan is not null and o.oop_yuan >= h.size * h.dibao_std_yuan
),

-- a member's first valid grade 1/2 certificate issued in the month (snapshot of M); a certificate is
-- not new when the person held a grade 1/2 one issued earlier (in this or the previous snapshot)
certificates as (
    select * from staging.cdpf_disability where period = $period and person_id is not null
),
held_before as (
    select person_id, issued_on from certificates where disability_grade <= 2
    union all
    select person_id, issued_on from staging.cdpf_disability
    where period = (select max(period) from staging.cdpf_disability where period < $period) and disability_grade <= 2
),
disability as (
    select p.household_id, c.issued_on as signal_date, 'severe_disability_first_certificate' as kind, c.person_id,
           json_object('disability_grade', c.disability_grade, 'disability_type', c.disability_type,
                       'issued_on', c.issued_on) as detail
    from certificates c
    join persons p using (person_id)
    where c.cert_status = 'valid' and c.disability_grade <= 2
      and c.issued_on between (select month_start from calendar) and (select month_end from calendar)
      and not exists (select 1 from held_before b where b.person_id = c.person_id and b.issued_on < c.issued_on)
    qualify row_number() over (partition by c.person_id order by c.issued_on, c._row) = 1
),

-- the death of a member aged 16-59, in the deceased's household of the month before (else this month's)
deaths as (
    select * from staging.mps_hukou_events
    where event_type = 'death' and person_id is not null
      and event_date between (select month_start from calendar) and (select month_end from calendar)
    qualify row_number() over (partition by person_id order by period desc, _row desc) = 1
),
death_households as (
    select d.event_id, d.person_id, d.event_date,
           coalesce(q.household_id, p.household_id) as household_id,
           coalesce(q.birth_date, p.birth_date) as birth_date
    from deaths d
    left join previous_persons q using (person_id)
    left join persons p using (person_id)
),
death as (
    select household_id, event_date as signal_date, 'death_working_age' as kind, person_id,
           json_object('event_id', event_id, 'age', age) as detail
    from (select *, date_diff('year', birth_date, event_date)
                      - case when strftime(birth_date, '%m%d') > strftime(event_date, '%m%d') then 1 else 0 end as age
          from death_households)
    where household_id is not null and age between 16 and 59
),

-- a member registered unemployed this month after another status (or no record) in a loaded M-1
unemployment as (
    select p.household_id, (select month_start from calendar) as signal_date, 'became_unemployed' as kind,
           i.person_id,
           json_object('previous_status', coalesce(j.employment_status, 'no_record'),
                       'unemployment_benefit_yuan', i.unemployment_benefit_yuan) as detail
    from core.person_income_month i
    join persons p using (person_id)
    left join core.person_income_month j on j.period = (select period from previous_period) and j.person_id = i.person_id
    where i.period = $period and i.employment_status = 'unemployed_registered'
      and coalesce(j.employment_status, '') <> 'unemployed_registered'
      and exists (select 1 from core.feed_month f where f.feed_id = 'hrss_employment' and f.status = 'loaded'
                  and f.period = (select period from previous_period))
),

-- a disaster record in force for the month with the house collapsed or severely damaged
disaster as (
    select p.household_id, d.occurred_on as signal_date, 'disaster_house_damage' as kind, d.person_id,
           json_object('disaster_id', d.disaster_id, 'disaster_type', d.disaster_type,
                       'house_damage', d.house_damage, 'loss_yuan', d.loss_yuan) as detail
    from staging.mem_disaster_current d
    join persons p using (person_id)
    where d.period = $period and d.house_damage in ('collapsed', 'severe')
),

-- a field visit in the month with a finding other than no_change / new_member; the household by the
-- visit's family_id, else its hukou_no, else the member it concerns (layout v2)
visits as (
    select *, list_filter(findings, f -> f not in ('no_change', 'new_member')) as hard_findings
    from staging.grid_visits
    where visit_date between (select month_start from calendar) and (select month_end from calendar)
    qualify row_number() over (partition by visit_id order by delivery_id desc, _row desc) = 1
),
family_households as (
    select distinct family_id, household_id from persons where family_id is not null
),
hukou_households as (
    select hukou_no, min(household_id) as household_id from persons where hukou_no is not null group by hukou_no
),
grid as (
    select coalesce(f.household_id, k.household_id, p.household_id) as household_id, v.visit_date as signal_date,
           'grid_finding' as kind, v.person_id,
           json_object('visit_id', v.visit_id, 'findings', v.hard_findings, 'visitor_role', v.visitor_role) as detail
    from visits v
    left join family_households f on f.family_id = nullif(trim(v.family_id), '')
    left join hukou_households k on k.hukou_no = nullif(trim(v.hukou_no), '')
    left join persons p on p.person_id = v.person_id
    where len(v.hard_findings) > 0
),

-- a relapse-watch listing (not eliminated) identified in the month: the newest snapshot of a period
-- <= M+1 (a household identified late in M may first be listed in M+1's snapshot)
watch as (
    select * from staging.moa_relapse_watch
    where period = (select max(period) from staging.moa_relapse_watch where period <= (select period from next_period))
      and identified_on between (select month_start from calendar) and (select month_end from calendar)
      and not coalesce(risk_eliminated, false)
),
listing as (
    select coalesce(k.household_id, p.household_id) as household_id, w.identified_on as signal_date,
           'relapse_listing' as kind, cast(null as varchar) as person_id,
           json_object('watch_id', w.watch_id, 'watch_type', w.watch_type, 'risk_types', w.risk_types) as detail
    from watch w
    left join hukou_households k on k.hukou_no = w.hukou_no
    left join persons p on p.person_id = w.head_person_id
),

signals as (
    select * from catastrophic
    union all select * from medical
    union all select * from disability
    union all select * from death
    union all select * from unemployment
    union all select * from disaster
    union all select * from grid
    union all select * from listing
)
select
    $period as period,
    household_id,
    signal_date,
    kind,
    person_id,
    detail
from signals
where household_id is not null and signal_date is not null
