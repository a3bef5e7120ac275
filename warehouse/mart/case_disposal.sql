-- mart.case_disposal(reference_at): 处置率 and overdue cases per department office at a reference
-- moment (the night's logical time, pipelines.dates.night_time). The unit is a case as sent to one
-- department office (mart.case_dispatches, new or re-alert; its latest round), so a case routed to two
-- departments counts for each. At the reference moment a sent case is
--   due         its feedback deadline (the latest round's due_at) is on or before the moment;
--   disposed    due, and the case has a final status (not_verified, assisted, ineligible, closed)
--               closed by the moment -- "a final answer";
--   overdue     due, not disposed, and the office sent no feedback line on or after the day of its
--               latest dispatch (up to the moment);
--   in_progress due, not disposed, answered since the dispatch (accepted, verified: work goes on).
-- disposal_rate = disposed / due (null when nothing is due). Rows per office (department x county),
-- per department (all its county offices) and in total; counts add up exactly across the levels.
create or replace macro mart.case_disposal(reference_at) as table
with sent as (
    select case_id, department, county_code,
           arg_max(due_at, dispatch_round) as due_at,
           arg_max(dispatched_at, dispatch_round) as dispatched_at
    from mart.case_dispatches
    where kind in ('new', 'realert') and dispatched_at <= reference_at
    group by case_id, department, county_code
),
cases as (
    select c.case_id, c.indicator_code, c.closed_at, coalesce(s.is_final, false) as is_final
    from mart.cases c
    left join mart.case_statuses s using (status)
),
answers as (
    select case_id, e.detail->>'department' as department,
           max(cast(timezone('Asia/Shanghai', e."at") as date)) as last_answer_on
    from mart.case_events e
    where e.source = 'feedback' and e."at" <= reference_at
    group by all
),
units as (
    select
        s.department,
        s.county_code,
        s.due_at is not null and s.due_at <= reference_at as is_due,
        c.is_final and c.closed_at is not null and c.closed_at <= reference_at as is_disposed,
        coalesce(a.last_answer_on >= cast(timezone('Asia/Shanghai', s.dispatched_at) as date), false) as answered
    from sent s
    join cases c using (case_id)
    left join answers a on a.case_id = s.case_id and a.department = s.department
),
rolled as (
    select
        case when grouping(county_code) = 0 then 'office' when grouping(department) = 0 then 'department'
             else 'total' end as level,
        case when grouping(department) = 0 then department else 'all' end as department,
        case when grouping(county_code) = 0 then county_code else 'all' end as county_code,
        count(*) as sent,
        count(*) filter (where is_due) as due,
        count(*) filter (where is_due and is_disposed) as disposed,
        count(*) filter (where is_due and not is_disposed and not answered) as overdue,
        count(*) filter (where is_due and not is_disposed and answered) as in_progress,
        count(*) filter (where not is_due and is_disposed) as disposed_before_due,
        count(*) filter (where not is_due) as not_due
    from units
    group by grouping sets ((department, county_code), (department), ())
)
select
    level, department, county_code, sent, due, disposed,
    cast(round(disposed / nullif(due, 0), 4) as decimal(6,4)) as disposal_rate,
    overdue, in_progress, not_due, disposed_before_due
from rolled;
comment on macro table mart.case_disposal is '处置率 per department office at a reference moment: cases sent (latest round), due (deadline passed), disposed (due and final), disposal_rate = disposed / due, overdue (due, not final, no feedback from the office since its dispatch), in_progress, not_due; per office, per department and in total.';
