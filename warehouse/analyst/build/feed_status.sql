-- The rows of feed_status: the warehouse's one freshness definition, the table macro
-- ops.feed_status (warehouse/ops/feed_status.sql), as of the build's night $as_of (DATE).
with status as (
    select * from ops.feed_status($as_of)
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
    deliveries,
    loaded,
    rejected,
    superseded,
    waiting,
    months_behind,
    days_since_delivery,
    freshness_status,
    since,
    daily_since,
    latest_loaded_kind,
    layouts,
    tables
from status
order by department, feed_id
