-- staging.moa_relapse_watch: typed, renamed, ids normalised. Built by pipelines/feeds/moa_relapse_watch.py (staging_sql).
create table if not exists staging.moa_relapse_watch (
    watch_id VARCHAR,
    head_person_id VARCHAR,
    hukou_no VARCHAR,
    region_code VARCHAR,
    watch_type VARCHAR,
    risk_types VARCHAR[],
    household_size INTEGER,
    income_year INTEGER,
    net_income_per_capita_yuan DECIMAL(14,2),
    transfer_income_per_capita_yuan DECIMAL(14,2),
    identified_on DATE,
    risk_eliminated BOOLEAN,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.moa_relapse_watch is 'Agriculture and rural affairs (农业农村 防止返贫监测对象): monthly full snapshot of the rural households under relapse-prevention monitoring (since 2026-01). Delivered as CSV UTF-8 with Chinese headers and values. Typed staging layer (one partition per period).';
comment on column staging.moa_relapse_watch.watch_id is 'Watch household id (监测户编号), unique in a snapshot.';
comment on column staging.moa_relapse_watch.head_person_id is '身份证号 of the household head (户主身份证号), trimmed and upper-cased.';
comment on column staging.moa_relapse_watch.hukou_no is '户号 of the household.';
comment on column staging.moa_relapse_watch.region_code is '12-digit region code (区划代码), checked against the ref_regions version in force.';
comment on column staging.moa_relapse_watch.watch_type is '监测类型: unstable_poverty_exit (脱贫不稳定户), edge_at_risk (边缘易致贫户), sudden_hardship (突发严重困难户).';
comment on column staging.moa_relapse_watch.risk_types is '风险类型 codes: illness (因病), disability (因残), education (因学), disaster (因灾), accident (因意外), unemployment (因失业), business_failure (产业失败), other (其他).';
comment on column staging.moa_relapse_watch.household_size is '家庭人口数: household size.';
comment on column staging.moa_relapse_watch.income_year is '收入年度: year of the income survey the two incomes come from.';
comment on column staging.moa_relapse_watch.net_income_per_capita_yuan is '人均纯收入: per-capita ANNUAL net income in yuan from that survey, transfers included (divide by 12 for a month).';
comment on column staging.moa_relapse_watch.transfer_income_per_capita_yuan is '人均转移性收入: per-capita ANNUAL transfer income in yuan (低保金, pensions, subsidies), part of the net income.';
comment on column staging.moa_relapse_watch.identified_on is '识别日期: date the household was identified for monitoring.';
comment on column staging.moa_relapse_watch.risk_eliminated is '风险消除: true (是) when the risk has been eliminated, false (否) while it persists.';
comment on column staging.moa_relapse_watch.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.moa_relapse_watch.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.moa_relapse_watch._file is 'File name inside the delivery folder.';
comment on column staging.moa_relapse_watch._row is '1-based data row number in that file (header excluded), for error reports.';
