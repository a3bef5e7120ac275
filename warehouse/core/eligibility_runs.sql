-- core.eligibility_runs: which data months the eligibility model has scored, with what.
create table if not exists core.eligibility_runs (
    period VARCHAR NOT NULL,
    inputs_hash VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    cutoff DOUBLE NOT NULL,
    households BIGINT NOT NULL,
    above_cutoff BIGINT NOT NULL
);
comment on table core.eligibility_runs is 'Incremental scoring of core.eligibility_month: a month is scored again only when its core build, the model, the cut-off or the number of explained features changed (pipelines/learning/eligibility.py).';
comment on column core.eligibility_runs.period is 'Data month YYYY-MM.';
comment on column core.eligibility_runs.inputs_hash is 'sha256 over the month''s core build (core.build_runs.inputs_hash), the model version, the cut-off and the number of features explained.';
comment on column core.eligibility_runs.model_version is 'The artifact that scored the month.';
comment on column core.eligibility_runs.cutoff is 'The cut-off written into the month''s rows.';
comment on column core.eligibility_runs.households is 'Household rows scored (partial coverage, not 低保/特困).';
comment on column core.eligibility_runs.above_cutoff is 'Of them, rows with probability >= cutoff (top_features filled for those with a hardship signal or a watchlist rise: pipelines/learning/eligibility.py explained_rows).';
