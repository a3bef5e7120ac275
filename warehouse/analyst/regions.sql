-- regions: region names down to town level (rows: build/regions.sql).
create table if not exists regions (
    region_code VARCHAR,
    level_code VARCHAR,
    region_name VARCHAR,
    level VARCHAR,
    parent_code VARCHAR
);
comment on table regions is '行政区划 Region names (province, city, county, town) from the reference feed ref_regions.';
comment on column regions.region_code is '区划代码 Region code (as delivered: 12 digits, or shorter prefixes)';
comment on column regions.level_code is '本级代码 The code at its own level: city 4, county 6, town 9 digits (joins county_code / town_code)';
comment on column regions.region_name is '名称 Region name';
comment on column regions.level is '级别 province / city / county / town';
comment on column regions.parent_code is '上级代码 Parent region code';
