-- assistance_statistics: 民政统计, the warehouse's mart.assistance_statistics as of the build (rows:
-- build/assistance_statistics.sql).
create table if not exists assistance_statistics (
    period VARCHAR,
    level VARCHAR,
    region_code VARCHAR,
    province_code VARCHAR,
    city_code VARCHAR,
    county_code VARCHAR,
    kind VARCHAR,
    households BIGINT,
    payments BIGINT,
    amount_yuan DECIMAL(18,2)
);
comment on table assistance_statistics is '民政统计 救助 The assistance chain summed per data month and kind (or all), by county, city and province (level): households that received it, months or times, yuan.';
comment on column assistance_statistics.period is '数据月份 Data month YYYY-MM';
comment on column assistance_statistics.level is '层级 county, city or province';
comment on column assistance_statistics.region_code is '区划代码 County (6 digits), city (4) or province (2)';
comment on column assistance_statistics.province_code is '省代码 2-digit province';
comment on column assistance_statistics.city_code is '市代码 4-digit city; null on province rows';
comment on column assistance_statistics.county_code is '县代码 6-digit county; null on city and province rows';
comment on column assistance_statistics.kind is '救助类别 Kind (assistance_kinds) or all';
comment on column assistance_statistics.households is '户数 Households that received it';
comment on column assistance_statistics.payments is '月数或次数 Months paid or times';
comment on column assistance_statistics.amount_yuan is '金额（元）Yuan received';
