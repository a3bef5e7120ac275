-- feed_status: the warehouse's ops.feed_status(as_of) as of the build's night (rows: build/feed_status.sql).
-- The freshness rule itself lives in one place only, warehouse/ops/feed_status.sql.
create table if not exists feed_status (
    feed_id VARCHAR,
    department VARCHAR,
    feed_name VARCHAR,
    cadence VARCHAR,
    last_loaded_period VARCHAR,
    last_delivery_date DATE,
    latest_delivery_id VARCHAR,
    latest_status VARCHAR,
    latest_error_count UBIGINT,
    deliveries BIGINT,
    loaded BIGINT,
    rejected BIGINT,
    superseded BIGINT,
    waiting BIGINT,
    months_behind BIGINT,
    days_since_delivery BIGINT,
    freshness_status VARCHAR,
    since VARCHAR,
    daily_since VARCHAR,
    latest_loaded_kind VARCHAR,
    layouts VARCHAR,
    tables VARCHAR[]
);
comment on table feed_status is '数据源新鲜度与质量 Per feed: last loaded month, last delivery, latest validation result, delivery counts by status, and a freshness status (ok / stale / rejected / waiting / missing / not_started / held) as of build_info.as_of.';
comment on column feed_status.feed_id is '数据源 Feed id';
comment on column feed_status.department is '部门 Delivering department';
comment on column feed_status.feed_name is '数据源名称 Feed name (Chinese)';
comment on column feed_status.cadence is '频率 monthly / quarterly / term / daily / reference';
comment on column feed_status.last_loaded_period is '最新已入库月份 Latest period with a loaded (valid) delivery';
comment on column feed_status.last_delivery_date is '最近交付日期 Date of the latest delivery, whatever its status';
comment on column feed_status.latest_delivery_id is '最近交付编号 delivery_id of the latest delivery';
comment on column feed_status.latest_status is '最近交付状态 Status of the latest delivery';
comment on column feed_status.latest_error_count is '最近交付错误数 Blocking validation failures of the latest delivery';
comment on column feed_status.deliveries is '交付总数 Deliveries seen';
comment on column feed_status.loaded is '已入库 Deliveries loaded';
comment on column feed_status.rejected is '被拒 Deliveries rejected by validation';
comment on column feed_status.superseded is '被替代 Deliveries replaced by a correction';
comment on column feed_status.waiting is '等待中 Folders without a manifest yet';
comment on column feed_status.months_behind is '滞后月数 Months between the last loaded period and the month before as_of (0 = up to date)';
comment on column feed_status.days_since_delivery is '距上次交付天数 Days from the last delivery date to as_of';
comment on column feed_status.freshness_status is '状态 ok / stale (behind its cadence) / rejected (latest delivery failed validation) / waiting / missing / not_started (before the feed''s since) / held (a delivery waits for a person''s release: lowincome release)';
comment on column feed_status.since is '起始月份 First period the feed is expected (YYYY-MM); null = from the first data month';
comment on column feed_status.daily_since is '按日交付起始月份 First period delivered daily (mem_disaster); null = not daily';
comment on column feed_status.latest_loaded_kind is '最近入库交付类型 Kind of the latest loaded delivery: start_of_term / mid_term / term / daily / null';
comment on column feed_status.layouts is '版式 Announced layouts and the period each starts from';
comment on column feed_status.tables is '表 Raw/staging tables the feed loads (one per part)';
