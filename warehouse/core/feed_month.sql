-- core.feed_month: which delivery of which feed covers each data month, as of the last core build.
create table if not exists core.feed_month (
    feed_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    delivery_id VARCHAR,
    loaded_at TIMESTAMPTZ
);
comment on table core.feed_month is 'Snapshot of ops.completeness taken when core was built, so the core facts and the indicator gating read one consistent picture. Indicators run for a month only when their feeds are loaded here.';
comment on column core.feed_month.feed_id is 'Feed id (ops.feeds), or a pseudo-feed of ops.completeness (moe_students_midterm).';
comment on column core.feed_month.period is 'Data month YYYY-MM (a quarterly snapshot covers 3 months, a term 6, a reference version every month from its valid_from).';
comment on column core.feed_month.status is 'loaded / rejected / open / not_expected / missing (from ops.completeness).';
comment on column core.feed_month.delivery_id is 'The loaded delivery covering the month (else the newest rejected one; null when missing). For a daily month of mem_disaster: the newest delivery holding a version of a record that counts for the month (a late correction or withdrawal changes it, so the month is rebuilt).';
comment on column core.feed_month.loaded_at is 'ops.deliveries.status_at of that delivery: changes when a folder is re-delivered in place, so dependent months are rebuilt.';
