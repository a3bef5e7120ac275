-- core.eligibility_runs: which data months the eligibility model has scored, with what.
create table if not exists core.eligibility_runs (
    period VARCHAR NOT NULL,
    inputs_hash VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    cutoff DOUBLE NOT NULL,
    households BIGINT NOT NULL,
    above_cutoff BIGINT NOT NULL
);
comment on table core.eligibility_runs is 'Incremental scoring of core.eligibility_month: a month is scored again only when what its features are made of (the core builds of its 12-month window, the deliveries of the staged feeds the features read up to it), the model, the cut-off or the explanation scope changed (pipelines/learning/eligibility.py, pipelines/learning/data.py features_tokens).';
comment on column core.eligibility_runs.period is 'Data month YYYY-MM.';
comment on column core.eligibility_runs.inputs_hash is 'sha256 over the month''s features token (pipelines/learning/data.py features_tokens: core.build_runs of the month and the 11 before it, core.feed_month of the feeds the features read), the model version, the cut-off, the number of features explained and the explanation scope.';
comment on column core.eligibility_runs.model_version is 'The artifact that scored the month.';
comment on column core.eligibility_runs.cutoff is 'The cut-off written into the month''s rows.';
comment on column core.eligibility_runs.households is 'Household rows scored (partial coverage, not 低保/特困).';
comment on column core.eligibility_runs.above_cutoff is 'Of them, rows with probability >= cutoff (top_features filled for those with a hardship signal or a watchlist rise: pipelines/learning/eligibility.py explained_rows).';
