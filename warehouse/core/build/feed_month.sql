-- core.feed_month: ops.completeness as of this build, with the load time of each delivery.
-- A daily month of mem_disaster (additive deliveries, from ops.feeds.daily_since) takes as its
-- delivery the newest delivery holding a version of a record that counts, or counted, for that month
-- (staging.mem_disaster_current's rules): a correction or a withdrawal arriving after the month
-- closed changes it, so the month's core facts are rebuilt and its indicators re-evaluated.
with completeness as (
    select feed_id, period, status, delivery_id from ops.completeness
),
deliveries as (
    select delivery_id, max(status_at) as loaded_at, max(delivery_date) as delivery_date
    from ops.deliveries group by delivery_id
),
daily_since as (
    select daily_since from ops.feeds where feed_id = 'mem_disaster'
),
versions as (
    select s.disaster_id, s.person_id, s.delivery_id, d.delivery_date,
           case when strftime(s.occurred_on, '%Y-%m') >= (select daily_since from daily_since)
                then strftime(s.occurred_on, '%Y-%m')
                else min(s.period) over (partition by s.disaster_id, s.person_id) end as month
    from staging.mem_disaster s
    join deliveries d using (delivery_id)
    where s.period >= (select daily_since from daily_since)
),
touched as (
    select k.month as period, arg_max(v.delivery_id, (v.delivery_date, v.delivery_id)) as delivery_id
    from (select distinct disaster_id, person_id, month from versions) k
    join versions v on v.disaster_id = k.disaster_id and v.person_id = k.person_id
    group by k.month
),
resolved as (
    select c.feed_id, c.period, c.status,
           case when c.feed_id = 'mem_disaster' and c.status in ('loaded', 'open') and t.delivery_id is not null
                then t.delivery_id else c.delivery_id end as delivery_id
    from completeness c
    left join touched t on c.feed_id = 'mem_disaster' and t.period = c.period
)
select r.feed_id, r.period, r.status, r.delivery_id, d.loaded_at
from resolved r
left join deliveries d using (delivery_id)
