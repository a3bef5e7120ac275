-- deliveries: the delivery ledger without folder paths or error texts (rows: build/deliveries.sql).
create table if not exists deliveries (
    delivery_id VARCHAR,
    feed_id VARCHAR,
    period VARCHAR,
    delivery_date DATE,
    produced_at TIMESTAMP WITH TIME ZONE,
    rows BIGINT,
    status VARCHAR,
    error_count UBIGINT,
    warning_count UBIGINT,
    failed_checks VARCHAR[],
    first_seen_at TIMESTAMP WITH TIME ZONE,
    status_at TIMESTAMP WITH TIME ZONE,
    superseded_by VARCHAR
);
comment on table deliveries is '数据交付台账 Every departmental delivery seen: period, date, rows and validation status (no file paths, no error texts).';
comment on column deliveries.delivery_id is '交付编号 <feed_id>/<delivery_date>';
comment on column deliveries.feed_id is '数据源 Feed id (see table feeds)';
comment on column deliveries.period is '数据月份 Month the data describes (YYYY-MM)';
comment on column deliveries.delivery_date is '交付日期 Date the department produced the delivery';
comment on column deliveries.produced_at is '生成时间 produced_at from the manifest';
comment on column deliveries.rows is '行数 Rows loaded';
comment on column deliveries.status is '状态 waiting / loaded / rejected / superseded / held (waits for a person''s release) / released (loads the next night)';
comment on column deliveries.error_count is '错误数 Blocking validation failures (error-level expectations, corrupt files)';
comment on column deliveries.warning_count is '警告数 Warning-level expectation failures';
comment on column deliveries.failed_checks is '失败检查 Names of the failed checks (no values)';
comment on column deliveries.first_seen_at is '首次发现 When the pipeline first saw the folder (wall clock)';
comment on column deliveries.status_at is '状态时间 When the status was last set (wall clock)';
comment on column deliveries.superseded_by is '被替代 delivery_id of the correction that replaced it';
