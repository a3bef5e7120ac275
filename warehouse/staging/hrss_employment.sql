-- staging.hrss_employment: typed, renamed, ids normalised. Built by pipelines/feeds/hrss_employment.py (staging_sql).
create table if not exists staging.hrss_employment (
    month VARCHAR,
    person_id VARCHAR,
    employment_status VARCHAR,
    employer_code VARCHAR,
    contribution_base_yuan DECIMAL(14,2),
    unemployment_benefit_yuan DECIMAL(14,2),
    pension_yuan DECIMAL(14,2),
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.hrss_employment is 'Human resources & social security (人社): one row per person with any record in the month; all residents of working or pension age. Delivered GB18030 with Chinese headers. Typed staging layer (one partition per period).';
comment on column staging.hrss_employment.month is 'Month YYYY-MM (统计月份, delivered as YYYYMM).';
comment on column staging.hrss_employment.person_id is '身份证号 (身份证号), trimmed and upper-cased.';
comment on column staging.hrss_employment.employment_status is '就业状态 as a code: employed (在职), flexible (灵活就业), unemployed_registered (失业登记), retired (退休), none (无).';
comment on column staging.hrss_employment.employer_code is 'Employer''s unified social credit code (单位信用代码), 18 chars; null if none.';
comment on column staging.hrss_employment.contribution_base_yuan is 'Social-insurance contribution base (缴费基数) in yuan: a proxy for the monthly wage.';
comment on column staging.hrss_employment.unemployment_benefit_yuan is 'Unemployment benefit paid this month (失业保险金), yuan.';
comment on column staging.hrss_employment.pension_yuan is 'Pension paid this month (养老金), yuan.';
comment on column staging.hrss_employment.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.hrss_employment.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.hrss_employment._file is 'File name inside the delivery folder.';
comment on column staging.hrss_employment._row is '1-based data row number in that file (header excluded), for error reports.';
