-- core.assistance_county_month: the assistance chain of each data month counted per county and kind
-- (the cells mart.assistance_statistics rolls up to city and province).
create table if not exists core.assistance_county_month (
    period VARCHAR NOT NULL,
    county_code VARCHAR NOT NULL,
    city_code VARCHAR NOT NULL,
    province_code VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    households BIGINT NOT NULL,
    payments BIGINT NOT NULL,
    amount_yuan DECIMAL(18,2) NOT NULL
);
comment on table core.assistance_county_month is '民政统计 cells: core.assistance_month per data month, county of the household (core.household_month) and kind, with a row kind = all per county (households counted once whatever they received). Summed exactly by mart.assistance_statistics.';
comment on column core.assistance_county_month.period is 'Data month YYYY-MM.';
comment on column core.assistance_county_month.county_code is '6-digit county of the household that month (000000 when unknown).';
comment on column core.assistance_county_month.city_code is '4-digit city.';
comment on column core.assistance_county_month.province_code is '2-digit province.';
comment on column core.assistance_county_month.kind is 'Kind of assistance (mart.assistance_kinds) or all.';
comment on column core.assistance_county_month.households is 'Households that received it (for all: that received any).';
comment on column core.assistance_county_month.payments is 'Months paid or times (mart.assistance_kinds.counts); for all the sum over kinds.';
comment on column core.assistance_county_month.amount_yuan is 'Yuan received.';
