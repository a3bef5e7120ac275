-- mart.warnings (the contract in docs/architecture.md), its alias view main.warnings, and
-- mart.indicator_runs (what was evaluated with which inputs).
create table if not exists mart.warnings (
    warning_id VARCHAR NOT NULL,
    indicator_code VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    family_id VARCHAR,
    hukou_no VARCHAR,
    person_id VARCHAR,
    county_code VARCHAR,
    departments VARCHAR[],
    evidence JSON,
    explanation VARCHAR,
    case_id VARCHAR,
    raised_at TIMESTAMPTZ,
    household_id VARCHAR,
    office_region VARCHAR
);
comment on table mart.warnings is 'Warnings (预警): one row per indicator, household, data month and severity. A referral, never a decision. Written by pipelines/indicators.py; case_id is filled by pipelines/cases.py.';
comment on column mart.warnings.warning_id is 'W- + first 16 hex of sha256(indicator|household_id|period|severity): deterministic, so re-runs add nothing.';
comment on column mart.warnings.indicator_code is 'Indicator (models/indicators.toml, docs/indicators.md), e.g. INC_DROP.';
comment on column mart.warnings.severity is 'urgent / high / medium / low (sets the feedback deadline).';
comment on column mart.warnings.period is 'Data month YYYY-MM the indicator was evaluated for (as of its last day).';
comment on column mart.warnings.family_id is 'Civil affairs family id; null for a household not on the roster.';
comment on column mart.warnings.hukou_no is 'Hukou household number of the household.';
comment on column mart.warnings.person_id is 'The key person (the member the finding is about; else the head).';
comment on column mart.warnings.county_code is 'County (first 6 digits of the region code) whose offices receive the case.';
comment on column mart.warnings.departments is 'Departments the warning is routed to (MCA, HRSS, NHSA, MOE, MOHURD, MEM, CDPF).';
comment on column mart.warnings.evidence is 'JSON: baseline, current values, thresholds used, source delivery ids and record ids (settle_ids, event_ids, ...).';
comment on column mart.warnings.explanation is 'One Chinese sentence for the caseworker, with the numbers.';
comment on column mart.warnings.case_id is 'Case the warning feeds (pipelines/cases.py); null until cased.';
comment on column mart.warnings.raised_at is 'Logical time of the run that raised it (the night''s data time, not wall clock).';
-- warehouses created before household_id / office_region were part of the table
alter table mart.warnings add column if not exists household_id VARCHAR;
alter table mart.warnings add column if not exists office_region VARCHAR;
comment on column mart.warnings.household_id is 'family_id for roster families, H || hukou_no otherwise (core.household_month); P || person_id for a person warned on arrival before any roster or hukou snapshot lists them.';
comment on column mart.warnings.office_region is '12-digit region whose town/county office should act: the event''s own region where it has one (a disaster''s or a field visit''s region_code), else the roster family''s, else the hukou''s.';
create or replace view main.warnings as select * from mart.warnings;
comment on view main.warnings is 'All warnings (mart.warnings).';

create table if not exists mart.indicator_runs (
    indicator_code VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    inputs_hash VARCHAR NOT NULL,
    evaluated_at TIMESTAMPTZ,
    warnings INTEGER,
    inputs JSON,
    partial VARCHAR[]
);
comment on table mart.indicator_runs is 'Last evaluation of each indicator and data month. A month is evaluated again only when inputs_hash changes (a new, corrected or late delivery in its window, changed thresholds or SQL).';
comment on column mart.indicator_runs.indicator_code is 'Indicator code.';
comment on column mart.indicator_runs.period is 'Data month YYYY-MM.';
comment on column mart.indicator_runs.inputs_hash is 'sha256 over the input delivery tokens, the indicator''s rules and the SQL.';
comment on column mart.indicator_runs.evaluated_at is 'Logical time of the run (raised_at of its warnings).';
comment on column mart.indicator_runs.warnings is 'Candidate warnings the evaluation produced.';
comment on column mart.indicator_runs.inputs is 'The (feed, month, status, delivery_id, loaded_at) tokens evaluated.';
comment on column mart.indicator_runs.partial is 'Optional feeds that were not loaded (the month is re-evaluated when they arrive).';
