-- warnings: the warnings, pseudonymous and scrubbed (rows: build/warnings.sql).
create table if not exists warnings (
    warning_key VARCHAR,
    indicator_code VARCHAR,
    severity VARCHAR,
    period VARCHAR,
    household_key VARCHAR,
    person_key VARCHAR,
    county_code VARCHAR,
    departments VARCHAR[],
    explanation VARCHAR,
    evidence JSON,
    case_key VARCHAR,
    raised_at TIMESTAMP WITH TIME ZONE
);
comment on table warnings is '预警（假名化）One row per warning (a referral, never a decision). Names and ids are scrubbed from the explanation; evidence keeps the numbers, not the source record ids.';
comment on column warnings.warning_key is '预警假名键 Pseudonymous warning key (HMAC of warning_id)';
comment on column warnings.indicator_code is '指标代码 Indicator code (INC_DROP, EXP_MED, ...); see table indicators';
comment on column warnings.severity is '严重程度 urgent / high / medium / low';
comment on column warnings.period is '数据月份 Data month the warning was evaluated for (YYYY-MM)';
comment on column warnings.household_key is '家庭假名键 Pseudonymous household key';
comment on column warnings.person_key is '人员假名键 Pseudonymous key of the person concerned, when the indicator is about one person';
comment on column warnings.county_code is '县级区划代码 County whose offices receive the case';
comment on column warnings.departments is '承办部门 Department codes the warning is routed to (MCA, HRSS, NHSA, MOE, MOHURD, MEM, CDPF)';
comment on column warnings.explanation is '预警说明（已脱敏）The caseworker explanation with names replaced by [姓名] and ids by pseudonymous keys or [证件号]';
comment on column warnings.evidence is '证据（已脱敏）The numbers behind the warning (baseline, current value, thresholds) without raw record ids';
comment on column warnings.case_key is '个案假名键 Pseudonymous key of the case the warning feeds';
comment on column warnings.raised_at is '预警时间 Logical time of the nightly run that raised it (data time, not wall clock)';
