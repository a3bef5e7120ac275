-- feeds: the departmental feeds (rows from the feed registry, pipelines.feeds).
create table if not exists feeds (
    feed_id VARCHAR,
    department VARCHAR,
    name_zh VARCHAR,
    cadence VARCHAR,
    stale_after_months BIGINT
);
comment on table feeds is '数据源 Departmental feeds: department, name, cadence and the lag after which the feed counts as stale.';
comment on column feeds.feed_id is '数据源 Feed id';
comment on column feeds.department is '部门 Delivering department';
comment on column feeds.name_zh is '中文名称 Chinese name';
comment on column feeds.cadence is '频率 monthly / quarterly / term / daily / reference';
comment on column feeds.stale_after_months is '容许滞后月数 Months the last loaded period may lag the month before as_of; null = never stale by months';
