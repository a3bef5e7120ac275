-- staging.cdpf_disability: typed, renamed, ids normalised. Built by pipelines/feeds/cdpf_disability.py (staging_sql).
create table if not exists staging.cdpf_disability (
    person_id VARCHAR,
    disability_type VARCHAR,
    disability_grade INTEGER,
    issued_on DATE,
    cert_status VARCHAR,
    living_subsidy BOOLEAN,
    nursing_subsidy BOOLEAN,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
alter table staging.cdpf_disability add column if not exists living_subsidy BOOLEAN;
alter table staging.cdpf_disability add column if not exists nursing_subsidy BOOLEAN;
comment on table staging.cdpf_disability is 'Disabled persons'' federation (残联): monthly full snapshot of disability certificates, all residents. Delivered as XLSX with Chinese headers and values; layout v2 (periods from 2026-07) adds two subsidy columns. Typed staging layer (one partition per period).';
comment on column staging.cdpf_disability.person_id is '身份证号 (身份证号), trimmed and upper-cased.';
comment on column staging.cdpf_disability.disability_type is '残疾类别: visual (视力), hearing (听力), speech (言语), physical (肢体), intellectual (智力), mental (精神), multiple (多重).';
comment on column staging.cdpf_disability.disability_grade is '残疾等级 1..4 (一级..四级; 1 most severe, 1-2 = severe).';
comment on column staging.cdpf_disability.issued_on is 'Certificate issue date (发证日期).';
comment on column staging.cdpf_disability.cert_status is '状态: valid (有效) / cancelled (注销).';
comment on column staging.cdpf_disability.living_subsidy is 'Receives the living subsidy for disabled persons in hardship (困难残疾人生活补贴: 是 true / 否 false). Layout v2 (periods from 2026-07); null for v1 deliveries (not delivered, not false).';
comment on column staging.cdpf_disability.nursing_subsidy is 'Receives the nursing subsidy for severely disabled persons (重度残疾人护理补贴: 是 true / 否 false). Layout v2 (periods from 2026-07); null for v1 deliveries (not delivered, not false).';
comment on column staging.cdpf_disability.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.cdpf_disability.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.cdpf_disability._file is 'File name inside the delivery folder.';
comment on column staging.cdpf_disability._row is '1-based data row number in that file (header excluded), for error reports.';
