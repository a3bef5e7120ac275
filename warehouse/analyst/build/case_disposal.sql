-- The rows of case_disposal: the warehouse's one definition, the table macro mart.case_disposal, at the
-- build's night $reference_at (TIMESTAMPTZ, the night's logical time).
with disposal as (
    select * from mart.case_disposal($reference_at)
)
select level, department, county_code, sent, due, disposed, disposal_rate, overdue, in_progress, not_due,
       disposed_before_due
from disposal
