-- mart.case_overview: the analyst-visible state of every case (status label, stage, overdue flag,
-- linked warnings and answers), one row per case. Times are Asia/Shanghai wall time.
create or replace view mart.case_overview as
with cases as (select * from mart.cases),
statuses as (select * from mart.case_statuses),
event_counts as (
    select case_id,
           count(*) as events,
           count(*) filter (where source = 'feedback') as feedback_lines
    from mart.case_events
    group by case_id
),
warning_counts as (
    select case_id, count(*) as warnings from mart.case_warnings group by case_id
),
sent as (
    select case_id, list(distinct department order by department) as sent_to
    from mart.case_dispatches group by case_id
)
select
    cases.case_id,
    cases.household_id,
    cases.family_id,
    cases.hukou_no,
    cases.indicator_code,
    cases.severity,
    cases.county_code,
    cases.departments,
    coalesce(sent.sent_to, []::varchar[])        as sent_to,
    cases.status,
    statuses.label_zh                           as status_zh,
    case when cases.escalated and not statuses.is_final then '逾期升级 escalated'
         else statuses.stage end                as stage,
    statuses.is_final,
    cases.opened_period,
    cases.last_period,
    timezone('Asia/Shanghai', cases.opened_at) as opened_at,
    timezone('Asia/Shanghai', cases.dispatched_at) as dispatched_at,
    (timezone('Asia/Shanghai', cases.due_at))::date as due_date,
    cases.awaiting_feedback,
    cases.escalated,
    timezone('Asia/Shanghai', cases.closed_at) as closed_at,
    cases.previous_case_id,
    coalesce(warning_counts.warnings, 0)        as warnings,
    coalesce(event_counts.events, 0)            as events,
    coalesce(event_counts.feedback_lines, 0)    as feedback_lines
from cases
left join statuses using (status)
left join event_counts using (case_id)
left join warning_counts using (case_id)
left join sent using (case_id);
comment on view mart.case_overview is '案件总览: analyst-visible state of each case: status label, stage (待派发/待反馈/办理中/已办结/逾期升级), counts of warnings, steps and feedback lines.';
