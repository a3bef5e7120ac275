-- staging.mps_hukou_members: typed, renamed, ids normalised. Built by pipelines/feeds/mps_hukou_members.py (staging_sql).
create table if not exists staging.mps_hukou_members (
    person_id VARCHAR,
    hukou_no VARCHAR,
    region_code VARCHAR,
    as_of DATE,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.mps_hukou_members is 'Public security (公安户籍): every member of every hukou household with at least one member in any feed this month; how non-roster persons are grouped into households. Typed staging layer (one partition per period).';
comment on column staging.mps_hukou_members.person_id is '身份证号, trimmed and upper-cased.';
comment on column staging.mps_hukou_members.hukou_no is '户号 (household-registration number, 9 to 12 digits).';
comment on column staging.mps_hukou_members.region_code is '12-digit region code of the hukou.';
comment on column staging.mps_hukou_members.as_of is 'Extract date (delivered YYYYMMDD).';
comment on column staging.mps_hukou_members.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.mps_hukou_members.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.mps_hukou_members._file is 'File name inside the delivery folder.';
comment on column staging.mps_hukou_members._row is '1-based data row number in that file (header excluded), for error reports.';
