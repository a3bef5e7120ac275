-- build_text_cache: free text as scrubbed by a build, by keyed digest (written by pipelines.analyst.build).
create table if not exists build_text_cache (
    digest VARCHAR,
    kind VARCHAR,
    clean VARCHAR
);
comment on table build_text_cache is '文本脱敏缓存 Free text (explanations, evidence, event details) as scrubbed by a build, by a keyed digest of the raw text, so a later build scrubs only new texts. The raw text is not stored.';
comment on column build_text_cache.digest is '摘要 Keyed digest (HMAC) of the raw text; not reversible without the key';
comment on column build_text_cache.kind is '类型 text (plain text) or json (evidence / detail)';
comment on column build_text_cache.clean is '脱敏文本 The scrubbed text, as in warnings / case_events';
