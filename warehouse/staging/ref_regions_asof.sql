-- staging.ref_regions_asof: every loaded region list version with its validity interval.
-- The version in force for data month M: where valid_from <= M and (valid_to is null or M < valid_to).
create or replace view staging.ref_regions_asof as
with versions as (
    select distinct period as valid_from from staging.ref_regions
),
intervals as (
    select valid_from, lead(valid_from) over (order by valid_from) as valid_to from versions
)
select region_code, name, level, parent_code, i.valid_from, i.valid_to, r.delivery_id
from staging.ref_regions r
join intervals i on i.valid_from = r.period;
comment on view staging.ref_regions_asof is 'All loaded region list versions with valid_from / valid_to (YYYY-MM, valid_to exclusive, null = still in force). Pick the version for month M with valid_from <= M and (valid_to is null or M < valid_to).';
comment on column staging.ref_regions_asof.region_code is '12-digit region code.';
comment on column staging.ref_regions_asof.name is 'Region name.';
comment on column staging.ref_regions_asof.level is 'province, city, county, town, village.';
comment on column staging.ref_regions_asof.parent_code is 'Region code of the parent level; null for the province.';
comment on column staging.ref_regions_asof.valid_from is 'Month YYYY-MM from which this version applies (the delivery''s period).';
comment on column staging.ref_regions_asof.valid_to is 'Month YYYY-MM from which the next version applies (exclusive); null = still in force.';
comment on column staging.ref_regions_asof.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
