-- mart.case_priority: tonight's priority of every case not final (triage), read by the extracts.
create table if not exists mart.case_priority (
    case_id VARCHAR NOT NULL,
    priority VARCHAR NOT NULL,
    priority_rank INTEGER NOT NULL,
    probability DOUBLE,
    method VARCHAR NOT NULL,
    model_version VARCHAR,
    note VARCHAR,
    scored_at TIMESTAMPTZ NOT NULL
);
alter table mart.case_priority add column if not exists features_token varchar;
comment on table mart.case_priority is '优先级 case priority: one row per case not final, rewritten every night by the triage stage (pipelines/learning/triage.py). Extract rows are sorted by it (priority_rank, then probability or severity); nothing is hidden or dropped.';
comment on column mart.case_priority.case_id is '案件编号 (mart.cases.case_id).';
comment on column mart.case_priority.priority is '优先级 高 / 中 / 低 (labels in models/triage/model.toml).';
comment on column mart.case_priority.priority_rank is '1 = 高, 2 = 中, 3 = 低: the extract''s first sort key.';
comment on column mart.case_priority.probability is 'The triage model''s calibrated probability that the department confirms the case (verified or assisted); null when ordered by severity.';
comment on column mart.case_priority.method is 'model (the triage model is in force) or severity (no model yet: too few answered cases, or the artifact cannot be used).';
comment on column mart.case_priority.model_version is 'The triage artifact used, null for severity.';
comment on column mart.case_priority.note is 'The sentence the extract''s guide and manifest print about the order (the same for every row of a night).';
comment on column mart.case_priority.scored_at is 'Logical time of the night (02:00 Asia/Shanghai of as_of).';
comment on column mart.case_priority.features_token is 'What the case''s household features were computed from (pipelines/learning/data.py features_tokens of the case''s data month) when its probability was: the next night keeps the probability while the model and this token are the same; null when ordered by severity.';
