-- core.household_month: the household facts each indicator reads, one row per household and month.
create table if not exists core.household_month (
    period VARCHAR NOT NULL,
    household_id VARCHAR NOT NULL,
    family_id VARCHAR,
    hukou_no VARCHAR,
    on_roster BOOLEAN NOT NULL,
    category VARCHAR,
    county_code VARCHAR,
    city_code VARCHAR,
    urban_rural VARCHAR,
    size INTEGER NOT NULL,
    head_person_id VARCHAR,
    income_yuan DECIMAL(18,2),
    income_known BOOLEAN NOT NULL,
    oop_yuan DECIMAL(18,2) NOT NULL,
    edu_cost_yuan DECIMAL(18,2) NOT NULL,
    dibao_std_yuan DECIMAL(14,2),
    tekun_std_yuan DECIMAL(14,2),
    month_idx INTEGER NOT NULL,
    region_code VARCHAR,
    earners INTEGER,
    oop_known BOOLEAN NOT NULL,
    disaster_loss_yuan DECIMAL(18,2) NOT NULL,
    income_coverage VARCHAR,
    coverage_reason VARCHAR,
    observed_income_yuan DECIMAL(18,2),
    verified_income_yuan DECIMAL(18,2),
    rule_income_yuan DECIMAL(18,2)
);
alter table core.household_month add column if not exists income_coverage VARCHAR;
alter table core.household_month add column if not exists coverage_reason VARCHAR;
alter table core.household_month add column if not exists observed_income_yuan DECIMAL(18,2);
alter table core.household_month add column if not exists verified_income_yuan DECIMAL(18,2);
alter table core.household_month add column if not exists rule_income_yuan DECIMAL(18,2);
comment on table core.household_month is 'One row per household and data month: composition (core.person_month), income, spending and the applicable standards. income_known is false when the HRSS delivery of the month is missing or rejected; income_yuan is then null, never 0.';
comment on column core.household_month.period is 'Data month YYYY-MM.';
comment on column core.household_month.household_id is 'family_id for roster families, H || hukou_no otherwise.';
comment on column core.household_month.family_id is 'Civil affairs family id; null off the roster.';
comment on column core.household_month.hukou_no is 'Hukou household number of the head (户号).';
comment on column core.household_month.on_roster is 'The household is a roster family this month.';
comment on column core.household_month.category is 'Roster category of the family (head''s row); null off the roster.';
comment on column core.household_month.county_code is '6-digit county of the household (cases go to this county''s offices).';
comment on column core.household_month.city_code is '4-digit city of the household (standards, per-city thresholds).';
comment on column core.household_month.urban_rural is 'urban / rural: which standard applies.';
comment on column core.household_month.size is 'Members this month (per-capita divisor).';
comment on column core.household_month.head_person_id is 'Family head (roster relation head); off the roster the oldest member.';
comment on column core.household_month.income_yuan is 'Observed income: sum of the members'' core.person_income_month.income_yuan (members without an HRSS row add 0, which does not make their income zero: see income_coverage); null when income_known is false. INC_DROP reads it: a fall in observed income is itself the evidence.';
comment on column core.household_month.income_known is 'An hrss_employment delivery is loaded for the month. False = unknown income (skipped in baselines, gates income rules), never zero.';
comment on column core.household_month.oop_yuan is 'Net medical out-of-pocket cost dated in the month (core.household_oop_month), 0 without settlements.';
comment on column core.household_month.edu_cost_yuan is 'Education cost of the term starting this month (core.student_term summed); 0 in other months.';
comment on column core.household_month.dibao_std_yuan is '低保 standard per person per month for the household''s city, year and urban/rural (core.standards_month).';
comment on column core.household_month.tekun_std_yuan is '特困 basic-living standard per person per month.';
comment on column core.household_month.month_idx is 'year * 12 + month - 1 (trailing windows join on month_idx ranges).';
comment on column core.household_month.region_code is '12-digit region code of the household (head''s row).';
comment on column core.household_month.earners is 'Members with an HRSS row this month.';
comment on column core.household_month.oop_known is 'An nhsa_claims delivery is loaded for the month.';
comment on column core.household_month.disaster_loss_yuan is 'Assessed direct disaster loss (mem_disaster.loss_yuan) of the month''s disaster records of members; 0 without.';
comment on column core.household_month.income_coverage is 'verified / surveyed / full / partial (core.household_coverage_month): how much of the income the feeds know.';
comment on column core.household_month.coverage_reason is 'Why that coverage, in codes (core.household_coverage_month).';
comment on column core.household_month.observed_income_yuan is 'Income the feeds observe (HRSS), the same as income_yuan: on partial coverage only a floor.';
comment on column core.household_month.verified_income_yuan is 'Household income of the latest assessed economic check within 6 months, if any.';
comment on column core.household_month.rule_income_yuan is 'The income the income rules use (principle 5): verified, else max(observed, surveyed), else observed.';
