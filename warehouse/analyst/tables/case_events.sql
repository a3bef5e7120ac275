-- Case events (一户一条救助链), pseudonymous: the actor reduced to its kind or department,
-- detail JSON without names, handlers or raw ids.
create table {{ target }}.case_events as
with raw_events as (
    select *, cast(detail as varchar) as detail_text from {{ source('mart', 'case_events') }}
),
keyed as (
    select e.*, ck.key as case_key, js.clean as detail_clean, tx.clean as source_clean
    from raw_events e
    left join _an_case_keys ck on ck.id = e.case_id
    left join _an_json js on js.raw = e.detail_text
    left join _an_text tx on tx.raw = e.source
)
select
    case_key,
    seq,
    "at" as event_at,
    case
        when actor is null or trim(actor) = '' then null
        when regexp_matches(lower(actor), '^(system|pipeline|lowincome|cases|dispatch|feedback|escalat|nightly|auto)') then 'system'
        else coalesce(
            nullif(regexp_extract(upper(actor), '(MCA|HRSS|NHSA|MOE|MOHURD|MEM|CDPF|SAMR|MPS)', 1), ''),
            'staff')
    end as actor_kind,
    from_status,
    to_status,
    action,
    cast(detail_clean as json) as detail,
    source_clean as source
from keyed;

comment on table {{ target }}.case_events is '个案事件（假名化）Every step of every case: who (as a kind or department), when and what. Join cases on case_key for the household.';
comment on column {{ target }}.case_events.case_key is '个案假名键 Pseudonymous case key';
comment on column {{ target }}.case_events.seq is '序号 Step number within the case';
comment on column {{ target }}.case_events.event_at is '时间 When the step happened';
comment on column {{ target }}.case_events.actor_kind is '操作方 system, a department code (MCA, HRSS, ...) or staff; personal names are not kept';
comment on column {{ target }}.case_events.from_status is '原状态 Status before the step';
comment on column {{ target }}.case_events.to_status is '新状态 Status after the step';
comment on column {{ target }}.case_events.action is '动作 What was done (open, dispatch, feedback, escalate, close, ...)';
comment on column {{ target }}.case_events.detail is '详情（已脱敏）Step details without names, handlers or raw ids';
comment on column {{ target }}.case_events.source is '来源 Where the step came from (nightly run, feedback file, ...), scrubbed';
