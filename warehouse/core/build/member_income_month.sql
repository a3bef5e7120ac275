-- core.member_income_month for data month $period: known or unknown income per member (principle 5).
with persons as (
    select * from core.person_month where period = $period
),
incomes as (
    select * from core.person_income_month where period = $period
),
hrss_loaded as (
    select count(*) > 0 as loaded from core.feed_month
    where period = $period and feed_id = 'hrss_employment' and status = 'loaded'
),
standards as (
    select * from core.standards_month where period = $period
),
latest_term as (
    -- students of the newest moe_students delivery for a term starting on or before the month
    select max(period) as period from staging.moe_students where period <= $period
),
students as (
    select distinct person_id from staging.moe_students
    where period = (select period from latest_term) and person_id is not null
),
month_end as (
    select month_end from core.month_calendar where period = $period
),
members as (
    select
        p.household_id,
        p.person_id,
        p.relation,
        p.region_code,
        p.urban_rural,
        date_diff('year', p.birth_date, (select month_end from month_end))
          - case when strftime(p.birth_date, '%m%d') > strftime((select month_end from month_end), '%m%d') then 1 else 0 end
            as age,
        i.person_id is not null as has_row,
        i.employment_status,
        coalesce(i.unemployment_benefit_yuan, 0) as unemployment_benefit_yuan,
        coalesce(i.pension_yuan, 0) as pension_yuan,
        i.income_yuan,
        s.person_id is not null as student
    from persons p
    left join incomes i using (person_id)
    left join students s using (person_id)
),
judged as (
    select
        m.*,
        st.dibao_std_yuan,
        case
            when m.age < 16 then 'child'
            when m.student then 'student'
            when not (select loaded from hrss_loaded) then 'hrss_not_delivered'
            when m.employment_status = 'employed' then 'employed'
            when m.employment_status = 'flexible' then 'flexible'
            when m.unemployment_benefit_yuan > 0 then 'unemployment_benefit'
            when st.dibao_std_yuan is not null and m.pension_yuan >= st.dibao_std_yuan then 'pension'
            when not m.has_row then 'no_hrss_record'
            when m.pension_yuan > 0 then 'small_pension'
            when m.employment_status = 'unemployed_registered' then 'unemployed_no_benefit'
            when m.employment_status = 'retired' then 'retired_no_pension'
            else 'status_none'
        end as reason
    from members m
    left join standards st on st.city_code = left(m.region_code, 4) and st.urban_rural = m.urban_rural
)
select
    $period as period,
    household_id,
    person_id,
    relation,
    cast(age as integer) as age,
    case when (select loaded from hrss_loaded) then coalesce(income_yuan, 0) end as observed_income_yuan,
    reason in ('child', 'student', 'employed', 'flexible', 'unemployment_benefit', 'pension') as income_known,
    reason
from judged
