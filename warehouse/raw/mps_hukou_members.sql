-- raw.mps_hukou_members: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/mps_hukou_members.py.
create table if not exists raw.mps_hukou_members (
    person_id VARCHAR,
    hukou_no VARCHAR,
    region_code VARCHAR,
    as_of VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
comment on table raw.mps_hukou_members is 'Public security (公安户籍): every member of every hukou household with at least one member in any feed this month; how non-roster persons are grouped into households. Raw layer: values exactly as delivered (CSV), as text.';
comment on column raw.mps_hukou_members.person_id is '身份证号, trimmed and upper-cased. As delivered (text).';
comment on column raw.mps_hukou_members.hukou_no is '户号 (household-registration number, 9 to 12 digits). As delivered (text).';
comment on column raw.mps_hukou_members.region_code is '12-digit region code of the hukou. As delivered (text).';
comment on column raw.mps_hukou_members.as_of is 'Extract date (delivered YYYYMMDD). As delivered (text).';
comment on column raw.mps_hukou_members.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.mps_hukou_members.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.mps_hukou_members._file is 'File name inside the delivery folder.';
comment on column raw.mps_hukou_members._row is '1-based data row number in that file (header excluded), for error reports.';
