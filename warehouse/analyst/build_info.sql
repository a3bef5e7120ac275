-- build_info: one row about the build that wrote this file (written by pipelines.analyst.build).
create table if not exists build_info (
    built_at TIMESTAMP WITH TIME ZONE,
    as_of DATE,
    reference_at TIMESTAMP WITH TIME ZONE,
    key_fingerprint VARCHAR,
    ephemeral_key BOOLEAN,
    sources JSON,
    format VARCHAR,
    build_mode VARCHAR,
    full_built_at TIMESTAMP WITH TIME ZONE,
    build_stats JSON
);
comment on table build_info is '构建信息 One row about this build of the analyst database: when, for which night, and which key generation.';
comment on column build_info.built_at is '构建时间 Wall-clock time the file was built';
comment on column build_info.as_of is '数据截止 The night (as_of date) the build reflects; freshness is measured against it';
comment on column build_info.reference_at is '参考时刻 The night''s logical time (02:00 +08:00 of as_of): feedback is overdue when due_at is before it';
comment on column build_info.key_fingerprint is '密钥指纹 Keyed tag of the pseudonymisation key: pseudonyms are comparable across builds with the same fingerprint';
comment on column build_info.ephemeral_key is '临时密钥 True if a demo key generated on the fly was used (pseudonyms not stable beyond that work dir)';
comment on column build_info.sources is '来源 Row counts of the warehouse relations read (JSON)';
comment on column build_info.format is '格式指纹 Fingerprint of the analyst table SQL and scrubbing version this file was built with';
comment on column build_info.build_mode is '构建方式 full (every month built from the warehouse) or incremental (unchanged months copied from the previous build)';
comment on column build_info.full_built_at is '上次全量构建 Wall-clock time of the last full build this file descends from';
comment on column build_info.build_stats is '构建统计 Months built and copied per table, texts scrubbed and taken from the cache, ids keyed (JSON)';
