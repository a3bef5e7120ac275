-- ops.schema_version: which version of the warehouse DDL (every file directly in warehouse/ops, raw,
-- staging, core and mart) this warehouse has. pipelines.warehouse.migrate() re-applies the
-- (idempotent) DDL only when the fingerprint changes.
create table if not exists ops.schema_version (
    fingerprint VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ
);
comment on table ops.schema_version is 'Fingerprint (sha256) of the DDL files and reference rows last applied to this warehouse; one row.';
comment on column ops.schema_version.fingerprint is 'sha256 over the text of the DDL files of warehouse/ops, raw, staging, core and mart, the feed registry and the case statuses.';
comment on column ops.schema_version.applied_at is 'Wall clock when the DDL was applied (operational data).';
-- the table this one replaced (the ingest DDL's own fingerprint)
drop table if exists ops.ingest_schema;
