-- mart.delivery_quality(due_day): the monthly summary per department and data month: deliveries, on
-- time, late, rejected (for the data, not a retried internal failure), rows loaded and the share of
-- them warned; one row per department and month, and one per month for all departments.
create or replace macro mart.delivery_quality(due_day) as table
select
    period,
    case when grouping(department) = 0 then department else 'all' end as department,
    count(*) as deliveries,
    count(*) filter (where on_time) as on_time,
    count(*) filter (where not on_time) as late,
    count(*) filter (where status = 'rejected' and not retry) as rejected,
    count(*) filter (where status in ('loaded', 'superseded')) as loaded,
    cast(sum(rows) filter (where status in ('loaded', 'superseded')) as bigint) as rows_loaded,
    cast(sum(warned_rows) filter (where status in ('loaded', 'superseded')) as bigint) as warned_rows,
    cast(round(sum(warned_rows) filter (where status in ('loaded', 'superseded'))
               / nullif(sum(rows) filter (where status in ('loaded', 'superseded')), 0), 4) as decimal(6,4)) as warned_share
from mart.deliveries_due(due_day)
where due_on is not null
group by grouping sets ((period, department), (period));
comment on macro table mart.delivery_quality is '数据质量 monthly summary per department and data month (and all departments): deliveries, on_time, late, rejected (for the data), loaded, rows_loaded, warned_rows, warned_share = warned_rows / rows_loaded. Reference feeds are left out.';
