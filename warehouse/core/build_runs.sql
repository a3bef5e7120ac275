-- core.build_runs: which input deliveries each month's core facts were built from.
create table if not exists core.build_runs (
    period VARCHAR NOT NULL,
    inputs_hash VARCHAR NOT NULL,
    inputs JSON,
    built_at TIMESTAMPTZ,
    households BIGINT
);
comment on table core.build_runs is 'Incremental core builds: a month is rebuilt (delete + insert of its partition in every core table) only when the deliveries it is built from changed.';
comment on column core.build_runs.period is 'Data month YYYY-MM.';
comment on column core.build_runs.inputs_hash is 'sha256 over the feed/month/delivery tokens in inputs.';
comment on column core.build_runs.inputs is 'The (feed, month, status, delivery_id, loaded_at) tokens the month was built from.';
comment on column core.build_runs.built_at is 'Wall clock of the build (operational data only; no indicator reads it).';
comment on column core.build_runs.households is 'Rows written to core.household_month for the month.';
