-- mart.cases: one row per case (一案一行). A case is one household x one indicator episode:
-- opened by the first warning, fed by later warnings of the same condition, moved forward by
-- dispatch and by department feedback. Written only by pipelines/cases.py, dispatch.py, feedback.py.
create table if not exists mart.cases (
    case_id            varchar primary key,
    household_id       varchar not null,
    family_id          varchar,
    hukou_no           varchar,
    person_id          varchar,
    indicator_code     varchar not null,
    severity           varchar not null,
    county_code        varchar not null,
    departments        varchar[] not null,
    status             varchar not null,
    opened_period      varchar not null,
    last_period        varchar not null,
    opened_at          timestamptz not null,
    dispatched_at      timestamptz,
    due_at             timestamptz,
    deadline_days      integer,
    last_warning_id    varchar,
    explanation        varchar,
    dispatch_round     integer not null default 1,
    awaiting_feedback  boolean not null default false,
    last_feedback_on   date,
    escalated          boolean not null default false,
    escalated_at       timestamptz,
    closed_at          timestamptz,
    previous_case_id   varchar,
    updated_at         timestamptz,
    office_region      varchar,
    department_status  struct(department varchar, office_code varchar, status varchar,
                              awaiting_feedback boolean, last_feedback_on date)[]
);
-- warehouses created before the town office and the per-department status (case life cycle v2)
alter table mart.cases add column if not exists office_region varchar;
alter table mart.cases add column if not exists department_status
    struct(department varchar, office_code varchar, status varchar, awaiting_feedback boolean, last_feedback_on date)[];

comment on table mart.cases is '案件 cases: one row per household x indicator episode. One open case per household and indicator; a persisting condition links to it, a worse one raises its severity and re-dispatches it, a condition returning after closure opens a new case. History of every change is in mart.case_events.';
comment on column mart.cases.case_id is '案件编号: C-<county>-<first 10 hex of sha256(household_id|indicator_code|opened_period)> (suffix -2, -3 in the rare case the same household and indicator reopen in the same period). Deterministic: a re-run gives the same id.';
comment on column mart.cases.household_id is '家庭标识: roster family_id, or H || hukou_no for households not on the roster (same as core.household_month).';
comment on column mart.cases.family_id is '低保家庭编号 (roster family_id) when the household is on the roster.';
comment on column mart.cases.hukou_no is '户口簿号 (hukou household number) of the household.';
comment on column mart.cases.person_id is '关键人员身份证号: the person the latest linked warning names (deceased member, disaster victim, student ...). Restricted data.';
comment on column mart.cases.indicator_code is '指标代码 (INC_DROP, EXP_MED, ...), see docs/indicators.md.';
comment on column mart.cases.severity is '严重程度 urgent/high/medium/low: the highest severity of any linked warning (a case never goes down in severity).';
comment on column mart.cases.county_code is '区县代码: first 6 digits of the household region code (the case id and the county statistics). The offices that receive the case are in department_status.office_code.';
comment on column mart.cases.departments is '承办部门: union of the departments of all linked warnings (MCA, HRSS, NHSA, MOE, MOHURD, MEM, CDPF). Overdue cases also go to the county MCA office (see escalated).';
comment on column mart.cases.status is '状态 of the case as a whole: open -> dispatched -> accepted -> verified|not_verified -> assisted|ineligible|closed. Final only when every department''s status (department_status) is final, then assisted if any department assisted, else ineligible, else not_verified, else closed; before that, the least advanced status of the departments not yet final. Labels in mart.case_statuses.';
comment on column mart.cases.opened_period is '立案数据月份 YYYY-MM: data month of the warning that opened the case.';
comment on column mart.cases.last_period is '最近预警数据月份 YYYY-MM: latest data month of any linked warning (used to tell a persisting condition from one that returns after closure).';
comment on column mart.cases.opened_at is '立案时间: logical time of the night that opened the case (02:00 Asia/Shanghai of as_of).';
comment on column mart.cases.dispatched_at is '派发时间: logical time of the night of the latest dispatch (first dispatch, or re-dispatch after a severity rise).';
comment on column mart.cases.due_at is '反馈期限: dispatched_at + deadline_days. No feedback by then -> escalated to the county MCA office in the next extract.';
comment on column mart.cases.deadline_days is '反馈期限天数 for the current severity (urgent 3, high 7, medium 15, low 30 by default; models/indicators.toml [deadlines]).';
comment on column mart.cases.last_warning_id is 'warning_id of the latest linked warning (mart.warnings); all links are in mart.case_warnings.';
comment on column mart.cases.explanation is '预警说明: explanation text of the latest linked warning, in words a caseworker reads.';
comment on column mart.cases.dispatch_round is '派发轮次: 1 at opening; +1 each time a dispatched case is re-alerted (higher severity), so each department receives it again once.';
comment on column mart.cases.awaiting_feedback is 'true from a dispatch until the first feedback line after it; drives overdue escalation.';
comment on column mart.cases.last_feedback_on is 'handled_on date of the latest applied feedback line.';
comment on column mart.cases.escalated is '逾期升级: true once the case passed due_at without feedback; it then goes (once) to the county MCA office extract.';
comment on column mart.cases.escalated_at is 'Logical time of the night the case was escalated.';
comment on column mart.cases.closed_at is '办结时间: when the case reached a final status (handled_on of the closing feedback, or the analyst close time).';
comment on column mart.cases.previous_case_id is 'For a case opened because a condition returned after closure: the closed case before it (same household and indicator).';
comment on column mart.cases.updated_at is 'Logical time of the night of the last change.';
comment on column mart.cases.office_region is '12-digit region whose offices act on the case (mart.warnings.office_region of the opening warning: a disaster''s or a field visit''s own region, else the roster family''s, else the hukou''s). Town office = first 9 digits, county office = first 6.';
comment on column mart.cases.department_status is 'Per department of the case (v2): the office it is sent to (office_code: 9-digit town for MCA except its county acts, 6-digit county otherwise, or the office a 转办 named), its own status (same life cycle as status), whether it owes feedback since its last dispatch, and the handled_on of its latest answer. The case is final when every department''s status is final.';
