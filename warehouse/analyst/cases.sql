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
    escalated BOOLEAN,
    town_code VARCHAR,
    department_status STRUCT(department VARCHAR, office_code VARCHAR, status VARCHAR)[]
);
alter table cases add column if not exists town_code VARCHAR;
alter table cases add column if not exists department_status STRUCT(department VARCHAR, office_code VARCHAR, status VARCHAR)[];
comment on table cases is '个案（假名化）One case per household and indicator: open -> dispatched -> accepted -> verified/not_verified -> assisted/ineligible/closed.';
comment on column cases.case_key is '个案假名键 Pseudonymous case key (HMAC of case_id)';
comment on column cases.household_key is '家庭假名键 Pseudonymous household key';
comment on column cases.indicator_code is '指标代码 Indicator that opened the case';
comment on column cases.severity is '严重程度 Current severity (urgent/high/medium/low)';
comment on column cases.county_code is '县级区划代码 County of the household (case id, county statistics); the offices are in department_status';
comment on column cases.departments is '承办部门 Department codes the case is routed to';
comment on column cases.status is '状态 Status of the case as a whole: final only when every department gave a final answer, before that the least advanced status of the departments not yet final';
comment on column cases.opened_period is '开案数据月份 Data month of the warning that opened the case';
comment on column cases.opened_at is '开案时间 When the case was opened (nightly logical time)';
comment on column cases.dispatched_at is '派发时间 When the case first went out in a department extract';
comment on column cases.due_at is '反馈期限 Feedback due (urgent 3, high 7, medium 15, low 30 days after dispatch)';
comment on column cases.last_warning_key is '最近预警假名键 Pseudonymous key of the latest warning on this case';
comment on column cases.closed_at is '结案时间 When the case was closed; null while open';
comment on column cases.escalated is '是否升级 True once overdue feedback escalated the case to the county MCA office';
comment on column cases.town_code is '乡镇街道代码 Town (9 digits) of the region whose offices act on the case (a disaster''s own region, else the family''s); null when only the county is known';
comment on column cases.department_status is '各部门办理状态 Per department: the office handling its part (9-digit town office for MCA except its county acts, 6-digit county office otherwise, or the office a 转办 named) and that department''s own status';
