-- staging.ref_regions: typed, renamed, ids normalised. Built by pipelines/feeds/ref_regions.py (staging_sql).
create table if not exists staging.ref_regions (
    region_code VARCHAR,
    name VARCHAR,
    level VARCHAR,
    parent_code VARCHAR,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.ref_regions is 'Reference: region codes (统计用区划代码). Every version is kept; period = the month from which the version applies (valid_from). Typed staging layer (one partition per period).';
comment on column staging.ref_regions.region_code is '12-digit region code.';
comment on column staging.ref_regions.name is 'Region name.';
comment on column staging.ref_regions.level is 'province, city, county, town, village.';
comment on column staging.ref_regions.parent_code is 'Region code of the parent level; null for the province.';
comment on column staging.ref_regions.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.ref_regions.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.ref_regions._file is 'File name inside the delivery folder.';
comment on column staging.ref_regions._row is '1-based data row number in that file (header excluded), for error reports.';
