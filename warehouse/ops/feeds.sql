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
    stale_after_months INTEGER
);
alter table ops.feeds add column if not exists stale_after_months INTEGER;
comment on table ops.feeds is 'Feed catalogue (信息共享目录) as the pipeline reads it: one row per feed, from the pipelines/feeds registry.';
comment on column ops.feeds.feed_id is 'Feed id = landing folder name = raw/staging table name.';
comment on column ops.feeds.department is 'Delivering department code (MCA, HRSS, NHSA, MOE, MOHURD, SAMR, MPS, CDPF, MEM, BANK, GRID).';
comment on column ops.feeds.cadence is 'monthly / quarterly / term / daily / reference.';
comment on column ops.feeds.kind is 'snapshot (full state each period) / events (changes within the period).';
comment on column ops.feeds.partition is 'period: a re-delivery replaces the feed''s period; delivery: each delivery folder is its own partition (daily feeds).';
comment on column ops.feeds.months_covered is 'Months one delivery counts for in ops.completeness (quarterly 3, term 6, else 1).';
comment on column ops.feeds.file_format is 'csv / parquet / xlsx / jsonl.';
comment on column ops.feeds.title is 'Chinese name of the feed, for staff-facing reports.';
comment on column ops.feeds.stale_after_months is 'Months the last loaded period may lag the month before the night before the feed is stale (monthly 1, quarterly 4, term 7); null = never by months (daily feeds: stale after 3 days without a delivery).';
