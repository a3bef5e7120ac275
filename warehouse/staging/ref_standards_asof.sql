-- staging.ref_standards_asof: every loaded standards version with its validity interval.
-- The version in force for data month M: where valid_from <= M and (valid_to is null or M < valid_to).
create or replace view staging.ref_standards_asof as
with versions as (
    select distinct period as valid_from from staging.ref_standards
),
intervals as (
    select valid_from, lead(valid_from) over (order by valid_from) as valid_to from versions
)
select city_code, year, urban_rural, dibao_monthly_yuan, tekun_monthly_yuan, i.valid_from, i.valid_to, r.delivery_id
from staging.ref_standards r
join intervals i on i.valid_from = r.period;
comment on view staging.ref_standards_asof is 'All loaded standards versions with valid_from / valid_to (YYYY-MM, valid_to exclusive, null = still in force). Pick the version for month M with valid_from <= M and (valid_to is null or M < valid_to).';
comment on column staging.ref_standards_asof.city_code is '4-digit city code (first 4 digits of a region code).';
comment on column staging.ref_standards_asof.year is 'Year the standard applies to.';
comment on column staging.ref_standards_asof.urban_rural is 'urban / rural.';
comment on column staging.ref_standards_asof.dibao_monthly_yuan is '低保 standard, yuan per person per month.';
comment on column staging.ref_standards_asof.tekun_monthly_yuan is '特困 basic-living standard, yuan per person per month.';
comment on column staging.ref_standards_asof.valid_from is 'Month YYYY-MM from which this version applies (the delivery''s period).';
comment on column staging.ref_standards_asof.valid_to is 'Month YYYY-MM from which the next version applies (exclusive); null = still in force.';
comment on column staging.ref_standards_asof.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
