-- raw.mem_disaster: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/mem_disaster.py.
create table if not exists raw.mem_disaster (
    disaster_id VARCHAR,
    disaster_type VARCHAR,
    occurred_on VARCHAR,
    person_id VARCHAR,
    region_code VARCHAR,
    house_damage VARCHAR,
    loss_yuan VARCHAR,
    emergency_aid_yuan VARCHAR,
    status VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
alter table raw.mem_disaster add column if not exists status VARCHAR;
comment on table raw.mem_disaster is 'Emergency management (应急管理 受灾人员): affected household heads, all residents; delivered as JSON lines; monthly until 2026-03, daily and additive from period 2026-04 (each daily delivery its own partition). Raw layer: values exactly as delivered (JSON lines), as text.';
comment on column raw.mem_disaster.disaster_id is 'Disaster id. As delivered (text).';
comment on column raw.mem_disaster.disaster_type is 'flood, typhoon, earthquake, drought, fire, landslide, other. As delivered (text).';
comment on column raw.mem_disaster.occurred_on is 'Date the disaster occurred. As delivered (text).';
comment on column raw.mem_disaster.person_id is '身份证号 of the household head, trimmed and upper-cased. As delivered (text).';
comment on column raw.mem_disaster.region_code is '12-digit region code. As delivered (text).';
comment on column raw.mem_disaster.house_damage is 'collapsed, severe, moderate, none. As delivered (text).';
comment on column raw.mem_disaster.loss_yuan is 'Assessed direct loss, yuan. As delivered (text).';
comment on column raw.mem_disaster.emergency_aid_yuan is 'Emergency aid already paid, yuan. As delivered (text).';
comment on column raw.mem_disaster.status is 'Record status as delivered: active / withdrawn (from 2026-04; absent = null = active). As delivered (text).';
comment on column raw.mem_disaster.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.mem_disaster.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.mem_disaster._file is 'File name inside the delivery folder.';
comment on column raw.mem_disaster._row is '1-based data row number in that file (header excluded), for error reports.';
