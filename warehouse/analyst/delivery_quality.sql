-- delivery_quality: 数据质量 per department and data month, the warehouse's mart.delivery_quality(due_day)
-- (rows: build/delivery_quality.sql).
create table if not exists delivery_quality (
    period VARCHAR,
    department VARCHAR,
    deliveries BIGINT,
    on_time BIGINT,
    late BIGINT,
    rejected BIGINT,
    loaded BIGINT,
    rows_loaded BIGINT,
    warned_rows BIGINT,
    warned_share DECIMAL(6,4)
);
comment on table delivery_quality is '数据质量 Per department (or all) and data month: deliveries, on time (by models/departments.toml delivery_due_day of the month after), late, rejected for the data, loaded, rows loaded, rows that drew a warning and their share.';
comment on column delivery_quality.period is '数据月份 Data month of the deliveries';
comment on column delivery_quality.department is '部门 Delivering department, or all';
comment on column delivery_quality.deliveries is '交付次数 Delivery folders (reference feeds left out)';
comment on column delivery_quality.on_time is '按时 Delivered by the due day';
comment on column delivery_quality.late is '迟交 Delivered after it';
comment on column delivery_quality.rejected is '被拒 Rejected for the data (internal failures retried are not counted)';
comment on column delivery_quality.loaded is '入库 Loaded (or loaded, then replaced by a correction)';
comment on column delivery_quality.rows_loaded is '入库行数 Rows loaded';
comment on column delivery_quality.warned_rows is '警告行数 Rows that drew a warning (per warning rule, summed)';
comment on column delivery_quality.warned_share is '警告行占比 warned_rows / rows_loaded';
