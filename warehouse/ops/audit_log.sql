-- ops.audit_log: append-only audit trail of what left or entered the warehouse (extracts written,
-- feedback files applied, case runs). The code only ever INSERTs into this table.
create table if not exists ops.audit_log (
    "at"    timestamptz not null,
    actor   varchar not null,
    action  varchar not null,
    target  varchar not null,
    rows    bigint,
    sha256  varchar,
    detail  json
);

comment on table ops.audit_log is '审计日志 audit log: one row per extract written, feedback file applied or rejected, and case run. Append-only: no code path updates or deletes rows (tests/test_dispatch.py checks the source). Wall-clock time (operational data).';
comment on column ops.audit_log."at" is 'Wall-clock time the action completed.';
comment on column ops.audit_log.actor is 'Who ran it (system for the nightly job).';
comment on column ops.audit_log.action is 'extract_written, feedback_applied, feedback_file_rejected, cases_updated, cases_escalated, case_closed, delivery_released (a person released a held delivery: lowincome release; actor = who).';
comment on column ops.audit_log.target is 'The folder, file or table acted on.';
comment on column ops.audit_log.rows is 'Rows written / lines applied.';
comment on column ops.audit_log.sha256 is 'sha256 of the extract manifest.json, or of the feedback file.';
comment on column ops.audit_log.detail is 'JSON: department, county, as_of, counts, report paths.';
