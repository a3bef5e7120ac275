-- ops.ingest_schema: which version of the ingest DDL (warehouse/ops|raw|staging/*.sql) this warehouse has.
-- pipelines.ingest.init_warehouse re-applies the (idempotent) DDL only when the fingerprint changes.
create table if not exists ops.ingest_schema (
    fingerprint VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ
);
comment on table ops.ingest_schema is 'Fingerprint (sha256) of the ingest DDL files last applied to this warehouse; one row.';
comment on column ops.ingest_schema.fingerprint is 'sha256 over the text of warehouse/ops, raw and staging *.sql and the feed registry.';
comment on column ops.ingest_schema.applied_at is 'Wall clock when the DDL was applied (operational data).';
