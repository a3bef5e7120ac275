-- mart.case_events: append-only history of every case (一户一条救助链). Every status change,
-- warning link, severity rise, dispatch, escalation and feedback line is one row.
create table if not exists mart.case_events (
    case_id      varchar not null,
    seq          integer not null,
    "at"         timestamptz not null,
    actor        varchar not null,
    from_status  varchar,
    to_status    varchar not null,
    action       varchar not null,
    detail       json,
    source       varchar not null,
    primary key (case_id, seq)
);

comment on table mart.case_events is '案件流转记录 case events: one row per step of a case (who, when, what). Append-only: the code never updates or deletes a row. A status never moves back; a step without a status change has from_status = to_status.';
comment on column mart.case_events.case_id is '案件编号 (mart.cases.case_id).';
comment on column mart.case_events.seq is 'Step number within the case, 1, 2, 3 ... in the order the steps were recorded.';
comment on column mart.case_events."at" is '时间: for system steps the night''s logical time (02:00 Asia/Shanghai of as_of); for feedback the handled_on date the department reported (00:00 Asia/Shanghai).';
comment on column mart.case_events.actor is '经办人: system, or handler@DEPT for feedback, or the analyst for manual steps.';
comment on column mart.case_events.from_status is 'Status before the step (null for the opening step).';
comment on column mart.case_events.to_status is 'Status after the step.';
comment on column mart.case_events.action is '动作: opened, warning_linked, severity_raised, warning_after_close, department_added, dispatched, redispatched, transfer_sent, escalated, escalation_sent, accepted, verified, not_verified, assisted, ineligible, transferred, closed, case_final. Steps implied by a later feedback status (e.g. accepted before verified) carry detail.implied = true. A department''s step (feedback, dispatch) carries detail.department; its from_status/to_status are that department''s status (mart.cases.department_status); case_final records the case as a whole becoming final.';
comment on column mart.case_events.detail is 'JSON: warning_id/period/severity for warning steps; department/county/extract for dispatch; action/amount_yuan/note/file/line for feedback.';
comment on column mart.case_events.source is 'Where the step came from: warning, dispatch, escalation, feedback, analyst.';
