-- raw.ref_regions: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/ref_regions.py.
create table if not exists raw.ref_regions (
    region_code VARCHAR,
    name VARCHAR,
    level VARCHAR,
    parent_code VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
comment on table raw.ref_regions is 'Reference: region codes (统计用区划代码). Every version is kept; period = the month from which the version applies (valid_from). Raw layer: values exactly as delivered (CSV), as text.';
comment on column raw.ref_regions.region_code is '12-digit region code. As delivered (text).';
comment on column raw.ref_regions.name is 'Region name. As delivered (text).';
comment on column raw.ref_regions.level is 'province, city, county, town, village. As delivered (text).';
comment on column raw.ref_regions.parent_code is 'Region code of the parent level; null for the province. As delivered (text).';
comment on column raw.ref_regions.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.ref_regions.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.ref_regions._file is 'File name inside the delivery folder.';
comment on column raw.ref_regions._row is '1-based data row number in that file (header excluded), for error reports.';
