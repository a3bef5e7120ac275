-- ops.feeds: the feed catalogue, rows from the pipelines/feeds registry (pipelines.warehouse.migrate).
create table if not exists ops.feeds (
    feed_id VARCHAR NOT NULL,
    department VARCHAR NOT NULL,
    cadence VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    partition VARCHAR NOT NULL,
    months_covered INTEGER NOT NULL,
    file_format VARCHAR NOT NULL,
    title VARCHAR,
    stale_after_months INTEGER,
    since VARCHAR,
    daily_since VARCHAR,
    daily_closing_day INTEGER,
    midterm_since VARCHAR,
    midterm_after_days INTEGER,
    layouts VARCHAR,
    tables VARCHAR[]
);
alter table ops.feeds add column if not exists stale_after_months INTEGER;
alter table ops.feeds add column if not exists since VARCHAR;
alter table ops.feeds add column if not exists daily_since VARCHAR;
alter table ops.feeds add column if not exists daily_closing_day INTEGER;
alter table ops.feeds add column if not exists midterm_since VARCHAR;
alter table ops.feeds add column if not exists midterm_after_days INTEGER;
alter table ops.feeds add column if not exists layouts VARCHAR;
alter table ops.feeds add column if not exists tables VARCHAR[];
comment on table ops.feeds is 'Feed catalogue (信息共享目录) as the pipeline reads it: one row per feed, from the pipelines/feeds registry.';
comment on column ops.feeds.feed_id is 'Feed id = landing folder name = raw/staging table name of its first part.';
comment on column ops.feeds.department is 'Delivering department code (MCA, HRSS, NHSA, MOE, MOHURD, SAMR, MPS, CDPF, MEM, BANK, GRID, MOA).';
comment on column ops.feeds.cadence is 'monthly / quarterly / term / daily / reference.';
comment on column ops.feeds.kind is 'snapshot (full state each period) / events (changes within the period).';
comment on column ops.feeds.partition is 'period: a re-delivery replaces the feed''s period; delivery: each delivery folder is its own partition (daily feeds). A feed with daily_since is partitioned by delivery from that period on.';
comment on column ops.feeds.months_covered is 'Months one delivery counts for in ops.completeness (quarterly 3, term 6, else 1).';
comment on column ops.feeds.file_format is 'csv / parquet / xlsx / jsonl.';
comment on column ops.feeds.title is 'Chinese name of the feed, for staff-facing reports.';
comment on column ops.feeds.stale_after_months is 'Months the last loaded period may lag the month before the night before the feed is stale (monthly 1, quarterly 4, term 7); null = never by months (daily feeds: stale after 3 days without a delivery).';
comment on column ops.feeds.since is 'First period the catalog expects (YYYY-MM); months before it are not_expected in ops.completeness and gate no indicator. Null: the province''s first month (every catalog v1 feed).';
comment on column ops.feeds.daily_since is 'First period delivered daily and additively (mem_disaster: 2026-04): each delivery folder its own partition, records keyed and corrected across deliveries. Null: the cadence holds for every period.';
comment on column ops.feeds.daily_closing_day is 'For daily months: month M is complete (loaded in ops.completeness) once a delivery dated after this day of M+1 has loaded.';
comment on column ops.feeds.midterm_since is 'First term (its period) delivered twice, at the start of term and at mid-term (moe_students: 2026-03); ops.completeness carries the pseudo-feed <feed_id>_midterm from it on.';
comment on column ops.feeds.midterm_after_days is 'A term delivery dated this many days or more after the term''s first day is the mid-term one (ops.deliveries.delivery_kind mid_term).';
comment on column ops.feeds.layouts is 'The announced layouts (column sets by period) of each part, in words, e.g. v1; v2 from 2026-07: +困难残疾人生活补贴, +重度残疾人护理补贴.';
comment on column ops.feeds.tables is 'The raw/staging tables of the feed, one per part (file kind) of a delivery, loaded and replaced together.';
