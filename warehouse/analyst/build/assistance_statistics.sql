-- The rows of assistance_statistics: the warehouse's one definition, mart.assistance_statistics.
with stats as (
    select * from mart.assistance_statistics
)
select period, level, region_code, province_code, city_code, county_code, kind, households, payments, amount_yuan
from stats
