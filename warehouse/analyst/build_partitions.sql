-- build_partitions: bookkeeping of the incremental build (written by pipelines.analyst.build).
create table if not exists build_partitions (
    table_name VARCHAR,
    period VARCHAR,
    token VARCHAR
);
comment on table build_partitions is '构建分区 Bookkeeping of the incremental build: one row per partitioned table and data month, with a keyed token of what the month was built from (deliveries, SQL, key). A month whose token is unchanged is copied, not rebuilt.';
comment on column build_partitions.table_name is '表名 person_month or household_month';
comment on column build_partitions.period is '数据月份 Data month YYYY-MM';
comment on column build_partitions.token is '构建令牌 Keyed digest of the month''s inputs (reveals nothing about them)';
