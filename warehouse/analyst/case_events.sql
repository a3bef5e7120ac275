-- case_events: every step of every case, pseudonymous (rows: build/case_events.sql).
create table if not exists case_events (
    case_key VARCHAR,
    seq INTEGER,
    event_at TIMESTAMP WITH TIME ZONE,
    actor_kind VARCHAR,
    from_status VARCHAR,
    to_status VARCHAR,
    action VARCHAR,
    detail JSON,
    source VARCHAR
);
comment on table case_events is '个案事件（假名化）Every step of every case: who (as a kind or department), when and what. Join cases on case_key for the household.';
comment on column case_events.case_key is '个案假名键 Pseudonymous case key';
comment on column case_events.seq is '序号 Step number within the case';
comment on column case_events.event_at is '时间 When the step happened';
comment on column case_events.actor_kind is '操作方 system, a department code (MCA, HRSS, ...) or staff; personal names are not kept';
comment on column case_events.from_status is '原状态 Status before the step';
comment on column case_events.to_status is '新状态 Status after the step';
comment on column case_events.action is '动作 What was done (open, dispatch, feedback, escalate, close, ...)';
comment on column case_events.detail is '详情（已脱敏）Step details without names, handlers or raw ids';
comment on column case_events.source is '来源 Where the step came from (nightly run, feedback file, ...), scrubbed';
