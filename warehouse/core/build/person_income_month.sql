-- core.person_income_month for data month $period (principle 5: wage of the employed/flexible
-- + unemployment benefit + pension; no HRSS row = no income).
with hrss as (
    select * from staging.hrss_employment where period = $period and person_id is not null
),
renamed as (
    select
        person_id,
        employment_status,
        case when employment_status in ('employed', 'flexible') then coalesce(contribution_base_yuan, 0) else 0 end
            as wage_yuan,
        coalesce(unemployment_benefit_yuan, 0) as unemployment_benefit_yuan,
        coalesce(pension_yuan, 0) as pension_yuan,
        delivery_id,
        case employment_status when 'employed' then 1 when 'flexible' then 2 when 'unemployed_registered' then 3
                               when 'retired' then 4 else 5 end as status_rank
    from hrss
),
per_person as (
    select
        person_id,
        arg_min(employment_status, status_rank) as employment_status,
        sum(wage_yuan) as wage_yuan,
        sum(unemployment_benefit_yuan) as unemployment_benefit_yuan,
        sum(pension_yuan) as pension_yuan,
        min(delivery_id) as delivery_id
    from renamed
    group by person_id
)
select
    $period as period,
    person_id,
    employment_status,
    wage_yuan + unemployment_benefit_yuan + pension_yuan as income_yuan,
    wage_yuan,
    unemployment_benefit_yuan,
    pension_yuan,
    delivery_id
from per_person
