-- core.household_coverage_month: how much of a household's income the feeds know, per month (principle 5).
create table if not exists core.household_coverage_month (
    period VARCHAR NOT NULL,
    household_id VARCHAR NOT NULL,
    size INTEGER NOT NULL,
    known_members INTEGER NOT NULL,
    observed_income_yuan DECIMAL(18,2),
    income_coverage VARCHAR NOT NULL,
    coverage_reason VARCHAR NOT NULL,
    verified_income_yuan DECIMAL(18,2),
    check_id VARCHAR,
    check_date DATE,
    surveyed_income_yuan DECIMAL(18,2),
    watch_id VARCHAR,
    rule_income_yuan DECIMAL(18,2),
    application_date DATE,
    above_edge_date DATE,
    assets_check_id VARCHAR,
    assets_check_date DATE,
    check_assets_yuan DECIMAL(18,2),
    check_vehicles INTEGER,
    check_size INTEGER
);
alter table core.household_coverage_month add column if not exists application_date DATE;
alter table core.household_coverage_month add column if not exists above_edge_date DATE;
alter table core.household_coverage_month add column if not exists assets_check_id VARCHAR;
alter table core.household_coverage_month add column if not exists assets_check_date DATE;
alter table core.household_coverage_month add column if not exists check_assets_yuan DECIMAL(18,2);
alter table core.household_coverage_month add column if not exists check_vehicles INTEGER;
alter table core.household_coverage_month add column if not exists check_size INTEGER;
comment on table core.household_coverage_month is 'Income coverage per household and data month, the first that applies: verified (an assessed economic check of the household in the 6 months up to the month''s end, no birth, death or move of a member since), surveyed (on the relapse-watch list with a survey of the last 18 months), full (every member''s income known), partial (otherwise: observed income is only a floor). Unknown income is never zero income.';
comment on column core.household_coverage_month.period is 'Data month YYYY-MM.';
comment on column core.household_coverage_month.household_id is 'family_id for roster families, H || hukou_no otherwise.';
comment on column core.household_coverage_month.size is 'Members in core.person_month this month (per capita divides by it).';
comment on column core.household_coverage_month.known_members is 'Members whose income is known (core.member_income_month).';
comment on column core.household_coverage_month.observed_income_yuan is 'Sum of the members'' observed income (HRSS); null without a loaded HRSS delivery for the month.';
comment on column core.household_coverage_month.income_coverage is 'verified / surveyed / full / partial.';
comment on column core.household_coverage_month.coverage_reason is 'Why, in codes without names or ids: the check or survey used, or the unknown members as relation:reason (e.g. "unknown 2/3: head:no_hrss_record, spouse:small_pension").';
comment on column core.household_coverage_month.verified_income_yuan is 'monthly_income_yuan of the latest assessed economic check of the household within 6 months (whatever the coverage); null if none.';
comment on column core.household_coverage_month.check_id is 'That check (mca_econ_checks.check_id).';
comment on column core.household_coverage_month.check_date is 'Its date.';
comment on column core.household_coverage_month.surveyed_income_yuan is 'From the relapse-watch survey: (per-capita net income - per-capita transfer income) / 12 x size, plus the pensions HRSS pays the members this month (the survey''s transfer income includes pensions with the assistance benefits; pensions are income to every rule); null if no survey within 18 months.';
comment on column core.household_coverage_month.watch_id is 'The relapse-watch household (moa_relapse_watch.watch_id) of that survey.';
comment on column core.household_coverage_month.rule_income_yuan is 'The monthly household income the income rules use: verified -> verified income; surveyed -> the larger of observed and surveyed income; full -> observed income; partial -> observed income (a floor, not the income).';
comment on column core.household_coverage_month.application_date is 'Date of the latest economic check on application (申请) of the household in the 12 months up to the month''s end, any basis: the household is in process.';
comment on column core.household_coverage_month.above_edge_date is 'Date of the latest economic check of the household in the 12 months up to the month''s end whose outcome was above_edge (any basis).';
comment on column core.household_coverage_month.assets_check_id is 'The latest economic check of the household (any basis) in the 12 months up to the month''s end: what it found of the assets (the next columns).';
comment on column core.household_coverage_month.assets_check_date is 'Its date.';
comment on column core.household_coverage_month.check_assets_yuan is 'Its financial assets (deposits + securities + insurance cash value), household total.';
comment on column core.household_coverage_month.check_vehicles is 'Its cars and trucks registered to members.';
comment on column core.household_coverage_month.check_size is 'The members it counted.';
