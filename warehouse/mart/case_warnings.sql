-- mart.case_warnings: which warning fed which case. Kept apart from mart.warnings.case_id so that a
-- rebuild of mart.warnings by the indicators stage cannot lose (or double) the links.
create table if not exists mart.case_warnings (
    warning_id  varchar primary key,
    case_id     varchar not null,
    link        varchar not null,
    linked_at   timestamptz not null
);

comment on table mart.case_warnings is '预警-案件关联: every warning that was attached to a case, and how. mart.warnings.case_id is restored from here when warnings are recomputed.';
comment on column mart.case_warnings.warning_id is 'mart.warnings.warning_id (deterministic W-<hash>).';
comment on column mart.case_warnings.case_id is 'The case the warning fed.';
comment on column mart.case_warnings.link is 'opened (the warning opened the case), linked (persisting condition, no re-alert), raised (higher severity: re-alert), after_close (same condition continuing right after the case was closed: no new case).';
comment on column mart.case_warnings.linked_at is 'Logical time of the night the link was made.';
