-- staging.mca_econ_check_members: typed, renamed, ids normalised. Built by pipelines/feeds/mca_econ_checks.py (staging_sql).
create table if not exists staging.mca_econ_check_members (
    check_id VARCHAR,
    person_id VARCHAR,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.mca_econ_check_members is 'Members counted by each economic check (民政 核对报告 家庭成员): check_members_<YYYYMM>.csv, the members part of an mca_econ_checks delivery, loaded and replaced together with its checks (since 2026-01). Typed staging layer (one partition per period, with its checks).';
comment on column staging.mca_econ_check_members.check_id is 'The check (staging.mca_econ_checks.check_id of the same delivery) the member was counted in.';
comment on column staging.mca_econ_check_members.person_id is '身份证号 of the member, trimmed and upper-cased.';
comment on column staging.mca_econ_check_members.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.mca_econ_check_members.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.mca_econ_check_members._file is 'File name inside the delivery folder.';
comment on column staging.mca_econ_check_members._row is '1-based data row number in that file (header excluded), for error reports.';
