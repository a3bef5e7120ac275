-- The delivery ledger without folder paths or error texts (an error message may quote a
-- rejected value, e.g. an id): counts and check names only.
create table {{ target }}.deliveries as
with ledger as (
    select * from {{ source('ops', 'deliveries') }}
),
counted as (
    select
        *,
        coalesce(json_array_length(try_cast(errors as json)), 0) as error_count,
        coalesce(json_array_length(try_cast(warnings as json)), 0) as warning_count,
        list_sort(list_distinct(coalesce(
            try_cast(json_extract_string(try_cast(errors as json), '$[*].check') as varchar[]), []))) as failed_checks
    from ledger
)
select
    delivery_id,
    feed_id,
    period,
    delivery_date,
    produced_at,
    rows,
    status,
    error_count,
    warning_count,
    failed_checks,
    first_seen_at,
    status_at,
    superseded_by
from counted;

comment on table {{ target }}.deliveries is '数据交付台账 Every departmental delivery seen: period, date, rows and validation status (no file paths, no error texts).';
comment on column {{ target }}.deliveries.delivery_id is '交付编号 <feed_id>/<delivery_date>';
comment on column {{ target }}.deliveries.feed_id is '数据源 Feed id (see table feeds)';
comment on column {{ target }}.deliveries.period is '数据月份 Month the data describes (YYYY-MM)';
comment on column {{ target }}.deliveries.delivery_date is '交付日期 Date the department produced the delivery';
comment on column {{ target }}.deliveries.produced_at is '生成时间 produced_at from the manifest';
comment on column {{ target }}.deliveries.rows is '行数 Rows loaded';
comment on column {{ target }}.deliveries.status is '状态 waiting / loaded / rejected / superseded';
comment on column {{ target }}.deliveries.error_count is '错误数 Blocking validation failures (error-level expectations, corrupt files)';
comment on column {{ target }}.deliveries.warning_count is '警告数 Warning-level expectation failures';
comment on column {{ target }}.deliveries.failed_checks is '失败检查 Names of the failed checks (no values)';
comment on column {{ target }}.deliveries.first_seen_at is '首次发现 When the pipeline first saw the folder (wall clock)';
comment on column {{ target }}.deliveries.status_at is '状态时间 When the status was last set (wall clock)';
comment on column {{ target }}.deliveries.superseded_by is '被替代 delivery_id of the correction that replaced it';
