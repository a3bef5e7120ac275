-- mart.case_dispatches: what was sent to which office, when, in which extract (one row per case,
-- department and dispatch round, plus one row per escalation to the county MCA office).
create table if not exists mart.case_dispatches (
    case_id         varchar not null,
    department      varchar not null,
    county_code     varchar not null,
    kind            varchar not null,
    dispatch_round  integer not null,
    as_of           date not null,
    dispatched_at   timestamptz not null,
    due_at          timestamptz,
    extract_dir     varchar not null,
    record          json not null,
    primary key (case_id, department, kind, dispatch_round)
);

comment on table mart.case_dispatches is '派发记录: one row per case sent to a department office (town or county). A (case, department, round) pair is sent once, so re-running a night sends nothing new.';
comment on column mart.case_dispatches.case_id is '案件编号.';
comment on column mart.case_dispatches.department is '接收部门 (MCA, HRSS, NHSA, MOE, MOHURD, MEM, CDPF).';
comment on column mart.case_dispatches.county_code is '接收办公室 office code: the 9-digit town office (MCA, except its county acts) or the 6-digit county office (every other department, MCA''s county acts, escalations) -- the extract''s folder outbox/<DEPT>/<office>/<date>/.';
comment on column mart.case_dispatches.kind is 'new (新案件), realert (升级: severity rose), transfer (转办: the office a 转办 answer named), escalation (逾期升级: overdue, sent to the county MCA office).';
comment on column mart.case_dispatches.dispatch_round is 'mart.cases.dispatch_round at the time of sending (escalations: the round that went overdue; transfers: the n-th transfer of that department''s case, 1, 2 ...).';
comment on column mart.case_dispatches.as_of is 'The night (extract folder date).';
comment on column mart.case_dispatches.dispatched_at is 'Logical time of that night.';
comment on column mart.case_dispatches.due_at is 'Feedback deadline given to the office.';
comment on column mart.case_dispatches.extract_dir is 'Extract folder outbox/<DEPT>/<office>/<as_of>/ that carried the case.';
comment on column mart.case_dispatches.record is 'The exact row sent (JSON, field names in English), so an extract can be rebuilt or audited later. Restricted data.';
