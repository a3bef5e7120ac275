-- core.standards_month: the 低保 / 特困 standards in force per data month, city and urban/rural.
create table if not exists core.standards_month (
    period VARCHAR NOT NULL,
    city_code VARCHAR NOT NULL,
    urban_rural VARCHAR NOT NULL,
    dibao_std_yuan DECIMAL(14,2),
    tekun_std_yuan DECIMAL(14,2),
    standard_year INTEGER,
    valid_from VARCHAR,
    delivery_id VARCHAR
);
comment on table core.standards_month is 'Applicable standards per data month: from staging.ref_standards, the newest version (period = valid_from) <= the month, and within it the row for the month''s year (else the latest earlier year).';
comment on column core.standards_month.period is 'Data month YYYY-MM.';
comment on column core.standards_month.city_code is '4-digit city code (first 4 digits of a region code).';
comment on column core.standards_month.urban_rural is 'urban / rural.';
comment on column core.standards_month.dibao_std_yuan is '低保 standard, yuan per person per month.';
comment on column core.standards_month.tekun_std_yuan is '特困 basic-living standard, yuan per person per month.';
comment on column core.standards_month.standard_year is 'The year column of the standards row used.';
comment on column core.standards_month.valid_from is 'Version (YYYY-MM) of the standards table used.';
comment on column core.standards_month.delivery_id is 'ref_standards delivery the row came from.';
