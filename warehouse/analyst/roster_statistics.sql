-- roster_statistics: 民政统计, the warehouse's mart.roster_statistics as of the build (rows:
-- build/roster_statistics.sql). Region names: join regions.
create table if not exists roster_statistics (
    period VARCHAR,
    level VARCHAR,
    region_code VARCHAR,
    province_code VARCHAR,
    city_code VARCHAR,
    county_code VARCHAR,
    category VARCHAR,
    urban_rural VARCHAR,
    households BIGINT,
    persons BIGINT,
    benefit_yuan DECIMAL(18,2)
);
comment on table roster_statistics is '民政统计 低收入人口 Roster households, persons and benefit per data month by category x urban/rural x county, rolled up to city and province (level); category / urban_rural = all are the totals. Every level adds up exactly.';
comment on column roster_statistics.period is '数据月份 Data month YYYY-MM';
comment on column roster_statistics.level is '层级 county, city or province';
comment on column roster_statistics.region_code is '区划代码 County (6 digits), city (4) or province (2)';
comment on column roster_statistics.province_code is '省代码 2-digit province';
comment on column roster_statistics.city_code is '市代码 4-digit city; null on province rows';
comment on column roster_statistics.county_code is '县代码 6-digit county; null on city and province rows';
comment on column roster_statistics.category is '救助类别 Roster category or all';
comment on column roster_statistics.urban_rural is '城乡 urban, rural or all';
comment on column roster_statistics.households is '户数 Roster families';
comment on column roster_statistics.persons is '人数 Their members on the roster';
comment on column roster_statistics.benefit_yuan is '发放金额（元）Benefit on the month''s roster rows';
