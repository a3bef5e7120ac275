-- raw.moa_relapse_watch: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/moa_relapse_watch.py.
create table if not exists raw.moa_relapse_watch (
    watch_id VARCHAR,
    head_person_id VARCHAR,
    hukou_no VARCHAR,
    region_code VARCHAR,
    watch_type VARCHAR,
    risk_types VARCHAR,
    household_size VARCHAR,
    income_year VARCHAR,
    net_income_per_capita VARCHAR,
    transfer_income_per_capita VARCHAR,
    identified_on VARCHAR,
    risk_eliminated VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
comment on table raw.moa_relapse_watch is 'Agriculture and rural affairs (农业农村 防止返贫监测对象): monthly full snapshot of the rural households under relapse-prevention monitoring (since 2026-01). Delivered as CSV UTF-8 with Chinese headers and values. Raw layer: values exactly as delivered (CSV), as text.';
comment on column raw.moa_relapse_watch.watch_id is '监测户编号 as delivered: watch household id.';
comment on column raw.moa_relapse_watch.head_person_id is '户主身份证号 as delivered.';
comment on column raw.moa_relapse_watch.hukou_no is '户号 as delivered.';
comment on column raw.moa_relapse_watch.region_code is '区划代码 as delivered.';
comment on column raw.moa_relapse_watch.watch_type is '监测类型 as delivered (脱贫不稳定户 / 边缘易致贫户 / 突发严重困难户).';
comment on column raw.moa_relapse_watch.risk_types is '风险类型 as delivered, ;-separated (因病, 因残, 因学, 因灾, 因意外, 因失业, 产业失败, 其他).';
comment on column raw.moa_relapse_watch.household_size is '家庭人口数 as delivered.';
comment on column raw.moa_relapse_watch.income_year is '收入年度 as delivered.';
comment on column raw.moa_relapse_watch.net_income_per_capita is '人均纯收入 as delivered (annual yuan).';
comment on column raw.moa_relapse_watch.transfer_income_per_capita is '人均转移性收入 as delivered (annual yuan).';
comment on column raw.moa_relapse_watch.identified_on is '识别日期 as delivered.';
comment on column raw.moa_relapse_watch.risk_eliminated is '风险消除 as delivered (是/否).';
comment on column raw.moa_relapse_watch.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.moa_relapse_watch.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.moa_relapse_watch._file is 'File name inside the delivery folder.';
comment on column raw.moa_relapse_watch._row is '1-based data row number in that file (header excluded), for error reports.';
