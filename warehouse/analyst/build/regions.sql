-- The rows of regions: region names down to town level (public reference data); village rows are
-- left out because analysts only get town codes.
with ref as (
    select * from staging.ref_regions
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
where coalesce(level, '') <> 'village'
