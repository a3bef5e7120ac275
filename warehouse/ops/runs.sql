-- ops.runs: one row per completed night (pipelines.nightly.run_night).
create table if not exists ops.runs (
    as_of DATE,
    finished_at TIMESTAMPTZ,
    timings JSON,
    summary JSON
);
comment on table ops.runs is 'One row per completed nightly run: stage timings and counts (operational data, wall clock).';
comment on column ops.runs.as_of is 'The night (as_of date) the run was for.';
comment on column ops.runs.finished_at is 'Wall clock when the run finished.';
comment on column ops.runs.timings is 'Seconds per stage (JSON object).';
comment on column ops.runs.summary is 'Each stage''s summary (JSON object).';
