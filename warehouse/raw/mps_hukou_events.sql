-- raw.mps_hukou_events: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/mps_hukou_events.py.
create table if not exists raw.mps_hukou_events (
    event_id VARCHAR,
    person_id VARCHAR,
    hukou_no VARCHAR,
    event_type VARCHAR,
    event_date VARCHAR,
    region_code VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
comment on table raw.mps_hukou_events is 'Public security household registration events (公安户籍): monthly, all residents. Dates delivered as YYYYMMDD. Raw layer: values exactly as delivered (CSV), as text.';
comment on column raw.mps_hukou_events.event_id is 'Event id, unique. As delivered (text).';
comment on column raw.mps_hukou_events.person_id is '身份证号, trimmed and upper-cased. As delivered (text).';
comment on column raw.mps_hukou_events.hukou_no is '户号 of the household the person belongs to after the event. As delivered (text).';
comment on column raw.mps_hukou_events.event_type is 'birth, death, move_in, move_out, marriage, divorce. As delivered (text).';
comment on column raw.mps_hukou_events.event_date is 'Event date (delivered YYYYMMDD). As delivered (text).';
comment on column raw.mps_hukou_events.region_code is '12-digit region code of the hukou. As delivered (text).';
comment on column raw.mps_hukou_events.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.mps_hukou_events.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.mps_hukou_events._file is 'File name inside the delivery folder.';
comment on column raw.mps_hukou_events._row is '1-based data row number in that file (header excluded), for error reports.';
