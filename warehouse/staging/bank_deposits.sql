-- staging.bank_deposits: typed, renamed, ids normalised. Built by pipelines/feeds/bank_deposits.py (staging_sql).
create table if not exists staging.bank_deposits (
    as_of DATE,
    person_id VARCHAR,
    deposits_yuan DECIMAL(14,2),
    securities_yuan DECIMAL(14,2),
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.bank_deposits is 'Financial asset check (金融资产核对): quarterly, roster persons. Typed staging layer (one partition per period).';
comment on column staging.bank_deposits.as_of is 'Snapshot date.';
comment on column staging.bank_deposits.person_id is '身份证号, trimmed and upper-cased.';
comment on column staging.bank_deposits.deposits_yuan is 'Deposits summed over all banks, yuan.';
comment on column staging.bank_deposits.securities_yuan is 'Securities, yuan.';
comment on column staging.bank_deposits.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.bank_deposits.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.bank_deposits._file is 'File name inside the delivery folder.';
comment on column staging.bank_deposits._row is '1-based data row number in that file (header excluded), for error reports.';
