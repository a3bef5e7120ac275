-- staging.mem_disaster_current: the mem_disaster record in force per key, the relation core and the
-- indicators read (never staging.mem_disaster directly).
--   Monthly periods (before ops.feeds.daily_since): the month's one loaded delivery is the truth of
--   that month; within it the last line of a disaster_id + person_id wins (as a correction in the
--   file). The record counts for the delivery's period.
--   Daily periods (from daily_since): every delivery adds; per disaster_id + person_id the record of
--   the latest delivery (folder date, then produced_at, then the last line) is in force, a withdrawn
--   one retracts the key. The record counts for the month of its occurred_on (records of the last days
--   of a month arrive in the first days of the next: that is why a daily month closes after the 5th
--   of the next one; a later record lands in its own month, which is then re-evaluated). A disaster
--   that occurred before daily_since counts for the period of the delivery that first reported it
--   (the monthly month keeps its own delivery, as before).
create or replace view staging.mem_disaster_current as
with feed as (
    select daily_since from ops.feeds where feed_id = 'mem_disaster'
),
versions as (
    select s.*, d.delivery_date, d.produced_at,
           coalesce(s.period >= (select daily_since from feed), false) as daily
    from staging.mem_disaster s
    left join ops.deliveries d using (delivery_id)
),
ranked as (
    select *,
           row_number() over (
               partition by case when daily then '' else period end, disaster_id, person_id
               order by delivery_date desc, produced_at desc nulls last, delivery_id desc, _row desc, _file desc
           ) as version_rank,
           min(period) over (partition by case when daily then '' else period end, disaster_id, person_id)
               as first_period
    from versions
)
select
    disaster_id,
    disaster_type,
    occurred_on,
    person_id,
    region_code,
    house_damage,
    loss_yuan,
    emergency_aid_yuan,
    status,
    case when not daily then period
         when strftime(occurred_on, '%Y-%m') >= (select daily_since from feed) then strftime(occurred_on, '%Y-%m')
         else first_period end as period,
    period as delivered_period,
    delivery_id,
    _file,
    _row
from ranked
where version_rank = 1 and coalesce(status, 'active') <> 'withdrawn';
comment on view staging.mem_disaster_current is 'The disaster record in force per disaster_id + person_id (应急管理 受灾人员), withdrawn records excluded: what core and the indicators read. Monthly periods (before the feed''s daily_since, 2026-04): the last line of the month''s loaded delivery per key. Daily periods: the record of the latest delivery per key across all daily deliveries (a later record corrects, status withdrawn retracts).';
comment on column staging.mem_disaster_current.disaster_id is 'Disaster id.';
comment on column staging.mem_disaster_current.disaster_type is 'flood, typhoon, earthquake, drought, fire, landslide, other.';
comment on column staging.mem_disaster_current.occurred_on is 'Date the disaster occurred.';
comment on column staging.mem_disaster_current.person_id is '身份证号 of the household head.';
comment on column staging.mem_disaster_current.region_code is '12-digit region code.';
comment on column staging.mem_disaster_current.house_damage is 'collapsed, severe, moderate, none.';
comment on column staging.mem_disaster_current.loss_yuan is 'Assessed direct loss, yuan.';
comment on column staging.mem_disaster_current.emergency_aid_yuan is 'Emergency aid already paid, yuan.';
comment on column staging.mem_disaster_current.status is 'Always active here (withdrawn keys are left out).';
comment on column staging.mem_disaster_current.period is 'Data month YYYY-MM the record counts for: the delivery''s period for monthly periods; for daily periods the month of occurred_on, or, for a disaster that occurred before daily_since, the period of the delivery that first reported the key.';
comment on column staging.mem_disaster_current.delivered_period is 'Period of the delivery that brought the record in force.';
comment on column staging.mem_disaster_current.delivery_id is 'Delivery that brought the record in force.';
comment on column staging.mem_disaster_current._file is 'File name of that record in its delivery.';
comment on column staging.mem_disaster_current._row is 'Row of that record in its file.';
