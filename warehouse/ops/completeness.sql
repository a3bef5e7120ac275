-- ops.completeness: per feed and data month, is a valid (loaded) delivery in?
-- A quarterly snapshot counts for its period and the two following months, a term delivery for
-- the six months of the term, a reference version for every month from its valid_from on.
-- Daily months of a feed with daily_since (additive daily deliveries) are complete once a delivery
-- dated after the closing day of the next month has loaded. Months before a feed's since are
-- not_expected. Months run from the first to the latest month any non-reference delivery is for (its
-- period); a month with nothing is 'missing'. Waiting folders have no period yet and do not appear.
-- A feed with mid-term deliveries (midterm_since) also has the pseudo-feed <feed_id>_midterm: loaded
-- only where the term's loaded delivery is the mid-term one.
create or replace view ops.completeness as
with feeds as (
    select feed_id, cadence, months_covered, since, daily_since, daily_closing_day, midterm_since from ops.feeds
),
deliveries as (
    select d.feed_id, d.period, d.status, d.delivery_id, d.produced_at, d.delivery_date, d.delivery_kind,
           f.months_covered, f.cadence, coalesce(d.period >= f.daily_since, false) as daily
    from ops.deliveries d
    join feeds f using (feed_id)
    where d.status in ('loaded', 'rejected') and d.period is not null
),
covered as (
    select feed_id, cadence, status, delivery_id, produced_at, delivery_date, delivery_kind,
           period as delivered_period,
           strftime(cast(period || '-01' as date) + to_months(cast(k as integer)), '%Y-%m') as period
    from deliveries, range(0, 12) as r(k)
    where k < months_covered and not daily
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
    select f.feed_id, c.period, 'loaded' as status, d.delivery_id, d.produced_at, d.delivery_date, d.delivery_kind,
           d.period as delivered_period
    from feeds f
    join calendar c on true
    join deliveries d on d.feed_id = f.feed_id and d.status = 'loaded' and d.period <= c.period
    where f.cadence = 'reference'
    qualify row_number() over (partition by f.feed_id, c.period order by d.period desc) = 1
),
candidates as (
    select feed_id, period, status, delivery_id, produced_at, delivery_date, delivery_kind, delivered_period
    from covered where cadence <> 'reference'
    union all
    select feed_id, period, status, delivery_id, produced_at, delivery_date, delivery_kind, delivered_period
    from reference
),
best as (
    select * from candidates
    qualify row_number() over (
        partition by feed_id, period
        order by (status = 'loaded') desc, produced_at desc nulls last, delivery_date desc, delivery_id desc) = 1
),
daily_months as (
    -- a daily month M waits for the deliveries dated from M-01 to the closing day of M+1 (records of
    -- the last days of M arrive then)
    select f.feed_id, c.period, cast(c.period || '-01' as date) as month_start,
           cast(cast(c.period || '-01' as date) + interval 1 month as date) + (f.daily_closing_day - 1) as closing_date
    from feeds f
    join calendar c on f.daily_since is not null and c.period >= f.daily_since
),
daily_found as (
    select m.feed_id, m.period,
           -- a rejected daily delivery is a gap (later polls do not send its records again)
           arg_max(d.delivery_id, (d.delivery_date, d.delivery_id)) filter (
               where d.status = 'rejected' and d.delivery_date between m.month_start and m.closing_date) as rejected_id,
           -- the first loaded delivery dated after the closing day: the month is complete
           arg_min(d.delivery_id, (d.delivery_date, d.delivery_id)) filter (
               where d.status = 'loaded' and d.delivery_date > m.closing_date) as closing_id,
           arg_max(d.delivery_id, (d.delivery_date, d.delivery_id)) filter (
               where d.status = 'loaded' and d.delivery_date between m.month_start and m.closing_date) as open_id
    from daily_months m
    left join deliveries d on d.feed_id = m.feed_id and d.daily
    group by m.feed_id, m.period
),
daily as (
    select feed_id, period,
           case when rejected_id is not null then 'rejected' when closing_id is not null then 'loaded'
                else 'open' end as status,
           coalesce(rejected_id, closing_id, open_id) as delivery_id,
           cast(null as varchar) as delivery_kind, period as delivered_period
    from daily_found
    where coalesce(rejected_id, closing_id, open_id) is not null
),
resolved as (
    -- a daily month has no covered candidate (daily deliveries are not in `covered`)
    select feed_id, period, status, delivery_id, delivery_kind, delivered_period from best
    union all
    select feed_id, period, status, delivery_id, delivery_kind, delivered_period from daily
),
feed_months as (
    select f.feed_id, c.period,
           case when r.status is not null then r.status
                when f.since is not null and c.period < f.since then 'not_expected'
                else 'missing' end as status,
           r.delivery_id
    from feeds f
    cross join calendar c
    left join resolved r on r.feed_id = f.feed_id and r.period = c.period
),
midterm as (
    -- <feed_id>_midterm: is the loaded delivery covering the month the term's mid-term one?
    select f.feed_id || '_midterm' as feed_id, c.period,
           case when r.status = 'loaded' and r.delivery_kind = 'mid_term' then 'loaded'
                when coalesce(r.delivered_period, c.period) < f.midterm_since then 'not_expected'
                when r.status = 'loaded' then 'open'
                else coalesce(r.status, 'missing') end as status,
           r.delivery_id
    from feeds f
    cross join calendar c
    left join resolved r on r.feed_id = f.feed_id and r.period = c.period
    where f.midterm_since is not null
)
select feed_id, period, status, delivery_id from feed_months
union all
select feed_id, period, status, delivery_id from midterm
order by feed_id, period;
comment on view ops.completeness is 'Per feed and data month: loaded (a valid delivery is in, with its delivery_id), rejected (only rejected deliveries cover the month), open (a daily month not yet closed, or a term whose mid-term delivery is not in yet), not_expected (before the feed''s since) or missing. Quarterly snapshots cover 3 months, term deliveries 6, reference versions every month from valid_from, daily months close after the closing day of the next month. Pseudo-feed <feed_id>_midterm (moe_students_midterm): loaded where the term''s loaded delivery is the mid-term one.';
comment on column ops.completeness.feed_id is 'Feed id, or the pseudo-feed <feed_id>_midterm.';
comment on column ops.completeness.period is 'Data month YYYY-MM.';
comment on column ops.completeness.status is 'loaded / rejected / open / not_expected / missing. Daily months: rejected while a delivery dated from the month''s first day to the closing day of the next month is rejected; loaded once a delivery dated after that closing day has loaded; open before. <feed_id>_midterm: loaded (mid-term delivery loaded), open (the start-of-term delivery is the loaded one), not_expected (a term before midterm_since), else as the feed.';
comment on column ops.completeness.delivery_id is 'The delivery that covers the month (the loaded one; else the newest rejected; for a daily month: the closing delivery, the newest rejected one, or while open the newest loaded one); null when missing or not_expected.';
