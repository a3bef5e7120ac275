-- The rows of delivery_quality: the warehouse's one definition, the table macro mart.delivery_quality,
-- with the due day of models/departments.toml ($due_day, INTEGER).
with quality as (
    select * from mart.delivery_quality($due_day)
)
select period, department, deliveries, on_time, late, rejected, loaded, rows_loaded, warned_rows, warned_share
from quality
