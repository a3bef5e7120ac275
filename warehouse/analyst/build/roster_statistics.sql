-- The rows of roster_statistics: the warehouse's one definition, mart.roster_statistics.
with stats as (
    select * from mart.roster_statistics
)
select period, level, region_code, province_code, city_code, county_code, category, urban_rural, households, persons,
       benefit_yuan
from stats
