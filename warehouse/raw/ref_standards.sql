-- raw.ref_standards: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/ref_standards.py.
create table if not exists raw.ref_standards (
    city_code VARCHAR,
    year VARCHAR,
    urban_rural VARCHAR,
    dibao_monthly_yuan VARCHAR,
    tekun_monthly_yuan VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
comment on table raw.ref_standards is 'Reference: 低保 standard and 特困 basic-living standard per city, year and urban/rural. Every version is kept; period = valid_from month. Raw layer: values exactly as delivered (CSV), as text.';
comment on column raw.ref_standards.city_code is '4-digit city code (first 4 digits of a region code). As delivered (text).';
comment on column raw.ref_standards.year is 'Year the standard applies to. As delivered (text).';
comment on column raw.ref_standards.urban_rural is 'urban / rural. As delivered (text).';
comment on column raw.ref_standards.dibao_monthly_yuan is '低保 standard, yuan per person per month. As delivered (text).';
comment on column raw.ref_standards.tekun_monthly_yuan is '特困 basic-living standard, yuan per person per month. As delivered (text).';
comment on column raw.ref_standards.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.ref_standards.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.ref_standards._file is 'File name inside the delivery folder.';
comment on column raw.ref_standards._row is '1-based data row number in that file (header excluded), for error reports.';
