-- core.roster_month: the roster of each data month counted per county, category and urban/rural
-- (the cells mart.roster_statistics rolls up to city and province).
create table if not exists core.roster_month (
    period VARCHAR NOT NULL,
    county_code VARCHAR NOT NULL,
    city_code VARCHAR NOT NULL,
    province_code VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    urban_rural VARCHAR NOT NULL,
    households BIGINT NOT NULL,
    persons BIGINT NOT NULL,
    benefit_yuan DECIMAL(18,2) NOT NULL
);
comment on table core.roster_month is '民政统计 cells: roster families (core.household_month on_roster), their members on the roster (core.person_month on_roster) and the benefit on their roster rows, per data month, county, category and urban/rural of the family (head''s row). Summed exactly by mart.roster_statistics.';
comment on column core.roster_month.period is 'Data month YYYY-MM (the roster snapshot).';
comment on column core.roster_month.county_code is '6-digit county of the family.';
comment on column core.roster_month.city_code is '4-digit city of the family.';
comment on column core.roster_month.province_code is '2-digit province of the family.';
comment on column core.roster_month.category is 'Roster category of the family: dibao, tekun, edge, expense_hardship, relapse_watch, other (unknown when the roster row has none).';
comment on column core.roster_month.urban_rural is 'urban / rural (unknown when the roster row has none).';
comment on column core.roster_month.households is 'Roster families.';
comment on column core.roster_month.persons is 'Their members on the roster (hukou members not on the roster are not counted).';
comment on column core.roster_month.benefit_yuan is 'Benefit on the roster rows of the month (sum of monthly_benefit_yuan; 低保金, 特困供养金, ...).';
