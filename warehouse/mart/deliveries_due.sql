-- mart.deliveries_due(due_day): every delivery of a department feed with its due date, whether
-- it came on time, what happened to it and how many of its rows drew a warning. due_day is
-- models/departments.toml delivery_due_day (pipelines.rules Rules.delivery_due_day): a delivery of
-- data month P is due on that day of the month after P; a mid-term moe_students delivery on that
-- day of the month after the term's mid-term date (its first day + the feed's midterm_after_days).
-- Reference feeds (region list, standards) have no due date. Folders still waiting for their
-- manifest are left out.
create or replace macro mart.deliveries_due(due_day) as table
with d as (
    select * from ops.deliveries where status <> 'waiting' and period is not null
),
feeds as (
    select feed_id, department, title, cadence, coalesce(midterm_after_days, 0) as midterm_after_days from ops.feeds
),
warning_checks as (
    -- one line per offending row (the first few of each check), count = the check's failing rows;
    -- a warning about a whole file (no row, no count: an unannounced column) warns no row
    select delivery_id,
           greatest(max(try_cast(w->>'count' as bigint)), count(*) filter (where w->>'row' is not null)) as n
    from (select delivery_id, unnest(try_cast(warnings as json[])) as w from d)
    group by delivery_id, w->>'file', w->>'field', w->>'check'
),
warned as (
    select delivery_id, sum(coalesce(n, 0)) as findings from warning_checks group by delivery_id
),
dated as (
    select d.*, f.department, f.title, f.cadence,
           case when f.cadence = 'reference' then null
                when d.delivery_kind = 'mid_term'
                    then cast(date_trunc('month', cast(d.period || '-01' as date) + f.midterm_after_days)
                              + interval 1 month + (due_day - 1) * interval 1 day as date)
                else cast(cast(d.period || '-01' as date) + interval 1 month + (due_day - 1) * interval 1 day as date)
           end as due_on
    from d
    join feeds f using (feed_id)
)
select
    delivery_id,
    feed_id,
    department,
    title as feed_name,
    period,
    delivery_date,
    delivery_kind,
    due_on,
    case when due_on is null then null else delivery_date <= due_on end as on_time,
    status,
    coalesce(retry, false) as retry,
    coalesce(rows, 0) as rows,
    coalesce(json_array_length(try_cast(errors as json)), 0) as error_lines,
    coalesce(json_array_length(try_cast(warnings as json)), 0) as warning_lines,
    least(coalesce(w.findings, 0), coalesce(rows, 0)) as warned_rows
from dated
left join warned w using (delivery_id);
comment on macro table mart.deliveries_due is '数据质量 per delivery: its due date (delivery_due_day of the month after its period; reference feeds none), on_time, status, rows loaded, error and warning lines, and warned_rows = rows that drew a warning (per warning check its failing-row count, summed over checks, at most the rows).';
