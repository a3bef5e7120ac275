-- ops.feedback_rejects: feedback lines not applied, with the reason, for the department to correct.
create table if not exists ops.feedback_rejects (
    sha256      varchar not null,
    department  varchar not null,
    file        varchar not null,
    line        integer not null,
    case_id     varchar,
    field       varchar not null,
    value       varchar,
    reason      varchar not null,
    as_of       date not null,
    office      varchar
);
alter table ops.feedback_rejects add column if not exists office varchar;

comment on table ops.feedback_rejects is '反馈退回明细: one row per rejected feedback line (or per unreadable file, line 0/1).';
comment on column ops.feedback_rejects.sha256 is 'sha256 of the feedback file (ops.feedback_files).';
comment on column ops.feedback_rejects.department is 'Department folder.';
comment on column ops.feedback_rejects.office is 'Office folder (feedback/<DEPT>/<office_code>/<date>/).';
comment on column ops.feedback_rejects.file is 'File path.';
comment on column ops.feedback_rejects.line is 'Line number in the file as a spreadsheet shows it (header = 1, first data line = 2).';
comment on column ops.feedback_rejects.case_id is 'case_id on that line, as given.';
comment on column ops.feedback_rejects.field is 'The field at fault (case_id, status, action, amount_yuan, handled_on, handler, note, header, file).';
comment on column ops.feedback_rejects.value is 'The value at fault as given, at most 64 characters (then …), or [已隐去 withheld] when it shares a run of 8 characters with a configured secret; never a header line.';
comment on column ops.feedback_rejects.reason is 'Why, in Chinese and English.';
comment on column ops.feedback_rejects.as_of is 'The night that read the file.';
