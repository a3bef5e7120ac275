-- raw.samr_business: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/samr_business.py.
create table if not exists raw.samr_business (
    credit_code VARCHAR,
    person_id VARCHAR,
    role VARCHAR,
    entity_type VARCHAR,
    registered_capital_yuan VARCHAR,
    status VARCHAR,
    event_date VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
comment on table raw.samr_business is 'Market regulation (市场监管): monthly registrations, cancellations and revocations where a roster person is legal representative or investor. Raw layer: values exactly as delivered (CSV), as text.';
comment on column raw.samr_business.credit_code is 'Unified social credit code of the entity, upper-cased. As delivered (text).';
comment on column raw.samr_business.person_id is '身份证号, trimmed and upper-cased. As delivered (text).';
comment on column raw.samr_business.role is 'legal_rep / investor. As delivered (text).';
comment on column raw.samr_business.entity_type is 'individual (个体工商户) / company. As delivered (text).';
comment on column raw.samr_business.registered_capital_yuan is 'Registered capital, yuan. As delivered (text).';
comment on column raw.samr_business.status is 'active / cancelled / revoked. As delivered (text).';
comment on column raw.samr_business.event_date is 'Date of this status. As delivered (text).';
comment on column raw.samr_business.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.samr_business.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.samr_business._file is 'File name inside the delivery folder.';
comment on column raw.samr_business._row is '1-based data row number in that file (header excluded), for error reports.';
