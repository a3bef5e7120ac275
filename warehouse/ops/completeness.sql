-- ops.completeness: per feed and data month, is a valid (loaded) delivery in?
-- A quarterly snapshot counts for its period and the two following months, a term delivery for
-- the six months of the term, a reference version for every month from its valid_from on.
-- Months run from the first to the latest month any non-reference delivery is for (its period);
-- a month with nothing is 'missing'. Waiting folders have no period yet and do not appear.
create or replace view ops.completeness as
with feeds as (
    select feed_id, cadence, months_covered from ops.feeds
),
deliveries as (
    select d.feed_id, d.period, d.status, d.delivery_id, d.produced_at, d.delivery_date, f.months_covered, f.cadence
    from ops.deliveries d
    join feeds f using (feed_id)
    where d.status in ('loaded', 'rejected') and d.period is not null
),
covered as (
    select feed_id, cadence, status, delivery_id, produced_at, delivery_date,
           strftime(cast(period || '-01' as date) + to_months(cast(k as integer)), '%Y-%m') as period
    from deliveries, range(0, 12) as r(k)
    where k < months_covered
),
bounds as (
    -- from the first to the latest month any (non-reference) delivery describes; a quarter's or a
    -- term's coverage does not stretch the calendar into months no feed has reached yet
    select min(period) as first_month, max(period) as last_month from deliveries where cadence <> 'reference'
),
calendar as (
    select strftime(m, '%Y-%m') as period
    from bounds, range(cast(first_month || '-01' as date), cast(last_month || '-01' as date) + interval 1 month,
                       interval 1 month) as t(m)
),
reference as (
    -- the reference version in force for a month: the newest loaded valid_from <= month
    select f.feed_id, c.period, 'loaded' as status, d.delivery_id, d.produced_at, d.delivery_date
    from feeds f
    join calendar c on true
    join deliveries d on d.feed_id = f.feed_id and d.status = 'loaded' and d.period <= c.period
    where f.cadence = 'reference'
    qualify row_number() over (partition by f.feed_id, c.period order by d.period desc) = 1
),
candidates as (
    select feed_id, period, status, delivery_id, produced_at, delivery_date from covered where cadence <> 'reference'
    union all
    select feed_id, period, status, delivery_id, produced_at, delivery_date from reference
),
best as (
    select * from candidates
    qualify row_number() over (
        partition by feed_id, period
        order by (status = 'loaded') desc, produced_at desc nulls last, delivery_date desc, delivery_id desc) = 1
)
select f.feed_id, c.period, coalesce(b.status, 'missing') as status, b.delivery_id
from feeds f
cross join calendar c
left join best b on b.feed_id = f.feed_id and b.period = c.period
order by f.feed_id, c.period;
comment on view ops.completeness is 'Per feed and data month: loaded (a valid delivery is in, with its delivery_id), rejected (only rejected deliveries cover the month) or missing. Quarterly snapshots cover 3 months, term deliveries 6, reference versions every month from valid_from.';
comment on column ops.completeness.feed_id is 'Feed id.';
comment on column ops.completeness.period is 'Data month YYYY-MM.';
comment on column ops.completeness.status is 'loaded / rejected / missing.';
comment on column ops.completeness.delivery_id is 'The delivery that covers the month (the loaded one; else the newest rejected); null when missing.';
