-- ops.feed_status(as_of): per feed, the deliveries visible on the night as_of, the latest validation
-- result and a freshness status. The one definition of "is this feed up to date": the nightly report
-- reads it, and the analyst database keeps a copy as of its night. A feed whose first period (since)
-- is not due yet is not_started, not missing; a feed delivered daily from daily_since on goes stale by
-- days from then. A feed with a delivery held for a person's release (or released, not yet loaded)
-- is held whatever else holds: someone must look at it.
create or replace macro ops.feed_status(as_of_date) as table
with d as (
    select * from ops.deliveries where delivery_date <= as_of_date
),
per_feed as (
    select
        feed_id,
        max(period) filter (where status = 'loaded') as last_loaded_period,
        max(delivery_date) as last_delivery_date,
        arg_max(delivery_id, (delivery_date, delivery_id)) as latest_delivery_id,
        arg_max(status, (delivery_date, delivery_id)) as latest_status,
        arg_max(coalesce(json_array_length(try_cast(errors as json)), 0), (delivery_date, delivery_id)) as latest_error_count,
        arg_max(delivery_kind, (period, delivery_date, delivery_id)) filter (where status = 'loaded') as latest_loaded_kind,
        count(*) as deliveries,
        count(*) filter (where status = 'loaded') as loaded,
        count(*) filter (where status = 'rejected') as rejected,
        count(*) filter (where status = 'superseded') as superseded,
        count(*) filter (where status = 'waiting') as waiting,
        count(*) filter (where status in ('held', 'released')) as held
    from d
    group by feed_id
),
aged as (
    select
        f.feed_id, f.department, f.title as feed_name, f.cadence, f.stale_after_months, f.since, f.daily_since,
        f.layouts, f.tables, p.* exclude (feed_id),
        (year(as_of_date) * 12 + month(as_of_date))
          - (cast(left(p.last_loaded_period, 4) as integer) * 12 + cast(right(p.last_loaded_period, 2) as integer))
          - 1 as months_behind,
        date_diff('day', p.last_delivery_date, as_of_date) as days_since_delivery,
        -- the month whose monthly delivery is due on this night, and the month of a daily delivery of it
        strftime(as_of_date - interval 1 month, '%Y-%m') as due_period,
        strftime(as_of_date - interval 1 day, '%Y-%m') as daily_period
    from ops.feeds f
    left join per_feed p using (feed_id)
)
select
    feed_id,
    department,
    feed_name,
    cadence,
    last_loaded_period,
    last_delivery_date,
    latest_delivery_id,
    latest_status,
    latest_error_count,
    coalesce(deliveries, 0) as deliveries,
    coalesce(loaded, 0) as loaded,
    coalesce(rejected, 0) as rejected,
    coalesce(superseded, 0) as superseded,
    coalesce(waiting, 0) as waiting,
    months_behind,
    days_since_delivery,
    case
        when deliveries is null and since is not null and due_period < since then 'not_started'
        when deliveries is null then 'missing'
        when held > 0 then 'held'
        when latest_status = 'rejected' then 'rejected'
        when last_loaded_period is null then 'missing'
        when latest_status = 'waiting' then 'waiting'
        when (cadence = 'daily' or daily_period >= daily_since) and days_since_delivery > 3 then 'stale'
        when stale_after_months is not null and months_behind > stale_after_months then 'stale'
        else 'ok'
    end as freshness_status,
    since,
    daily_since,
    latest_loaded_kind,
    layouts,
    tables
from aged
order by feed_id;
