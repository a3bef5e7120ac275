-- core.member_income_month: whether each member's income is known in a month, and why (principle 5).
create table if not exists core.member_income_month (
    period VARCHAR NOT NULL,
    household_id VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    relation VARCHAR,
    age INTEGER,
    observed_income_yuan DECIMAL(18,2),
    income_known BOOLEAN NOT NULL,
    reason VARCHAR NOT NULL
);
comment on table core.member_income_month is 'Per household member and data month: the income the feeds observe (contribution base of the employed/flexible + unemployment benefit + pension) and whether that income is KNOWN. Known only on positive evidence: an HRSS row employed or flexible, an unemployment benefit > 0, a pension >= the local 低保 standard; members under 16 and students of the latest loaded moe_students term are known at zero. Every other member is unknown (farm, migrant, informal income is in no feed), never zero.';
comment on column core.member_income_month.period is 'Data month YYYY-MM.';
comment on column core.member_income_month.household_id is 'Household (core.person_month) of the member in the month.';
comment on column core.member_income_month.person_id is '身份证号.';
comment on column core.member_income_month.relation is 'Relation to the family head (roster families); null otherwise.';
comment on column core.member_income_month.age is 'Age in whole years at the end of the month.';
comment on column core.member_income_month.observed_income_yuan is 'Income the HRSS feed shows this month (0 without a row); null when the month has no loaded HRSS delivery.';
comment on column core.member_income_month.income_known is 'True when the member''s income is known (see reason).';
comment on column core.member_income_month.reason is 'Known: child (under 16), student, employed, flexible, unemployment_benefit, pension. Unknown: no_hrss_record, status_none, small_pension (below the 低保 standard: e.g. the basic resident pension), unemployed_no_benefit, retired_no_pension, hrss_not_delivered.';
