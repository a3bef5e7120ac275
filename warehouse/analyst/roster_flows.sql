-- 在册规模与进出 Roster size and flows by category and month. A family counts as "in" for a
-- category in month M when it has that category in M but not in M-1, "out" the other way round;
-- flows are null for the first month in the data (no previous month to compare with).
create or replace view roster_flows as
with roster as (
    select period, household_key, category, size
    from household_month
    where on_roster
),
months as (
    select distinct period, strftime(cast(period || '-01' as date) - interval 1 month, '%Y-%m') as prev_period
    from household_month
),
current_side as (
    select m.period, m.prev_period, r.household_key, r.category, r.size
    from months m join roster r using (period)
),
previous_side as (
    select m.period, m.prev_period, r.household_key, r.category
    from months m join roster r on r.period = m.prev_period
),
has_prev as (
    select period, prev_period in (select period from household_month) as comparable from months
),
stock as (
    select period, category, count(*) as households, cast(sum(size) as bigint) as persons
    from current_side group by all
),
inflow as (
    select c.period, c.category, count(*) as households_in
    from current_side c
    anti join previous_side p using (period, household_key, category)
    group by all
),
outflow as (
    select p.period, p.category, count(*) as households_out
    from previous_side p
    anti join current_side c using (period, household_key, category)
    group by all
),
keys as (
    select period, category from stock
    union
    select period, category from outflow
)
select
    k.period,
    k.category,
    coalesce(s.households, 0) as households,
    coalesce(s.persons, 0) as persons,
    case when h.comparable then coalesce(i.households_in, 0) end as households_in,
    case when h.comparable then coalesce(o.households_out, 0) end as households_out
from keys k
join has_prev h using (period)
left join stock s using (period, category)
left join inflow i using (period, category)
left join outflow o using (period, category)
order by k.period, k.category;

comment on view roster_flows is '在册规模与进出 Roster families and persons per category and month, with families entering (in) and leaving (out) each category since the previous month.';
comment on column roster_flows.period is '数据月份 Data month YYYY-MM';
comment on column roster_flows.category is '救助类别 Roster category';
comment on column roster_flows.households is '在册家庭数 Roster families in the category that month';
comment on column roster_flows.persons is '在册人数 Persons in those families';
comment on column roster_flows.households_in is '新进家庭 Families in the category this month but not the previous month (a category change counts as out of one, in to the other)';
comment on column roster_flows.households_out is '退出家庭 Families in the category the previous month but not this month';
