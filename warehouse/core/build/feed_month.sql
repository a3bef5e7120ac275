-- core.feed_month: ops.completeness as of this build, with the load time of each delivery.
with completeness as (
    select feed_id, period, status, delivery_id from ops.completeness
),
deliveries as (
    select delivery_id, max(status_at) as loaded_at from ops.deliveries group by delivery_id
)
select c.feed_id, c.period, c.status, c.delivery_id, d.loaded_at
from completeness c
left join deliveries d using (delivery_id)
