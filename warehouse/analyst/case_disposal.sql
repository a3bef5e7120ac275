-- case_disposal: 处置率 per department office at the build's night, the warehouse's
-- mart.case_disposal(reference_at) (rows: build/case_disposal.sql). The rule lives in one place only,
-- warehouse/mart/case_disposal.sql.
create table if not exists case_disposal (
    level VARCHAR,
    department VARCHAR,
    county_code VARCHAR,
    sent BIGINT,
    due BIGINT,
    disposed BIGINT,
    disposal_rate DECIMAL(6,4),
    overdue BIGINT,
    in_progress BIGINT,
    not_due BIGINT,
    disposed_before_due BIGINT
);
comment on table case_disposal is '处置率 Per department office (level office), department and in total, at the night of the build (build_info.reference_at): cases sent (latest round), due (deadline passed), disposed (due and final), disposal_rate = disposed / due, overdue (due, not final, no feedback from the office since its dispatch), in progress, not yet due.';
comment on column case_disposal.level is '层级 office, department or total';
comment on column case_disposal.department is '部门 Department, or all';
comment on column case_disposal.county_code is '区县 County office, or all';
comment on column case_disposal.sent is '已派发 Cases sent to the office (a case sent to two departments counts for each)';
comment on column case_disposal.due is '到期 Sent, feedback deadline on or before the night';
comment on column case_disposal.disposed is '已办结 Due, with a final answer (not_verified, assisted, ineligible, closed) by the night';
comment on column case_disposal.disposal_rate is '处置率 disposed / due (null when nothing is due)';
comment on column case_disposal.overdue is '逾期 Due, not disposed, no feedback from the office since its latest dispatch';
comment on column case_disposal.in_progress is '办理中 Due, not disposed, answered since the dispatch';
comment on column case_disposal.not_due is '未到期 Sent, deadline still ahead';
comment on column case_disposal.disposed_before_due is '提前办结 Final before the deadline (not yet due)';
