-- staging.ref_regions_current: the newest loaded region list version (the one in force from its valid_from on).
create or replace view staging.ref_regions_current as
select region_code, name, level, parent_code, valid_from, delivery_id
from staging.ref_regions_asof
where valid_to is null;
comment on view staging.ref_regions_current is 'The newest loaded region list version (latest valid_from).';
comment on column staging.ref_regions_current.region_code is '12-digit region code.';
comment on column staging.ref_regions_current.name is 'Region name.';
comment on column staging.ref_regions_current.level is 'province, city, county, town, village.';
comment on column staging.ref_regions_current.parent_code is 'Region code of the parent level; null for the province.';
comment on column staging.ref_regions_current.valid_from is 'Month YYYY-MM from which this version applies (the delivery''s period).';
comment on column staging.ref_regions_current.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
