-- staging.ref_standards_current: the newest loaded standards version (the one in force from its valid_from on).
create or replace view staging.ref_standards_current as
select city_code, year, urban_rural, dibao_monthly_yuan, tekun_monthly_yuan, valid_from, delivery_id
from staging.ref_standards_asof
where valid_to is null;
comment on view staging.ref_standards_current is 'The newest loaded standards version (latest valid_from).';
comment on column staging.ref_standards_current.city_code is '4-digit city code (first 4 digits of a region code).';
comment on column staging.ref_standards_current.year is 'Year the standard applies to.';
comment on column staging.ref_standards_current.urban_rural is 'urban / rural.';
comment on column staging.ref_standards_current.dibao_monthly_yuan is '低保 standard, yuan per person per month.';
comment on column staging.ref_standards_current.tekun_monthly_yuan is '特困 basic-living standard, yuan per person per month.';
comment on column staging.ref_standards_current.valid_from is 'Month YYYY-MM from which this version applies (the delivery''s period).';
comment on column staging.ref_standards_current.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
