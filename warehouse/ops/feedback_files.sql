-- ops.feedback_files: every feedback file seen, by content hash; a file is applied exactly once.
create table if not exists ops.feedback_files (
    sha256        varchar not null,
    department    varchar not null,
    folder_date   date not null,
    path          varchar not null,
    encoding      varchar,
    as_of         date not null,
    status        varchar not null,
    lines         integer not null,
    applied       integer not null,
    rejected      integer not null,
    blank         integer not null,
    report_dir    varchar,
    office        varchar,
    primary key (sha256, department)
);
alter table ops.feedback_files add column if not exists office varchar;

comment on table ops.feedback_files is '反馈文件台账: one row per distinct feedback file (by sha256) and department folder. A file applied once is never applied again, wherever it is copied; a file rejected whole in one department folder is still tried in another.';
comment on column ops.feedback_files.sha256 is 'sha256 of the file bytes (a file above feedback_max_bytes is hashed in chunks and not read).';
comment on column ops.feedback_files.department is 'Department folder the file came from (feedback/<DEPT>/<office_code>/<date>/).';
comment on column ops.feedback_files.folder_date is 'Date folder of the file.';
comment on column ops.feedback_files.path is 'Absolute path when first seen.';
comment on column ops.feedback_files.encoding is 'utf-8-sig (Excel CSV UTF-8), utf-8, or gb18030 (Excel CSV on Chinese Windows).';
comment on column ops.feedback_files.as_of is 'The night that applied it.';
comment on column ops.feedback_files.status is 'applied (all or some lines applied) or rejected (unknown department, unreadable encoding or header, too large, too many lines).';
comment on column ops.feedback_files.lines is 'Data lines in the file.';
comment on column ops.feedback_files.applied is 'Lines applied to cases.';
comment on column ops.feedback_files.rejected is 'Lines rejected (see ops.feedback_rejects and the report).';
comment on column ops.feedback_files.blank is 'Template lines left without a status (not an answer yet).';
comment on column ops.feedback_files.report_dir is '<work>/feedback_reports/<DEPT>/<date>/ holding the reject report.';
comment on column ops.feedback_files.office is 'Office folder the file came from (feedback/<DEPT>/<office_code>/<date>/): the 6-digit county (or 9-digit town) code of the office; a line may answer only cases dispatched to that office (mart.case_dispatches.county_code).';
