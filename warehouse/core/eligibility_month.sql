-- core.eligibility_month: the eligibility model's score per household and month (filled by the scoring stage).
create table if not exists core.eligibility_month (
    period VARCHAR NOT NULL,
    household_id VARCHAR NOT NULL,
    probability DOUBLE,
    cutoff DOUBLE,
    model_version VARCHAR,
    top_features JSON
);
comment on table core.eligibility_month is 'The learned eligibility estimate (models/eligibility/): per household and data month, the calibrated probability that an assessed economic check would find its income below the line, the cut-off in force and the model version. ELIG_DIBAO / ELIG_EDGE path (b) (partial coverage) fires only where probability >= cutoff, if the month has any row here; a month without rows (no model) has no gate.';
comment on column core.eligibility_month.period is 'Data month YYYY-MM the features were taken from (as of its last day).';
comment on column core.eligibility_month.household_id is 'family_id for roster families, H || hukou_no otherwise (core.household_month).';
comment on column core.eligibility_month.probability is 'Calibrated probability (0..1) that the household''s per-capita income is below the line (see the model card).';
comment on column core.eligibility_month.cutoff is 'The cut-off in force when the row was scored (models/eligibility/model.toml, else the one chosen on the held-back months at training).';
comment on column core.eligibility_month.model_version is 'Version of the model artifact that scored the row (eligibility-<date>-<hash>).';
comment on column core.eligibility_month.top_features is 'The three features that moved the probability most, as a JSON list of {code, label_zh, value, direction, delta}: code and Chinese label from models/eligibility/features.toml; delta = the change in probability that feature made for this household. Filled where probability >= cutoff and someone reads it: the household has a hardship signal in the signal window of the rules the model gates (a possible ELIG path (b) warning, whose explanation names them) or is off the roster with a probability that rose by the watchlist''s min_rise since its months before (the analysts'' watchlist); else null.';
