-- The rows of warning_statistics: the warehouse's one definition, mart.warning_statistics.
with stats as (
    select * from mart.warning_statistics
)
select period, level, indicator_code, department, warnings, households, cases_opened
from stats
