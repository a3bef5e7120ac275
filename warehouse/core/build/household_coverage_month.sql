-- core.household_coverage_month for data month $period: verified / surveyed / full / partial, and the
-- income the rules use (principle 5). Uses the latest deliveries of each feed for periods <= the month.
with members as (
    select * from core.member_income_month where period = $period
),
persons as (
    select * from core.person_month where period = $period
),
previous_persons as (
    select household_id, person_id from core.person_month where period = strftime(cast($period || '-01' as date) - interval 1 month, '%Y-%m')
),
calendar as (
    select month_start, month_end, month_idx from core.month_calendar where period = $period
),
households as (
    select household_id, count(*) as size, count(*) filter (where income_known) as known_members,
           sum(observed_income_yuan) as observed_income_yuan,
           bool_and(observed_income_yuan is not null) as observed
    from members
    group by household_id
),
pensions as (
    -- the pensions HRSS pays the members this month: a survey's transfer income includes them (with the
    -- assistance benefits), so its own-income figure leaves them out -- they are income to every rule
    select p.household_id, sum(i.pension_yuan) as pension_yuan
    from persons p join core.person_income_month i on i.person_id = p.person_id and i.period = $period
    where i.pension_yuan > 0
    group by p.household_id
),
household_keys as (
    select household_id, min(family_id) as family_id, min(hukou_no) as hukou_no
    from persons group by household_id
),
unknown_members as (
    select household_id,
           -- sorted by relation, then reason (a list sort: an ordered string_agg costs seconds at 1M)
           array_to_string(list_transform(list_sort(list({'relation': coalesce(relation, 'member'), 'reason': reason})),
                                          m -> m.relation || ':' || m.reason), ', ') as unknown_list
    from members where not income_known
    group by household_id
),
recent_checks as (
    -- checks of any basis dated in the 12 months up to the month's end, attributed to a household: the
    -- check's family; else the applicant's roster family this month; else the hukou household
    select c.check_id, c.check_date, c.reason, c.income_basis, c.outcome, c.monthly_income_yuan,
           c.financial_assets_yuan, c.vehicles, c.household_size,
           coalesce(c.family_id, a.family_id, 'H' || c.hukou_no) as household_id
    from staging.mca_econ_checks c
    left join persons a on a.person_id = c.applicant_id and a.on_roster
    where c.period <= $period and c.check_date <= (select month_end from calendar)
      and c.check_date > (select month_end from calendar) - interval 12 month
),
checks as (
    -- the assessed ones of the last 6 months: they verify the income
    select check_id, check_date, reason, monthly_income_yuan, household_id
    from recent_checks
    where income_basis = 'assessed' and monthly_income_yuan is not null
      and check_date > (select month_end from calendar) - interval 6 month
),
check_history as (
    -- what the checks of the last 12 months say besides the income: an application in process, an
    -- outcome above the edge line, and the assets the latest check found
    select household_id,
           max(check_date) filter (where reason = 'application') as application_date,
           max(check_date) filter (where outcome = 'above_edge') as above_edge_date,
           arg_max(check_id, (check_date, check_id)) as assets_check_id,
           arg_max(check_date, (check_date, check_id)) as assets_check_date,
           arg_max(financial_assets_yuan, (check_date, check_id)) as check_assets_yuan,
           arg_max(vehicles, (check_date, check_id)) as check_vehicles,
           arg_max(household_size, (check_date, check_id)) as check_size
    from recent_checks
    group by household_id
),
events as (
    -- births, deaths and moves up to the month's end: they change who the check counted
    select person_id, hukou_no, event_date from staging.mps_hukou_events
    where period <= $period and event_type in ('birth', 'death', 'move_in', 'move_out')
      and event_date <= (select month_end from calendar)
      and event_date > (select month_end from calendar) - interval 6 month
),
household_events as (
    -- the events of each household: of a member (this month's or last month's) or in its hukou
    select k.household_id, e.event_date from events e join household_keys k on k.hukou_no = e.hukou_no
    union all
    select p.household_id, e.event_date from events e join persons p on p.person_id = e.person_id
    union all
    select q.household_id, e.event_date from events e join previous_persons q on q.person_id = e.person_id
),
changed_after as (
    -- a check followed by a birth, death or move in its household. Joined on the household's latest
    -- event: a join on the date inequality alone pairs every check with every later event (160 M rows
    -- and an out-of-memory at 1M once a month of checks is in)
    select c.check_id
    from checks c
    join (select household_id, max(event_date) as last_event_date from household_events group by household_id) l
      using (household_id)
    where l.last_event_date > c.check_date
),
latest_check as (
    select * from checks
    where check_id not in (select check_id from changed_after)
    qualify row_number() over (partition by household_id order by check_date desc, check_id desc) = 1
),
any_check as (
    select household_id, monthly_income_yuan, check_id, check_date from checks
    qualify row_number() over (partition by household_id order by check_date desc, check_id desc) = 1
),
watch as (
    -- the newest relapse-watch snapshot for a period <= the month; its survey of the last 18 months
    select w.*
    from staging.moa_relapse_watch w
    where w.period = (select max(period) from staging.moa_relapse_watch where period <= $period)
      and w.income_year is not null and w.net_income_per_capita_yuan is not null
      and (select month_idx from calendar) - (w.income_year * 12 + 11) <= 18
),
watched as (
    select k.household_id, w.watch_id, w.income_year,
           (w.net_income_per_capita_yuan - coalesce(w.transfer_income_per_capita_yuan, 0)) / 12.0 as per_capita_month
    from watch w
    join household_keys k on k.hukou_no = w.hukou_no
    union
    select p.household_id, w.watch_id, w.income_year,
           (w.net_income_per_capita_yuan - coalesce(w.transfer_income_per_capita_yuan, 0)) / 12.0
    from watch w
    join persons p on p.person_id = w.head_person_id
),
survey as (
    select * from watched
    qualify row_number() over (partition by household_id order by income_year desc, watch_id) = 1
),
covered as (
    select
        h.household_id,
        h.size,
        h.known_members,
        case when h.observed then h.observed_income_yuan end as observed_income_yuan,
        case
            when c.check_id is not null then 'verified'
            when s.watch_id is not null then 'surveyed'
            when h.known_members = h.size then 'full'
            else 'partial'
        end as income_coverage,
        c.check_id as verifying_check,
        c.check_date as verifying_date,
        c.reason as check_reason,
        c.monthly_income_yuan as verifying_income,
        a.monthly_income_yuan as verified_income_yuan,
        a.check_id,
        a.check_date,
        -- the survey's own income (net income less transfers) and this month's pensions on record
        case when s.watch_id is not null then round(s.per_capita_month * h.size, 2)
                                              + coalesce(pn.pension_yuan, 0) end as surveyed_income_yuan,
        s.watch_id,
        s.income_year,
        u.unknown_list,
        ch.application_date,
        ch.above_edge_date,
        ch.assets_check_id,
        ch.assets_check_date,
        ch.check_assets_yuan,
        ch.check_vehicles,
        ch.check_size
    from households h
    left join latest_check c using (household_id)
    left join any_check a using (household_id)
    left join survey s using (household_id)
    left join pensions pn using (household_id)
    left join unknown_members u using (household_id)
    left join check_history ch using (household_id)
)
select
    $period as period,
    household_id,
    cast(size as integer) as size,
    cast(known_members as integer) as known_members,
    observed_income_yuan,
    income_coverage,
    case income_coverage
        when 'verified' then 'assessed check ' || strftime(verifying_date, '%Y-%m-%d') || ' (' || check_reason || ')'
        when 'surveyed' then 'relapse-watch survey of ' || income_year
        when 'full' then 'all ' || size || ' members known'
        else 'unknown ' || (size - known_members) || '/' || size || ': ' || unknown_list
    end as coverage_reason,
    verified_income_yuan,
    check_id,
    check_date,
    surveyed_income_yuan,
    watch_id,
    case income_coverage
        when 'verified' then verifying_income
        when 'surveyed' then greatest(coalesce(observed_income_yuan, 0), surveyed_income_yuan)
        else observed_income_yuan
    end as rule_income_yuan,
    application_date,
    above_edge_date,
    assets_check_id,
    assets_check_date,
    check_assets_yuan,
    check_vehicles,
    check_size
from covered
