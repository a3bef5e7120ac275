-- core.person_month: who belongs to which household in each data month.
create table if not exists core.person_month (
    period VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    household_id VARCHAR NOT NULL,
    family_id VARCHAR,
    hukou_no VARCHAR,
    on_roster BOOLEAN NOT NULL,
    category VARCHAR,
    region_code VARCHAR,
    county_code VARCHAR,
    city_code VARCHAR,
    urban_rural VARCHAR,
    relation VARCHAR,
    birth_date DATE,
    name VARCHAR,
    monthly_benefit_yuan DECIMAL(14,2)
);
comment on table core.person_month is 'Household composition per data month. Roster persons by the roster snapshot of the month (household_id = family_id); a non-roster person whose hukou household is a roster family''s (a newborn or a move-in the roster has not caught up with) joins that family; everyone else in mps_hukou_members of the month forms household H || hukou_no. Roster wins. Rebuilt per period.';
comment on column core.person_month.period is 'Data month YYYY-MM.';
comment on column core.person_month.person_id is '身份证号 (normalised).';
comment on column core.person_month.household_id is 'family_id for roster families, H || hukou_no otherwise.';
comment on column core.person_month.family_id is 'Civil affairs family id (家庭编号); null for non-roster households.';
comment on column core.person_month.hukou_no is 'Hukou household number (户号) from mps_hukou_members of the month; null if the person is not listed there.';
comment on column core.person_month.on_roster is 'true when the person is on the roster snapshot of the month.';
comment on column core.person_month.category is 'Roster category of the person (dibao, tekun, edge, expense_hardship, relapse_watch, other); null off the roster.';
comment on column core.person_month.region_code is '12-digit region code: the roster family''s, else the hukou member row''s.';
comment on column core.person_month.county_code is 'First 6 digits of region_code: the county office cases go to.';
comment on column core.person_month.city_code is 'First 4 digits of region_code: selects the standards.';
comment on column core.person_month.urban_rural is 'Roster value; off the roster by the village code (last 3 digits 001-199 居委会 = urban, else rural).';
comment on column core.person_month.relation is 'Relation to the family head (roster); null off the roster.';
comment on column core.person_month.birth_date is 'Roster birth date; off the roster decoded from the 身份证号.';
comment on column core.person_month.name is 'Chinese name from the roster (restricted personal data); null off the roster.';
comment on column core.person_month.monthly_benefit_yuan is 'Monthly cash benefit on the roster row (0 without cash benefit); null off the roster.';
