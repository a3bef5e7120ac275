-- The rows of deliveries: the delivery ledger without folder paths or error texts (an error
-- message may quote a rejected value, e.g. an id): counts and check names only.
with ledger as (
    select * from ops.deliveries
),
counted as (
    select
        *,
        coalesce(json_array_length(try_cast(errors as json)), 0) as error_count,
        coalesce(json_array_length(try_cast(warnings as json)), 0) as warning_count,
        list_sort(list_distinct(coalesce(
            try_cast(json_extract_string(try_cast(errors as json), '$[*].check') as varchar[]), []))) as failed_checks
    from ledger
)
select
    delivery_id,
    feed_id,
    period,
    delivery_date,
    produced_at,
    rows,
    status,
    error_count,
    warning_count,
    failed_checks,
    first_seen_at,
    status_at,
    superseded_by
from counted
