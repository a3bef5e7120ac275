-- raw.bank_deposits: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/bank_deposits.py.
create table if not exists raw.bank_deposits (
    as_of VARCHAR,
    person_id VARCHAR,
    deposits_yuan VARCHAR,
    securities_yuan VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
comment on table raw.bank_deposits is 'Financial asset check (金融资产核对): quarterly, roster persons. Raw layer: values exactly as delivered (CSV), as text.';
comment on column raw.bank_deposits.as_of is 'Snapshot date. As delivered (text).';
comment on column raw.bank_deposits.person_id is '身份证号, trimmed and upper-cased. As delivered (text).';
comment on column raw.bank_deposits.deposits_yuan is 'Deposits summed over all banks, yuan. As delivered (text).';
comment on column raw.bank_deposits.securities_yuan is 'Securities, yuan. As delivered (text).';
comment on column raw.bank_deposits.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.bank_deposits.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.bank_deposits._file is 'File name inside the delivery folder.';
comment on column raw.bank_deposits._row is '1-based data row number in that file (header excluded), for error reports.';
