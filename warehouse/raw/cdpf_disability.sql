-- raw.cdpf_disability: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/cdpf_disability.py.
create table if not exists raw.cdpf_disability (
    person_id VARCHAR,
    disability_type VARCHAR,
    disability_grade VARCHAR,
    issued_on VARCHAR,
    cert_status VARCHAR,
    living_subsidy VARCHAR,
    nursing_subsidy VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
alter table raw.cdpf_disability add column if not exists living_subsidy VARCHAR;
alter table raw.cdpf_disability add column if not exists nursing_subsidy VARCHAR;
comment on table raw.cdpf_disability is 'Disabled persons'' federation (残联): monthly full snapshot of disability certificates, all residents. Delivered as XLSX with Chinese headers and values; layout v2 (periods from 2026-07) adds two subsidy columns. Raw layer: values exactly as delivered (XLSX), as text.';
comment on column raw.cdpf_disability.person_id is '身份证号 as delivered.';
comment on column raw.cdpf_disability.disability_type is '残疾类别 as delivered (视力/听力/言语/肢体/智力/精神/多重).';
comment on column raw.cdpf_disability.disability_grade is '残疾等级 as delivered (一级..四级).';
comment on column raw.cdpf_disability.issued_on is '发证日期 as delivered.';
comment on column raw.cdpf_disability.cert_status is '状态 as delivered (有效/注销).';
comment on column raw.cdpf_disability.living_subsidy is '困难残疾人生活补贴 as delivered (是/否); layout v2 (periods from 2026-07) only, null for v1 deliveries.';
comment on column raw.cdpf_disability.nursing_subsidy is '重度残疾人护理补贴 as delivered (是/否); layout v2 (periods from 2026-07) only, null for v1 deliveries.';
comment on column raw.cdpf_disability.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.cdpf_disability.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.cdpf_disability._file is 'File name inside the delivery folder.';
comment on column raw.cdpf_disability._row is '1-based data row number in that file (header excluded), for error reports.';
