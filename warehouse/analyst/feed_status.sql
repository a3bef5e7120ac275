-- 数据源新鲜度与质量 Feed freshness and data-quality status per feed and department.
create or replace view feed_status as
with ref as (
    select as_of from build_info
),
d as (
    select * from deliveries
),
per_feed as (
    select
        feed_id,
        max(period) filter (where status = 'loaded') as last_loaded_period,
        max(delivery_date) as last_delivery_date,
        arg_max(delivery_id, (delivery_date, delivery_id)) as latest_delivery_id,
        arg_max(status, (delivery_date, delivery_id)) as latest_status,
        arg_max(error_count, (delivery_date, delivery_id)) as latest_error_count,
        count(*) as deliveries,
        count(*) filter (where status = 'loaded') as loaded,
        count(*) filter (where status = 'rejected') as rejected,
        count(*) filter (where status = 'superseded') as superseded,
        count(*) filter (where status = 'waiting') as waiting
    from d
    group by feed_id
),
feeds_seen as (
    select f.*, p.* exclude (feed_id)
    from feeds f
    left join per_feed p using (feed_id)
),
aged as (
    select
        *,
        (year((select as_of from ref)) * 12 + month((select as_of from ref)))
          - (cast(left(last_loaded_period, 4) as integer) * 12 + cast(right(last_loaded_period, 2) as integer))
          - 1 as months_behind,
        date_diff('day', last_delivery_date, (select as_of from ref)) as days_since_delivery
    from feeds_seen
)
select
    feed_id,
    department,
    name_zh as feed_name,
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
        when deliveries is null then 'missing'
        when latest_status = 'rejected' then 'rejected'
        when last_loaded_period is null then 'missing'
        when latest_status = 'waiting' then 'waiting'
        when cadence = 'daily' and days_since_delivery > 3 then 'stale'
        when stale_after_months is not null and months_behind > stale_after_months then 'stale'
        else 'ok'
    end as freshness_status
from aged
order by department, feed_id;

comment on view feed_status is '数据源新鲜度与质量 Per feed: last loaded month, last delivery, latest validation result, delivery counts by status, and a freshness status (ok / stale / rejected / waiting / missing) as of build_info.as_of.';
comment on column feed_status.feed_id is '数据源 Feed id';
comment on column feed_status.department is '部门 Delivering department';
comment on column feed_status.feed_name is '数据源名称 Feed name (Chinese)';
comment on column feed_status.cadence is '频率 monthly / quarterly / term / daily / reference';
comment on column feed_status.last_loaded_period is '最新已入库月份 Latest period with a loaded (valid) delivery';
comment on column feed_status.last_delivery_date is '最近交付日期 Date of the latest delivery, whatever its status';
comment on column feed_status.latest_delivery_id is '最近交付编号 delivery_id of the latest delivery';
comment on column feed_status.latest_status is '最近交付状态 Status of the latest delivery';
comment on column feed_status.latest_error_count is '最近交付错误数 Blocking validation failures of the latest delivery';
comment on column feed_status.deliveries is '交付总数 Deliveries seen';
comment on column feed_status.loaded is '已入库 Deliveries loaded';
comment on column feed_status.rejected is '被拒 Deliveries rejected by validation';
comment on column feed_status.superseded is '被替代 Deliveries replaced by a correction';
comment on column feed_status.waiting is '等待中 Folders without a manifest yet';
comment on column feed_status.months_behind is '滞后月数 Months between the last loaded period and the month before as_of (0 = up to date)';
comment on column feed_status.days_since_delivery is '距上次交付天数 Days from the last delivery date to as_of';
comment on column feed_status.freshness_status is '状态 ok / stale (behind its cadence) / rejected (latest delivery failed validation) / waiting / missing';
