-- 在办个案与逾期反馈 Open cases and overdue feedback by department and office (the 9-digit town
-- office for MCA except its county acts, the 6-digit county office otherwise). A case routed to two
-- departments counts once for each, with that department's own status and office.
create or replace view open_cases_by_department as
with ref as (
    select reference_at from build_info
),
routed as (
    select c.* exclude (status, department_status), p.department, p.office_code, p.status
    from (select c.*, unnest(c.department_status) as p from cases c) c
),
open_cases as (
    select r.*
    from routed r
    where r.closed_at is null and r.status not in ('not_verified', 'assisted', 'ineligible', 'closed')
),
flagged as (
    select
        o.*,
        o.status in ('dispatched', 'accepted') and o.due_at < (select reference_at from ref) as overdue
    from open_cases o
)
select
    f.department,
    d.name_zh as department_name,
    f.office_code,
    left(f.office_code, 6) as county_code,
    case when length(f.office_code) = 9 then 'town' else 'county' end as office_level,
    count(*) as open_cases,
    count(*) filter (where f.status = 'open') as not_dispatched,
    count(*) filter (where f.status = 'dispatched') as awaiting_acceptance,
    count(*) filter (where f.status = 'accepted') as awaiting_verification,
    count(*) filter (where f.overdue) as overdue_feedback,
    count(*) filter (where f.escalated) as escalated,
    min(f.due_at) filter (where f.overdue) as oldest_overdue_due_at
from flagged f
left join departments d using (department)
group by all
order by overdue_feedback desc, open_cases desc, department, office_code;

comment on view open_cases_by_department is '在办个案与逾期反馈 Open cases and overdue feedback per department office (town or county), each department''s part with its own status, as of build_info.reference_at.';
comment on column open_cases_by_department.department is '部门代码 Department code';
comment on column open_cases_by_department.department_name is '部门名称 Department name (Chinese)';
comment on column open_cases_by_department.office_code is '办公室代码 Office handling the department''s part: 9-digit town (乡镇/街道) or 6-digit county';
comment on column open_cases_by_department.county_code is '县级区划代码 County of the office (first 6 digits)';
comment on column open_cases_by_department.office_level is '办公室层级 town or county';
comment on column open_cases_by_department.open_cases is '在办个案 Department parts not final (status not not_verified/assisted/ineligible/closed)';
comment on column open_cases_by_department.not_dispatched is '未派发 Open cases not yet in an extract';
comment on column open_cases_by_department.awaiting_acceptance is '待受理 Dispatched, no feedback yet';
comment on column open_cases_by_department.awaiting_verification is '待核实 Accepted, no verification result yet';
comment on column open_cases_by_department.overdue_feedback is '逾期未反馈 Dispatched or accepted cases past their due date (no verification result)';
comment on column open_cases_by_department.escalated is '已升级 Open cases escalated to the county MCA office';
comment on column open_cases_by_department.oldest_overdue_due_at is '最早逾期期限 Due date of the longest-overdue case';
