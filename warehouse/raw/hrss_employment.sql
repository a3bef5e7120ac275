-- raw.hrss_employment: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/hrss_employment.py.
create table if not exists raw.hrss_employment (
    month VARCHAR,
    person_id VARCHAR,
    employment_status VARCHAR,
    employer_code VARCHAR,
    contribution_base VARCHAR,
    unemployment_benefit VARCHAR,
    pension VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
comment on table raw.hrss_employment is 'Human resources & social security (人社): one row per person with any record in the month; all residents of working or pension age. Delivered GB18030 with Chinese headers. Raw layer: values exactly as delivered (CSV), as text.';
comment on column raw.hrss_employment.month is '统计月份 as delivered (YYYYMM).';
comment on column raw.hrss_employment.person_id is '身份证号 as delivered.';
comment on column raw.hrss_employment.employment_status is '就业状态 as delivered (Chinese: 在职/灵活就业/失业登记/退休/无).';
comment on column raw.hrss_employment.employer_code is '单位信用代码 as delivered.';
comment on column raw.hrss_employment.contribution_base is '缴费基数 as delivered (yuan, text).';
comment on column raw.hrss_employment.unemployment_benefit is '失业保险金 as delivered (yuan, text).';
comment on column raw.hrss_employment.pension is '养老金 as delivered (yuan, text).';
comment on column raw.hrss_employment.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.hrss_employment.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.hrss_employment._file is 'File name inside the delivery folder.';
comment on column raw.hrss_employment._row is '1-based data row number in that file (header excluded), for error reports.';
