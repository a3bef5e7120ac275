-- raw.grid_visits: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/grid_visits.py.
create table if not exists raw.grid_visits (
    visit_id VARCHAR,
    family_id VARCHAR,
    hukou_no VARCHAR,
    visit_date VARCHAR,
    visitor_role VARCHAR,
    findings VARCHAR,
    note VARCHAR,
    person_id VARCHAR,
    region_code VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
alter table raw.grid_visits add column if not exists person_id VARCHAR;
alter table raw.grid_visits add column if not exists region_code VARCHAR;
comment on table raw.grid_visits is 'Field visits by grid workers and village assistants (走访摸排): daily deliveries, each its own partition; layout v2 (periods from 2026-07) adds person_id and region_code. Raw layer: values exactly as delivered (CSV), as text.';
comment on column raw.grid_visits.visit_id is 'Visit id, unique. As delivered (text).';
comment on column raw.grid_visits.family_id is 'Civil affairs family id for roster families, else null. As delivered (text).';
comment on column raw.grid_visits.hukou_no is '户号 for non-roster households, else null. As delivered (text).';
comment on column raw.grid_visits.visit_date is 'Date of the visit. As delivered (text).';
comment on column raw.grid_visits.visitor_role is 'grid_worker, village_assistant, social_worker. As delivered (text).';
comment on column raw.grid_visits.findings is 'Finding codes (delivered '';''-separated): job_loss, illness, disability, house_damage, death, new_member, no_change. As delivered (text).';
comment on column raw.grid_visits.note is 'Free-text note (personal data: restricted). As delivered (text).';
comment on column raw.grid_visits.person_id is '身份证号 of the member the finding concerns, may be empty; layout v2 (periods from 2026-07) only, null for v1 deliveries. As delivered (text).';
comment on column raw.grid_visits.region_code is '12-digit region code of where the visit took place; layout v2 (periods from 2026-07) only, null for v1 deliveries. As delivered (text).';
comment on column raw.grid_visits.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.grid_visits.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.grid_visits._file is 'File name inside the delivery folder.';
comment on column raw.grid_visits._row is '1-based data row number in that file (header excluded), for error reports.';
