-- staging.grid_visits: typed, renamed, ids normalised. Built by pipelines/feeds/grid_visits.py (staging_sql).
create table if not exists staging.grid_visits (
    visit_id VARCHAR,
    family_id VARCHAR,
    hukou_no VARCHAR,
    visit_date DATE,
    visitor_role VARCHAR,
    findings VARCHAR[],
    note VARCHAR,
    person_id VARCHAR,
    region_code VARCHAR,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
alter table staging.grid_visits add column if not exists person_id VARCHAR;
alter table staging.grid_visits add column if not exists region_code VARCHAR;
comment on table staging.grid_visits is 'Field visits by grid workers and village assistants (走访摸排): daily deliveries, each its own partition; layout v2 (periods from 2026-07) adds person_id and region_code. Typed staging layer (one partition per delivery).';
comment on column staging.grid_visits.visit_id is 'Visit id, unique.';
comment on column staging.grid_visits.family_id is 'Civil affairs family id for roster families, else null.';
comment on column staging.grid_visits.hukou_no is '户号 for non-roster households, else null.';
comment on column staging.grid_visits.visit_date is 'Date of the visit.';
comment on column staging.grid_visits.visitor_role is 'grid_worker, village_assistant, social_worker.';
comment on column staging.grid_visits.findings is 'Finding codes (delivered '';''-separated): job_loss, illness, disability, house_damage, death, new_member, no_change.';
comment on column staging.grid_visits.note is 'Free-text note (personal data: restricted).';
comment on column staging.grid_visits.person_id is '身份证号 of the member the finding concerns (trimmed, upper-cased), null if none; layout v2 (periods from 2026-07), null for v1 deliveries.';
comment on column staging.grid_visits.region_code is '12-digit region code of where the visit took place, checked against the ref_regions version in force; layout v2 (periods from 2026-07), null for v1 deliveries.';
comment on column staging.grid_visits.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.grid_visits.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.grid_visits._file is 'File name inside the delivery folder.';
comment on column staging.grid_visits._row is '1-based data row number in that file (header excluded), for error reports.';
