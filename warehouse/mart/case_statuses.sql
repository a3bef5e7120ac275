-- mart.case_statuses: reference labels for case statuses (filled from pipelines/cases.py STATUSES).
create table if not exists mart.case_statuses (
    status    varchar primary key,
    rank      integer not null,
    label_zh  varchar not null,
    stage     varchar not null,
    is_final  boolean not null
);

comment on table mart.case_statuses is '案件状态说明: the life-cycle statuses in order, with Chinese labels and the analyst-visible stage.';
comment on column mart.case_statuses.status is 'Status code (open, dispatched, accepted, verified, not_verified, assisted, ineligible, closed).';
comment on column mart.case_statuses.rank is 'Position in the life cycle; a case only moves to a higher rank.';
comment on column mart.case_statuses.label_zh is '中文名称.';
comment on column mart.case_statuses.stage is 'Analyst stage: 待派发 to_dispatch, 待反馈 awaiting_feedback, 办理中 in_progress, 已办结 final.';
comment on column mart.case_statuses.is_final is 'true for statuses that close the case (not_verified, assisted, ineligible, closed).';
