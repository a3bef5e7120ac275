-- staging.ref_standards: typed, renamed, ids normalised. Built by pipelines/feeds/ref_standards.py (staging_sql).
create table if not exists staging.ref_standards (
    city_code VARCHAR,
    year INTEGER,
    urban_rural VARCHAR,
    dibao_monthly_yuan DECIMAL(14,2),
    tekun_monthly_yuan DECIMAL(14,2),
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.ref_standards is 'Reference: 低保 standard and 特困 basic-living standard per city, year and urban/rural. Every version is kept; period = valid_from month. Typed staging layer (one partition per period).';
comment on column staging.ref_standards.city_code is '4-digit city code (first 4 digits of a region code).';
comment on column staging.ref_standards.year is 'Year the standard applies to.';
comment on column staging.ref_standards.urban_rural is 'urban / rural.';
comment on column staging.ref_standards.dibao_monthly_yuan is '低保 standard, yuan per person per month.';
comment on column staging.ref_standards.tekun_monthly_yuan is '特困 basic-living standard, yuan per person per month.';
comment on column staging.ref_standards.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.ref_standards.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.ref_standards._file is 'File name inside the delivery folder.';
comment on column staging.ref_standards._row is '1-based data row number in that file (header excluded), for error reports.';
