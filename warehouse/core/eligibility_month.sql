-- core.eligibility_month: the eligibility model's score per household and month (filled by the scoring stage).
create table if not exists core.eligibility_month (
    period VARCHAR NOT NULL,
    household_id VARCHAR NOT NULL,
    probability DOUBLE,
    cutoff DOUBLE,
    model_version VARCHAR,
    top_features JSON
);
comment on table core.eligibility_month is 'Score of the eligibility model (资格模型) per household and data month, written by the model''s scoring stage before the indicators run. It gates the income rules'' path (b) (ELIG_DIBAO / ELIG_EDGE on partial coverage): when the table holds any row for a month, a path (b) warning of that month needs a row of its household with probability >= cutoff; a month without rows is evaluated without the gate (the evidence says no model). A changed score re-evaluates the month.';
comment on column core.eligibility_month.period is 'Data month YYYY-MM.';
comment on column core.eligibility_month.household_id is 'Household (core.household_month.household_id).';
comment on column core.eligibility_month.probability is 'Model probability that the household''s true per-capita income is below the line.';
comment on column core.eligibility_month.cutoff is 'The cut-off the probability is compared with (the model''s operating point).';
comment on column core.eligibility_month.model_version is 'Version of the model that scored the row.';
comment on column core.eligibility_month.top_features is 'The features that weighed most, most important first: a JSON array whose items are objects {"feature": code, "zh": the feature in Chinese words, "value": ..., "contribution": ...} (or plain strings); the explanation names the first three by "zh" (else "feature").';
