-- core.standards_month for data month $period: the newest standards version in force, the month's year.
with standards as (
    select * from staging.ref_standards
),
month as (
    select period, year from core.month_calendar where period = $period
),
candidates as (
    select
        m.period,
        s.city_code,
        s.urban_rural,
        s.dibao_monthly_yuan as dibao_std_yuan,
        s.tekun_monthly_yuan as tekun_std_yuan,
        s.year as standard_year,
        s.period as valid_from,
        s.delivery_id
    from month m
    join standards s on s.period <= m.period and s.year <= m.year
    where s.city_code is not null and s.urban_rural is not null
    qualify row_number() over (
        partition by s.city_code, s.urban_rural
        order by s.period desc, s.year desc, s.delivery_id desc, s._row desc) = 1
)
select * from candidates
