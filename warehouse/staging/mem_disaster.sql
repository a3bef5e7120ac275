-- staging.mem_disaster: typed, renamed, ids normalised. Built by pipelines/feeds/mem_disaster.py (staging_sql).
create table if not exists staging.mem_disaster (
    disaster_id VARCHAR,
    disaster_type VARCHAR,
    occurred_on DATE,
    person_id VARCHAR,
    region_code VARCHAR,
    house_damage VARCHAR,
    loss_yuan DECIMAL(14,2),
    emergency_aid_yuan DECIMAL(14,2),
    status VARCHAR,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
alter table staging.mem_disaster add column if not exists status VARCHAR;
comment on table staging.mem_disaster is 'Emergency management (应急管理 受灾人员): affected household heads, all residents; delivered as JSON lines. Typed staging layer: one partition per period until 2026-03 (monthly deliveries), one per delivery from period 2026-04 (daily deliveries that add and correct records: read staging.mem_disaster_current for the record in force).';
comment on column staging.mem_disaster.disaster_id is 'Disaster id.';
comment on column staging.mem_disaster.disaster_type is 'flood, typhoon, earthquake, drought, fire, landslide, other.';
comment on column staging.mem_disaster.occurred_on is 'Date the disaster occurred.';
comment on column staging.mem_disaster.person_id is '身份证号 of the household head, trimmed and upper-cased.';
comment on column staging.mem_disaster.region_code is '12-digit region code.';
comment on column staging.mem_disaster.house_damage is 'collapsed, severe, moderate, none.';
comment on column staging.mem_disaster.loss_yuan is 'Assessed direct loss, yuan.';
comment on column staging.mem_disaster.emergency_aid_yuan is 'Emergency aid already paid, yuan.';
comment on column staging.mem_disaster.status is 'active / withdrawn (a withdrawn record retracts the record with the same disaster_id + person_id); absent or empty = active. The record in force per key: staging.mem_disaster_current.';
comment on column staging.mem_disaster.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.mem_disaster.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.mem_disaster._file is 'File name inside the delivery folder.';
comment on column staging.mem_disaster._row is '1-based data row number in that file (header excluded), for error reports.';
