-- ops.unread_entries: what was found in the landing zone or the feedback folder and not read, and
-- why (a folder of no feed in the catalog, a folder that is not a date, a symbolic link, a feedback
-- file outside an office folder). Written by the ingest (area landing) and the feedback intake (area
-- feedback) on every night they look; the nightly report lists the entries seen on its night.
create table if not exists ops.unread_entries (
    area              varchar not null,
    path              varchar not null,
    kind              varchar not null,
    reason            varchar not null,
    first_seen_as_of  date not null,
    last_seen_as_of   date not null,
    first_seen_at     timestamptz
);
comment on table ops.unread_entries is '未读取的条目 unknown folders: every entry of the landing zone or the feedback folder that is no delivery and no feedback file the pipeline reads (it is never followed or read), with the reason; one row per area and path, last_seen_as_of updated on every night it is still there.';
comment on column ops.unread_entries.area is 'landing (the departments'' delivery zone) or feedback (the offices'' feedback folder).';
comment on column ops.unread_entries.path is 'Path relative to the area''s root (landing: nhsa_claims_old, mca_roster/tmp-upload; feedback: MCA/2026-02-09/feedback.csv).';
comment on column ops.unread_entries.kind is 'unknown_feed (no feed of the catalog), not_a_date (a folder name that is no YYYY-MM-DD date), not_a_folder (a file where a folder belongs), symlink (a symbolic link: never followed), unknown_office (a feedback folder that is no office code), old_place (a feedback file in feedback/<DEPT>/<date>/, which cannot show its office), more (further entries not listed one by one).';
comment on column ops.unread_entries.reason is 'Why it was not read, and what the sender should do.';
comment on column ops.unread_entries.first_seen_as_of is 'The first night that found it.';
comment on column ops.unread_entries.last_seen_as_of is 'The latest night that found it still there.';
comment on column ops.unread_entries.first_seen_at is 'Wall clock when first found (operational data).';
