-- Region names down to town level (public reference data); village rows are left out
-- because analysts only get town codes.
create table {{ target }}.regions as
with ref as (
    select * from {{ source('staging', 'ref_regions') }}
),
latest as (
    select region_code, arg_max(name, period) as region_name, arg_max(level, period) as level,
           arg_max(parent_code, period) as parent_code
    from ref
    group by region_code
)
select
    region_code,
    case level
        when 'province' then left(region_code, 2)
        when 'city' then left(region_code, 4)
        when 'county' then left(region_code, 6)
        when 'town' then left(region_code, 9)
        else region_code
    end as level_code,
    region_name,
    level,
    parent_code
from latest
where coalesce(level, '') <> 'village';

comment on table {{ target }}.regions is '行政区划 Region names (province, city, county, town) from the reference feed ref_regions.';
comment on column {{ target }}.regions.region_code is '区划代码 Region code (as delivered: 12 digits, or shorter prefixes)';
comment on column {{ target }}.regions.level_code is '本级代码 The code at its own level: city 4, county 6, town 9 digits (joins county_code / town_code)';
comment on column {{ target }}.regions.region_name is '名称 Region name';
comment on column {{ target }}.regions.level is '级别 province / city / county / town';
comment on column {{ target }}.regions.parent_code is '上级代码 Parent region code';
