-- Household features for data month $period, as of its last day: one row per household of
-- core.household_month in the month -- not dibao/tekun unless $include_enrolled (the eligibility model
-- scores and learns from the others; triage describes every case's household), only partial coverage
-- if $partial_only (the households path (b) reads), only those in temp.learning_scope if $scoped. Every source is read up to the month's end only -- core rows of months
-- <= $period, staging rows of deliveries for periods <= $period and dated on or before the month's
-- end -- so the features of a month never see what happened after it (tests/test_learning.py).
-- Amounts are per capita and divided by the local 低保 standard (ratios), so one model serves every
-- city and year. No name, person id, ethnicity or gender enters a feature.
-- The columns are listed, with their group and Chinese label, in models/eligibility/features.toml.
with calendar as (
    select month_idx, month_start, month_end from core.month_calendar where period = $period
),
households as (
    select h.*
    from core.household_month h
    where h.period = $period and h.size > 0 and h.dibao_std_yuan > 0
      and ($include_enrolled or h.category is null or h.category not in ('dibao', 'tekun'))
      and (not $partial_only or h.income_coverage = 'partial')
      and (not $scoped or h.household_id in (select household_id from temp.learning_scope))
),
persons as (
    select p.household_id, p.person_id, p.family_id, p.hukou_no
    from core.person_month p
    where p.period = $period and p.household_id in (select household_id from households)
),
members as (
    select m.* from core.member_income_month m
    where m.period = $period and m.household_id in (select household_id from households)
),
incomes as (
    select i.person_id, i.employment_status, i.wage_yuan, i.pension_yuan, i.unemployment_benefit_yuan
    from core.person_income_month i where i.period = $period
),
composition as (
    select m.household_id,
           count(*) filter (where m.age < 16)                                   as n_child,
           count(*) filter (where m.reason = 'student')                         as n_student,
           count(*) filter (where m.age >= 16 and m.age < 60)                   as n_adult,
           count(*) filter (where m.age >= 60)                                  as n_elder,
           count(*) filter (where m.age >= 72)                                  as n_elder_72,
           max(m.age) filter (where m.relation = 'head')                        as head_age_roster,
           max(m.age)                                                           as oldest_age,
           count(*) filter (where m.income_known)                               as known_members,
           count(*) filter (where m.reason in ('employed', 'flexible'))         as n_wage_known,
           count(*) filter (where m.reason = 'pension')                         as n_pension_known,
           count(*) filter (where m.reason = 'unemployment_benefit')            as n_benefit,
           count(*) filter (where not m.income_known and m.age >= 16 and m.age < 60) as n_unknown_adult,
           count(*) filter (where not m.income_known and m.age >= 16 and m.age < 60
                            and m.reason = 'no_hrss_record')                    as n_unknown_adult_no_record,
           count(*) filter (where not m.income_known and m.age >= 16 and m.age < 60
                            and m.reason = 'status_none')                       as n_unknown_adult_status_none,
           count(*) filter (where m.reason = 'unemployed_no_benefit')           as n_unemployed_no_benefit,
           count(*) filter (where not m.income_known and m.age >= 60)           as n_unknown_elder,
           count(*) filter (where m.reason = 'small_pension')                   as n_small_pension,
           avg(m.age) filter (where not m.income_known and m.age >= 16 and m.age < 60) as unknown_adult_mean_age,
           sum(coalesce(i.wage_yuan, 0))                                        as wage_yuan,
           sum(coalesce(i.pension_yuan, 0)) filter (where m.reason = 'pension') as pension_known_yuan,
           sum(coalesce(i.pension_yuan, 0)) filter (where m.reason = 'small_pension') as small_pension_yuan
    from members m
    left join incomes i using (person_id)
    group by m.household_id
),
history as (
    -- the household's own months up to $period (trailing windows on month_idx)
    -- a join on the (unique) household: a semi-join here hashed the 12 months of household_month
    select w.household_id, w.month_idx, w.size, w.income_known, w.observed_income_yuan, w.oop_yuan,
           w.edu_cost_yuan, w.disaster_loss_yuan, w.dibao_std_yuan
    from households k
    join core.household_month w on w.household_id = k.household_id
    where w.month_idx between (select month_idx from calendar) - 11 and (select month_idx from calendar)
      and w.size > 0 and w.dibao_std_yuan > 0
),
windows as (
    -- sums and means of doubles are rounded (to 1e-9 of the standard): a parallel aggregate adds them in
    -- an order that varies from run to run, and the last bits with it -- enough, at 1M, to give the same
    -- data and seed a different tree and model version
    select household_id,
           round(avg(observed_income_yuan / size / dibao_std_yuan)
               filter (where income_known and month_idx >= (select month_idx from calendar) - 2), 9) as obs_pc_ratio_3m,
           count(*) filter (where income_known and month_idx >= (select month_idx from calendar) - 2) as known_months_3m,
           round(avg(observed_income_yuan / size / dibao_std_yuan)
               filter (where income_known and month_idx between (select month_idx from calendar) - 5
                                                          and (select month_idx from calendar) - 3), 9) as obs_pc_ratio_prev3m,
           max(observed_income_yuan / size / dibao_std_yuan) filter (where income_known) as obs_pc_ratio_max12m,
           round(sum(oop_yuan / size / dibao_std_yuan)
               filter (where month_idx >= (select month_idx from calendar) - 2), 9)   as oop_3m_ratio,
           round(sum(oop_yuan / size / dibao_std_yuan), 9)                          as oop_12m_ratio,
           round(sum(edu_cost_yuan / size / dibao_std_yuan), 9)                     as edu_12m_ratio,
           round(sum(disaster_loss_yuan / size / dibao_std_yuan), 9)                as disaster_12m_ratio
    from history
    group by household_id
),
catastrophic as (
    select o.household_id, count(*) as catastrophic_months_12m,
           count(*) filter (where c.month_idx >= (select month_idx from calendar) - 5) as catastrophic_months_6m
    from core.household_oop_month o
    join core.month_calendar c using (period)
    where o.catastrophic and o.household_id in (select household_id from households)
      and c.month_idx between (select month_idx from calendar) - 11 and (select month_idx from calendar)
    group by o.household_id
),
students as (
    -- the newest school delivery for a term starting on or before the month
    select p.household_id,
           count(*) filter (where s.stage in ('senior', 'vocational', 'college', 'graduate')) as n_senior_plus,
           count(*) filter (where s.boarding_yuan > 0) as n_boarding
    from staging.moe_students s
    join persons p using (person_id)
    where s.period = (select max(period) from staging.moe_students where period <= $period)
    group by p.household_id
),
certificates as (
    -- the newest disability snapshot for a period <= the month: valid certificates issued by its end
    select p.household_id,
           count(distinct c.person_id) filter (where c.disability_grade <= 2) as n_severe_disabled,
           count(distinct c.person_id) filter (where c.disability_grade > 2)  as n_other_disabled,
           count(distinct c.person_id) filter (where c.disability_grade <= 2
               and c.issued_on > (select month_end from calendar) - interval 6 month) as n_severe_new_6m
    from staging.cdpf_disability c
    join persons p using (person_id)
    where c.period = (select max(period) from staging.cdpf_disability where period <= $period)
      and c.cert_status = 'valid' and c.issued_on <= (select month_end from calendar)
    group by p.household_id
),
housing as (
    select p.household_id, sum(h.property_count) as properties, sum(h.property_area_m2) as property_area_m2,
           bool_or(h.public_rental) as public_rental,
           max(case h.dilapidated_level when 'D' then 2 when 'C' then 1 else 0 end) as dilapidated
    from staging.mohurd_housing h
    join persons p using (person_id)
    where h.period = (select max(period) from staging.mohurd_housing where period <= $period)
      and h.as_of <= (select month_end from calendar)
    group by p.household_id
),
deposits as (
    select p.household_id, sum(coalesce(b.deposits_yuan, 0) + coalesce(b.securities_yuan, 0)) as assets_yuan
    from staging.bank_deposits b
    join persons p using (person_id)
    where b.period = (select max(period) from staging.bank_deposits where period <= $period)
      and b.as_of <= (select month_end from calendar)
    group by p.household_id
),
vehicles as (
    select p.household_id,
           sum(case when v.event in ('register', 'transfer_in') then 1 else -1 end) as vehicle_events
    from staging.mps_vehicles v
    join persons p using (person_id)
    where v.period <= $period and v.event_date <= (select month_end from calendar)
      and v.vehicle_class in ('car', 'truck')
    group by p.household_id
),
businesses as (
    select p.household_id, count(*) as active_businesses,
           sum(coalesce(b.registered_capital_yuan, 0)) as business_capital_yuan
    from (
        select * from staging.samr_business
        where period <= $period and event_date <= (select month_end from calendar)
        qualify row_number() over (partition by credit_code, person_id order by event_date desc, period desc) = 1
    ) b
    join persons p using (person_id)
    where b.status = 'active'
    group by p.household_id
),
hukou_events as (
    select p.household_id,
           count(*) filter (where e.event_type = 'death') as deaths_12m,
           count(*) filter (where e.event_type in ('birth', 'move_in')) as arrivals_12m,
           count(*) filter (where e.event_type = 'move_out') as departures_12m,
           max(e.event_date) filter (where e.event_type in ('birth', 'death', 'move_in', 'move_out')) as last_change_date
    from staging.mps_hukou_events e
    join (select household_id, hukou_no from households) p on p.hukou_no = e.hukou_no
    where e.period <= $period and e.event_date <= (select month_end from calendar)
      and e.event_date > (select month_end from calendar) - interval 12 month
    group by p.household_id
),
working_age_deaths as (
    -- deaths of members aged 16-59 in the last 6 months (the deceased is in last month's persons or
    -- an earlier one: take any month of the window)
    select distinct pm.household_id, e.person_id
    from staging.mps_hukou_events e
    join core.person_month pm on pm.person_id = e.person_id
     -- the window's first month from $period itself (a constant: the scan skips the older months)
     and pm.period between strftime(strptime($period || '-01', '%Y-%m-%d') - interval 6 month, '%Y-%m') and $period
    where e.period <= $period and e.event_type = 'death'
      and e.event_date <= (select month_end from calendar)
      and e.event_date > (select month_end from calendar) - interval 6 month
      and date_diff('year', pm.birth_date, e.event_date) between 16 and 59
),
deaths_16_59 as (
    select household_id, count(*) as working_age_deaths_6m from working_age_deaths group by household_id
),
new_unemployment as (
    -- a member registered unemployed after another status the month before, in the last 6 months
    select p.household_id, count(distinct cur.person_id) as new_unemployed_6m
    from core.person_income_month cur
    join core.month_calendar c on c.period = cur.period
    join core.person_income_month prev on prev.person_id = cur.person_id
     and prev.period = strftime(strptime(cur.period || '-01', '%Y-%m-%d') - interval 1 month, '%Y-%m')
    join persons p on p.person_id = cur.person_id
    where cur.employment_status = 'unemployed_registered'
      and prev.employment_status is distinct from 'unemployed_registered'
      and c.month_idx between (select month_idx from calendar) - 5 and (select month_idx from calendar)
    group by p.household_id
),
disasters as (
    select p.household_id, count(*) as severe_disasters_12m
    from staging.mem_disaster_current d
    join persons p using (person_id)
    where d.period <= $period and d.occurred_on <= (select month_end from calendar)
      and d.occurred_on > (select month_end from calendar) - interval 12 month
      and d.house_damage in ('collapsed', 'severe')
    group by p.household_id
),
grid as (
    select g.household_id,
           count(*) filter (where list_has_any(g.findings, ['job_loss', 'illness', 'disability', 'death', 'house_damage']))
               as grid_findings_6m
    from (
        -- a visit names its roster family, else its hukou: two equi-joins (one join with OR compares
        -- every visit with every household: most of a 1M month's scoring time)
        select h.household_id, g.findings, g.period, g.visit_date
        from staging.grid_visits g join households h on g.family_id = h.family_id
        union all
        select h.household_id, g.findings, g.period, g.visit_date
        from staging.grid_visits g join households h on g.family_id is null and g.hukou_no = h.hukou_no
    ) g
    where g.period <= $period and g.visit_date <= (select month_end from calendar)
      and g.visit_date > (select month_end from calendar) - interval 6 month
    group by g.household_id
),
watch as (
    -- the relapse watch: on it this month (newest snapshot <= the month), and its survey income
    select k.household_id, w.identified_on, w.risk_eliminated
    from staging.moa_relapse_watch w
    join (select distinct household_id, hukou_no from persons) k on k.hukou_no = w.hukou_no
    where w.period = (select max(period) from staging.moa_relapse_watch where period <= $period)
),
watched as (
    select household_id, true as on_watch,
           bool_or(identified_on > (select month_end from calendar) - interval 6 month
                   and identified_on <= (select month_end from calendar) and not coalesce(risk_eliminated, false))
               as watch_listed_6m
    from watch group by household_id
),
coverage as (
    select household_id, surveyed_income_yuan from core.household_coverage_month where period = $period
),
checks as (
    -- earlier economic checks of the household (dated on or before the month's end), attributed as
    -- the coverage rule does: the check's family, else the applicant's family, else H || hukou_no
    select coalesce(c.family_id, a.family_id, 'H' || c.hukou_no) as household_id,
           c.check_date, c.income_basis, c.outcome, c.household_size,
           c.monthly_income_yuan
    from staging.mca_econ_checks c
    left join core.person_month a on a.period = $period and a.person_id = c.applicant_id and a.on_roster
    where c.period <= $period and c.check_date <= (select month_end from calendar)
      and c.monthly_income_yuan is not null
),
last_assessed as (
    select household_id, check_date, monthly_income_yuan / greatest(household_size, 1) as pc_yuan, outcome
    from checks where income_basis = 'assessed'
    qualify row_number() over (partition by household_id order by check_date desc) = 1
),
last_registered as (
    select household_id, check_date, monthly_income_yuan / greatest(household_size, 1) as pc_yuan
    from checks where income_basis = 'check_only'
    qualify row_number() over (partition by household_id order by check_date desc) = 1
),
villages as (
    -- how well paid recorded work is where the household lives: the median contribution base of
    -- the employed and flexibly employed of its village (and county) this month
    select pm.region_code, median(i.wage_yuan) as village_wage_yuan, count(*) as village_wage_earners
    from core.person_income_month i
    join core.person_month pm on pm.period = $period and pm.person_id = i.person_id
    where i.period = $period and i.employment_status in ('employed', 'flexible') and i.wage_yuan > 0
    group by pm.region_code
),
counties as (
    select pm.county_code, median(i.wage_yuan) as county_wage_yuan
    from core.person_income_month i
    join core.person_month pm on pm.period = $period and pm.person_id = i.person_id
    where i.period = $period and i.employment_status in ('employed', 'flexible') and i.wage_yuan > 0
    group by pm.county_code
)
select
    $period                                                          as period,
    h.household_id,
    -- descriptors (not features): who the row is about, for joins, scoring scope and fairness
    h.on_roster, h.category, h.income_coverage, h.urban_rural, h.city_code, h.county_code,
    h.dibao_std_yuan, h.size as household_size,
    case when try_cast(substr(h.head_person_id, 17, 1) as integer) % 2 = 1 then 'M'
         when try_cast(substr(h.head_person_id, 17, 1) as integer) is not null then 'F' end as head_gender,
    h.observed_income_yuan / h.size / h.dibao_std_yuan               as observed_pc_ratio_now,
    -- features
    cast(h.size as double)                                           as size,
    case h.urban_rural when 'urban' then 1.0 when 'rural' then 0.0 end as urban,
    case when h.on_roster then 1.0 else 0.0 end                      as on_roster_flag,
    case when h.category = 'edge' then 1.0 else 0.0 end              as cat_edge,
    case when h.category in ('expense_hardship', 'relapse_watch', 'other') then 1.0 else 0.0 end as cat_other_roster,
    case when h.income_coverage = 'partial' then 1.0 else 0.0 end    as cov_partial,
    case when h.income_coverage in ('verified', 'surveyed') then 1.0 else 0.0 end as cov_verified_or_surveyed,
    cast(h.dibao_std_yuan as double)                                 as dibao_std_yuan_f,
    case when h.income_known then h.observed_income_yuan / h.size / h.dibao_std_yuan end as obs_pc_ratio,
    w.obs_pc_ratio_3m,                                               -- a descriptor (pipelines/learning/data.py)
    w.obs_pc_ratio_3m - w.obs_pc_ratio_prev3m                        as obs_pc_ratio_change,
    w.obs_pc_ratio_max12m,
    cast(coalesce(h.earners, 0) as double)                           as earners,
    cast(c.n_child as double) as n_child, cast(c.n_student as double) as n_student,
    cast(c.n_adult as double) as n_adult, cast(c.n_elder as double) as n_elder,
    cast(c.n_elder_72 as double) as n_elder_72,
    cast(coalesce(c.head_age_roster, c.oldest_age) as double)        as head_age,
    cast(c.n_wage_known as double) as n_wage_known,
    cast(c.n_pension_known as double) as n_pension_known,
    cast(c.n_benefit as double) as n_unemployment_benefit,
    cast(c.n_unknown_adult as double) as n_unknown_adult,
    cast(c.n_unknown_adult_no_record as double) as n_unknown_adult_no_record,
    cast(c.n_unknown_adult_status_none as double) as n_unknown_adult_status_none,
    cast(c.n_unemployed_no_benefit as double) as n_unemployed_no_benefit,
    cast(c.n_unknown_elder as double) as n_unknown_elder,
    cast(c.n_small_pension as double) as n_small_pension,
    c.unknown_adult_mean_age,
    1.0 - c.known_members / h.size                                   as unknown_share,
    c.wage_yuan / h.size / h.dibao_std_yuan                          as wage_pc_ratio,
    coalesce(c.pension_known_yuan, 0) / h.size / h.dibao_std_yuan    as pension_pc_ratio,
    coalesce(c.small_pension_yuan, 0) / h.size / h.dibao_std_yuan    as small_pension_pc_ratio,
    cast(coalesce(cert.n_severe_disabled, 0) as double)              as n_severe_disabled,
    cast(coalesce(cert.n_other_disabled, 0) as double)               as n_other_disabled,
    coalesce(w.oop_3m_ratio, 0)                                      as oop_3m_ratio,
    coalesce(w.oop_12m_ratio, 0)                                     as oop_12m_ratio,
    cast(coalesce(cat.catastrophic_months_12m, 0) as double)         as catastrophic_months_12m,
    coalesce(w.edu_12m_ratio, 0)                                     as edu_12m_ratio,
    cast(coalesce(st.n_senior_plus, 0) as double)                    as n_senior_plus,
    cast(coalesce(st.n_boarding, 0) as double)                       as n_boarding,
    cast(hs.properties as double)                                    as properties,
    hs.property_area_m2 / h.size                                     as property_area_pc,
    case when hs.public_rental then 1.0 when hs.public_rental is not null then 0.0 end as public_rental,
    cast(hs.dilapidated as double)                                   as dilapidated,
    dep.assets_yuan / h.size / h.dibao_std_yuan                      as assets_pc_ratio,
    cast(greatest(v.vehicle_events, 0) as double)                    as vehicles,
    cast(coalesce(b.active_businesses, 0) as double)                 as active_businesses,
    coalesce(b.business_capital_yuan, 0) / 10000.0                   as business_capital_10k,
    coalesce(w.disaster_12m_ratio, 0)                                as disaster_loss_12m_ratio,
    cast(coalesce(ds.severe_disasters_12m, 0) as double)             as severe_disasters_12m,
    cast(coalesce(g.grid_findings_6m, 0) as double)                  as grid_findings_6m,
    cast(coalesce(he.deaths_12m, 0) as double)                       as deaths_12m,
    cast(coalesce(he.arrivals_12m, 0) as double)                     as arrivals_12m,
    cast(coalesce(he.departures_12m, 0) as double)                   as departures_12m,
    case when wt.on_watch then 1.0 else 0.0 end                      as on_relapse_watch,
    cov.surveyed_income_yuan / h.size / h.dibao_std_yuan             as surveyed_pc_ratio,
    la.pc_yuan / h.dibao_std_yuan                                    as last_assessed_pc_ratio,
    cast(date_diff('month', la.check_date, (select month_end from calendar)) as double) as months_since_assessed,
    lr.pc_yuan / h.dibao_std_yuan                                    as last_registered_pc_ratio,
    -- income on record as a floor: the observed income of the last 3 months, or the registered income
    -- (wages, pensions, business, rent) of an information-based check of the last 12 months that no
    -- birth, death or move in the household has followed, whichever is larger (null: neither known).
    -- It replaces obs_pc_ratio_3m as a feature: a household's label row never has an earlier check
    -- of its own, so the trees learn what a floor above the line means from the observed floors
    greatest(w.obs_pc_ratio_3m,
             case when lr.check_date > (select month_end from calendar) - interval 12 month
                   and (he.last_change_date is null or he.last_change_date <= lr.check_date)
                  then lr.pc_yuan / h.dibao_std_yuan end)           as known_floor_pc_ratio,
    vi.village_wage_yuan / h.dibao_std_yuan                          as village_wage_ratio,
    cast(vi.village_wage_earners as double)                          as village_wage_earners,
    co.county_wage_yuan / h.dibao_std_yuan                           as county_wage_ratio,
    -- hardship signals of the last 6 months (docs/indicators.md), one count per kind
    cast(coalesce(cat.catastrophic_months_6m, 0) as double)          as hs_catastrophic_6m,
    cast(coalesce(cert.n_severe_new_6m, 0) as double)                as hs_severe_disability_6m,
    cast(coalesce(d16.working_age_deaths_6m, 0) as double)           as hs_working_age_death_6m,
    cast(coalesce(nu.new_unemployed_6m, 0) as double)                as hs_new_unemployed_6m,
    case when coalesce(wt.watch_listed_6m, false) then 1.0 else 0.0 end as hs_watch_listed_6m
from households h
left join composition c using (household_id)
left join windows w using (household_id)
left join catastrophic cat using (household_id)
left join students st using (household_id)
left join certificates cert using (household_id)
left join housing hs using (household_id)
left join deposits dep using (household_id)
left join vehicles v using (household_id)
left join businesses b using (household_id)
left join hukou_events he using (household_id)
left join deaths_16_59 d16 using (household_id)
left join new_unemployment nu using (household_id)
left join disasters ds using (household_id)
left join grid g using (household_id)
left join watched wt using (household_id)
left join coverage cov using (household_id)
left join last_assessed la using (household_id)
left join last_registered lr using (household_id)
left join villages vi on vi.region_code = h.region_code
left join counties co on co.county_code = h.county_code
