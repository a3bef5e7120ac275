-- staging.samr_business: typed, renamed, ids normalised. Built by pipelines/feeds/samr_business.py (staging_sql).
create table if not exists staging.samr_business (
    credit_code VARCHAR,
    person_id VARCHAR,
    role VARCHAR,
    entity_type VARCHAR,
    registered_capital_yuan DECIMAL(14,2),
    status VARCHAR,
    event_date DATE,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.samr_business is 'Market regulation (市场监管): monthly registrations, cancellations and revocations where a roster person is legal representative or investor. Typed staging layer (one partition per period).';
comment on column staging.samr_business.credit_code is 'Unified social credit code of the entity, upper-cased.';
comment on column staging.samr_business.person_id is '身份证号, trimmed and upper-cased.';
comment on column staging.samr_business.role is 'legal_rep / investor.';
comment on column staging.samr_business.entity_type is 'individual (个体工商户) / company.';
comment on column staging.samr_business.registered_capital_yuan is 'Registered capital, yuan.';
comment on column staging.samr_business.status is 'active / cancelled / revoked.';
comment on column staging.samr_business.event_date is 'Date of this status.';
comment on column staging.samr_business.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.samr_business.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.samr_business._file is 'File name inside the delivery folder.';
comment on column staging.samr_business._row is '1-based data row number in that file (header excluded), for error reports.';
