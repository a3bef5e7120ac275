-- staging.mps_hukou_events: typed, renamed, ids normalised. Built by pipelines/feeds/mps_hukou_events.py (staging_sql).
create table if not exists staging.mps_hukou_events (
    event_id VARCHAR,
    person_id VARCHAR,
    hukou_no VARCHAR,
    event_type VARCHAR,
    event_date DATE,
    region_code VARCHAR,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.mps_hukou_events is 'Public security household registration events (公安户籍): monthly, all residents. Dates delivered as YYYYMMDD. Typed staging layer (one partition per period).';
comment on column staging.mps_hukou_events.event_id is 'Event id, unique.';
comment on column staging.mps_hukou_events.person_id is '身份证号, trimmed and upper-cased.';
comment on column staging.mps_hukou_events.hukou_no is '户号 of the household the person belongs to after the event.';
comment on column staging.mps_hukou_events.event_type is 'birth, death, move_in, move_out, marriage, divorce.';
comment on column staging.mps_hukou_events.event_date is 'Event date (delivered YYYYMMDD).';
comment on column staging.mps_hukou_events.region_code is '12-digit region code of the hukou.';
comment on column staging.mps_hukou_events.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.mps_hukou_events.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.mps_hukou_events._file is 'File name inside the delivery folder.';
comment on column staging.mps_hukou_events._row is '1-based data row number in that file (header excluded), for error reports.';
