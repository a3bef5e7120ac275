-- ops.deliveries: the delivery ledger. One row per delivery folder (landing/<feed_id>/<date>/).
-- Written only by pipelines.ingest.publish (the single writer) and pipelines.ingest.release_delivery
-- (lowincome release). Status life cycle:
--   waiting (folder without manifest yet) -> loaded | rejected | superseded | held
--   held (waits for a person: it would shrink or empty a loaded partition, or repeats an earlier
--        daily delivery) -> released (lowincome release) -> loaded by the next night
--   loaded -> superseded (a newer delivery of the same feed and period replaced it)
create table if not exists ops.deliveries (
    delivery_id VARCHAR NOT NULL,
    feed_id VARCHAR NOT NULL,
    period VARCHAR,
    folder VARCHAR NOT NULL,
    delivery_date DATE NOT NULL,
    produced_at TIMESTAMPTZ,
    files JSON,
    rows BIGINT,
    status VARCHAR NOT NULL,
    errors JSON,
    warnings JSON,
    first_seen_at TIMESTAMPTZ,
    status_at TIMESTAMPTZ,
    superseded_by VARCHAR,
    manifest_sha256 VARCHAR,
    as_of DATE,
    retry BOOLEAN,
    delivery_kind VARCHAR,
    held_reason VARCHAR,
    released_by VARCHAR,
    released_at TIMESTAMPTZ
);
alter table ops.deliveries add column if not exists delivery_kind VARCHAR;
alter table ops.deliveries add column if not exists held_reason VARCHAR;
alter table ops.deliveries add column if not exists released_by VARCHAR;
alter table ops.deliveries add column if not exists released_at TIMESTAMPTZ;
comment on table ops.deliveries is 'Delivery ledger: every delivery folder seen in the landing zone, what happened to it and why. A delivery already loaded (same manifest sha256) is never processed again.';
comment on column ops.deliveries.delivery_id is '<feed_id>/<delivery_date>: the folder, relative to the landing zone.';
comment on column ops.deliveries.feed_id is 'Feed id (pipelines/feeds registry), e.g. hrss_employment.';
comment on column ops.deliveries.period is 'Data month YYYY-MM from the manifest (for reference data: the month from which the version applies); null while waiting or if the manifest is unreadable.';
comment on column ops.deliveries.folder is 'Absolute path of the delivery folder (never modified by the pipeline).';
comment on column ops.deliveries.delivery_date is 'Folder name: the day the department produced the delivery.';
comment on column ops.deliveries.produced_at is 'produced_at from the manifest; decides which of two deliveries for one period is newer.';
comment on column ops.deliveries.files is 'Files as measured: [{"name","rows","sha256","bytes"}].';
comment on column ops.deliveries.rows is 'Rows loaded (sum over files); 0 unless status is or was loaded.';
comment on column ops.deliveries.status is 'waiting (no manifest yet) / loaded / rejected (quarantined: checksum, parse, critical expectation, a symbolic link, a lying manifest) / superseded (replaced by, or older than, another delivery of the same feed and period) / held (valid, but it would shrink a loaded snapshot beyond hold_shrink_share, empty a loaded partition, or repeat an earlier daily delivery: nothing loaded, the previous data kept, until a person runs lowincome release) / released (released by a person: the next night loads it). Completeness and the indicators see held and released deliveries as not arrived yet.';
comment on column ops.deliveries.errors is 'Why it was rejected: [{file,row,field,check,message,severity,count}], first few offending rows per check.';
comment on column ops.deliveries.warnings is 'Warning-level expectation failures of a delivery that was loaded anyway, same shape as errors.';
comment on column ops.deliveries.first_seen_at is 'Wall clock when the pipeline first saw the folder (operational data).';
comment on column ops.deliveries.status_at is 'Wall clock of the last status change (operational data).';
comment on column ops.deliveries.superseded_by is 'delivery_id of the delivery that replaced this one (status superseded).';
comment on column ops.deliveries.manifest_sha256 is 'sha256 of manifest.json as processed; a changed manifest (folder re-delivered in place) is processed again.';
comment on column ops.deliveries.as_of is 'The night (data date) on which the status was last set.';
comment on column ops.deliveries.retry is 'true when rejected for an internal reason (bug, busy warehouse), not the data: the next night processes it again.';
comment on column ops.deliveries.delivery_kind is 'What the delivery is within its period, where the catalog distinguishes kinds: daily (an additive daily delivery, e.g. mem_disaster from 2026-04); for moe_students start_of_term / mid_term (mid-term = dated midterm_after_days or more after the term''s first day, aid granted) or term (a term before mid-term deliveries began); null otherwise. Set by publish from the feed registry (pipelines.feeds FeedSpec.delivery_kind).';
comment on column ops.deliveries.held_reason is 'Why the delivery was held for a person (status held; kept once it is released and loaded).';
comment on column ops.deliveries.released_by is 'Who released the held delivery (lowincome release; also in ops.audit_log, action delivery_released).';
comment on column ops.deliveries.released_at is 'Wall clock of the release (operational data).';
