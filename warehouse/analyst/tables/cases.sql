-- Cases (one per household and indicator while open), pseudonymous.
create table {{ target }}.cases as
with raw_cases as (
    select * from {{ source('mart', 'cases') }}
),
keyed as (
    select c.*, ck.key as case_key, hk.household_key, wk.key as last_warning_key
    from raw_cases c
    left join _an_case_keys ck on ck.id = c.case_id
    left join _an_household_keys hk on hk.household_id = c.household_id
    left join _an_warning_keys wk on wk.id = c.last_warning_id
)
select
    case_key,
    household_key,
    indicator_code,
    severity,
    county_code,
    departments,
    status,
    opened_period,
    opened_at,
    dispatched_at,
    due_at,
    last_warning_key,
    closed_at,
    escalated
from keyed;

comment on table {{ target }}.cases is '个案（假名化）One case per household and indicator: open -> dispatched -> accepted -> verified/not_verified -> assisted/ineligible/closed.';
comment on column {{ target }}.cases.case_key is '个案假名键 Pseudonymous case key (HMAC of case_id)';
comment on column {{ target }}.cases.household_key is '家庭假名键 Pseudonymous household key';
comment on column {{ target }}.cases.indicator_code is '指标代码 Indicator that opened the case';
comment on column {{ target }}.cases.severity is '严重程度 Current severity (urgent/high/medium/low)';
comment on column {{ target }}.cases.county_code is '县级区划代码 County office that handles the case';
comment on column {{ target }}.cases.departments is '承办部门 Department codes the case is routed to';
comment on column {{ target }}.cases.status is '状态 Current status in the case life cycle';
comment on column {{ target }}.cases.opened_period is '开案数据月份 Data month of the warning that opened the case';
comment on column {{ target }}.cases.opened_at is '开案时间 When the case was opened (nightly logical time)';
comment on column {{ target }}.cases.dispatched_at is '派发时间 When the case first went out in a department extract';
comment on column {{ target }}.cases.due_at is '反馈期限 Feedback due (urgent 3, high 7, medium 15, low 30 days after dispatch)';
comment on column {{ target }}.cases.last_warning_key is '最近预警假名键 Pseudonymous key of the latest warning on this case';
comment on column {{ target }}.cases.closed_at is '结案时间 When the case was closed; null while open';
comment on column {{ target }}.cases.escalated is '是否升级 True once overdue feedback escalated the case to the county MCA office';
