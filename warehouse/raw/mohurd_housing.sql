-- raw.mohurd_housing: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/mohurd_housing.py.
create table if not exists raw.mohurd_housing (
    as_of VARCHAR,
    person_id VARCHAR,
    property_count VARCHAR,
    property_area_m2 VARCHAR,
    public_rental VARCHAR,
    dilapidated_level VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
comment on table raw.mohurd_housing is 'Housing & urban-rural development (住建): quarterly snapshot for roster persons. Raw layer: values exactly as delivered (CSV), as text.';
comment on column raw.mohurd_housing.as_of is 'Snapshot date. As delivered (text).';
comment on column raw.mohurd_housing.person_id is '身份证号, trimmed and upper-cased. As delivered (text).';
comment on column raw.mohurd_housing.property_count is 'Registered residential properties. As delivered (text).';
comment on column raw.mohurd_housing.property_area_m2 is 'Total registered residential area, m². As delivered (text).';
comment on column raw.mohurd_housing.public_rental is 'Lives in public rental housing (delivered true/false, True/False or 1/0). As delivered (text).';
comment on column raw.mohurd_housing.dilapidated_level is 'Rural house safety rating A..D (D = dangerous); null if not rated. As delivered (text).';
comment on column raw.mohurd_housing.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.mohurd_housing.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.mohurd_housing._file is 'File name inside the delivery folder.';
comment on column raw.mohurd_housing._row is '1-based data row number in that file (header excluded), for error reports.';
