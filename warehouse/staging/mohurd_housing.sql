-- staging.mohurd_housing: typed, renamed, ids normalised. Built by pipelines/feeds/mohurd_housing.py (staging_sql).
create table if not exists staging.mohurd_housing (
    as_of DATE,
    person_id VARCHAR,
    property_count INTEGER,
    property_area_m2 DECIMAL(10,2),
    public_rental BOOLEAN,
    dilapidated_level VARCHAR,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.mohurd_housing is 'Housing & urban-rural development (住建): quarterly snapshot for roster persons. Typed staging layer (one partition per period).';
comment on column staging.mohurd_housing.as_of is 'Snapshot date.';
comment on column staging.mohurd_housing.person_id is '身份证号, trimmed and upper-cased.';
comment on column staging.mohurd_housing.property_count is 'Registered residential properties.';
comment on column staging.mohurd_housing.property_area_m2 is 'Total registered residential area, m².';
comment on column staging.mohurd_housing.public_rental is 'Lives in public rental housing (delivered true/false, True/False or 1/0).';
comment on column staging.mohurd_housing.dilapidated_level is 'Rural house safety rating A..D (D = dangerous); null if not rated.';
comment on column staging.mohurd_housing.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.mohurd_housing.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.mohurd_housing._file is 'File name inside the delivery folder.';
comment on column staging.mohurd_housing._row is '1-based data row number in that file (header excluded), for error reports.';
