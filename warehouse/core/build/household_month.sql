-- core.household_month for data month $period.
with persons as (
    select * from core.person_month where period = $period
),
incomes as (
    select * from core.person_income_month where period = $period
),
loaded as (
    select feed_id from core.feed_month where period = $period and status = 'loaded'
),
calendar as (
    select month_idx from core.month_calendar where period = $period
),
oop as (
    select household_id, oop_yuan from core.household_oop_month where period = $period
),
edu as (
    select household_id, sum(cost_yuan) as edu_cost_yuan
    from core.student_term where period = $period and household_id is not null
    group by household_id
),
disasters as (
    -- the record in force per disaster_id + person_id (corrections applied, withdrawals left out)
    select * from staging.mem_disaster_current where period = $period
),
disaster_loss as (
    select p.household_id, sum(coalesce(d.loss_yuan, 0)) as disaster_loss_yuan
    from disasters d
    join persons p using (person_id)
    group by p.household_id
),
standards as (
    select * from core.standards_month where period = $period
),
heads as (
    -- roster families: the head's row (family-level values); others: the oldest member. One pass:
    -- arg_min over the order key (on the roster, the head, born earliest, person id) is a window's
    -- row_number() = 1 without sorting 3 M rows
    select household_id,
           arg_min({'head_person_id': person_id, 'family_id': family_id, 'hukou_no': hukou_no, 'category': category,
                    'region_code': region_code, 'urban_rural': urban_rural},
                   {'roster': not coalesce(on_roster, false), 'head': case when relation = 'head' then 0
                                                                       when relation is not null then 1 else 2 end,
                    'undated': birth_date is null, 'born': coalesce(birth_date, date '9999-12-31'),
                    'person': person_id}) as head,
           bool_or(on_roster) as on_roster, count(distinct person_id) as size, min(hukou_no) as any_hukou_no
    from persons
    group by household_id
),
sizes as (
    select household_id, on_roster, size, any_hukou_no from heads
),
coverage as (
    select * from core.household_coverage_month where period = $period
),
household_income as (
    select p.household_id, sum(i.income_yuan) as income_yuan, count(*) as earners
    from persons p
    join incomes i using (person_id)
    group by p.household_id
)
select
    $period as period,
    s.household_id,
    h.family_id,
    coalesce(h.hukou_no, s.any_hukou_no) as hukou_no,
    s.on_roster,
    h.category,
    left(h.region_code, 6) as county_code,
    left(h.region_code, 4) as city_code,
    h.urban_rural,
    cast(s.size as integer) as size,
    h.head_person_id,
    case when 'hrss_employment' in (select feed_id from loaded) then coalesce(i.income_yuan, 0) end as income_yuan,
    'hrss_employment' in (select feed_id from loaded) as income_known,
    coalesce(o.oop_yuan, 0) as oop_yuan,
    coalesce(e.edu_cost_yuan, 0) as edu_cost_yuan,
    st.dibao_std_yuan,
    st.tekun_std_yuan,
    (select month_idx from calendar) as month_idx,
    h.region_code,
    cast(coalesce(i.earners, 0) as integer) as earners,
    'nhsa_claims' in (select feed_id from loaded) as oop_known,
    coalesce(d.disaster_loss_yuan, 0) as disaster_loss_yuan,
    c.income_coverage,
    c.coverage_reason,
    c.observed_income_yuan,
    c.verified_income_yuan,
    c.rule_income_yuan
from sizes s
join (select household_id, unnest(head) from heads) h using (household_id)
left join household_income i using (household_id)
left join coverage c using (household_id)
left join oop o using (household_id)
left join edu e using (household_id)
left join disaster_loss d using (household_id)
left join standards st on st.city_code = left(h.region_code, 4) and st.urban_rural = h.urban_rural
