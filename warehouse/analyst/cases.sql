-- cases: one case per household and indicator, pseudonymous (rows: build/cases.sql).
create table if not exists cases (
    case_key VARCHAR,
    household_key VARCHAR,
    indicator_code VARCHAR,
    severity VARCHAR,
    county_code VARCHAR,
    departments VARCHAR[],
    status VARCHAR,
    opened_period VARCHAR,
    opened_at TIMESTAMP WITH TIME ZONE,
    dispatched_at TIMESTAMP WITH TIME ZONE,
    due_at TIMESTAMP WITH TIME ZONE,
    last_warning_key VARCHAR,
    closed_at TIMESTAMP WITH TIME ZONE,
    escalated BOOLEAN
);
comment on table cases is '个案（假名化）One case per household and indicator: open -> dispatched -> accepted -> verified/not_verified -> assisted/ineligible/closed.';
comment on column cases.case_key is '个案假名键 Pseudonymous case key (HMAC of case_id)';
comment on column cases.household_key is '家庭假名键 Pseudonymous household key';
comment on column cases.indicator_code is '指标代码 Indicator that opened the case';
comment on column cases.severity is '严重程度 Current severity (urgent/high/medium/low)';
comment on column cases.county_code is '县级区划代码 County office that handles the case';
comment on column cases.departments is '承办部门 Department codes the case is routed to';
comment on column cases.status is '状态 Current status in the case life cycle';
comment on column cases.opened_period is '开案数据月份 Data month of the warning that opened the case';
comment on column cases.opened_at is '开案时间 When the case was opened (nightly logical time)';
comment on column cases.dispatched_at is '派发时间 When the case first went out in a department extract';
comment on column cases.due_at is '反馈期限 Feedback due (urgent 3, high 7, medium 15, low 30 days after dispatch)';
comment on column cases.last_warning_key is '最近预警假名键 Pseudonymous key of the latest warning on this case';
comment on column cases.closed_at is '结案时间 When the case was closed; null while open';
comment on column cases.escalated is '是否升级 True once overdue feedback escalated the case to the county MCA office';
