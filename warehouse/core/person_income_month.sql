-- core.person_income_month: monthly income per person from hrss_employment.
create table if not exists core.person_income_month (
    period VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    employment_status VARCHAR,
    income_yuan DECIMAL(18,2) NOT NULL,
    wage_yuan DECIMAL(18,2),
    unemployment_benefit_yuan DECIMAL(18,2),
    pension_yuan DECIMAL(18,2),
    delivery_id VARCHAR
);
comment on table core.person_income_month is 'Income of a person in a month (principle 5): contribution base of the employed/flexibly employed + unemployment benefit + pension. Only persons with an hrss_employment row that month; assistance benefits are not income. A month without a loaded HRSS delivery has no rows here and counts as unknown, never as zero (see core.household_month.income_known).';
comment on column core.person_income_month.period is 'Data month YYYY-MM.';
comment on column core.person_income_month.person_id is '身份证号.';
comment on column core.person_income_month.employment_status is 'employed, flexible, unemployed_registered, retired, none (with two rows in a month: the most active one).';
comment on column core.person_income_month.income_yuan is 'wage_yuan + unemployment_benefit_yuan + pension_yuan.';
comment on column core.person_income_month.wage_yuan is 'Contribution base (缴费基数), counted only for employed / flexible.';
comment on column core.person_income_month.unemployment_benefit_yuan is 'Unemployment benefit paid this month (失业保险金).';
comment on column core.person_income_month.pension_yuan is 'Pension paid this month (养老金).';
comment on column core.person_income_month.delivery_id is 'hrss_employment delivery of the row.';
