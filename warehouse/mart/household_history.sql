-- mart.household_history: 一户一条救助链 — a household's whole history in one query:
--   select * from mart.household_history where household_id = ? order by "at", case_id, seq
-- "at" is shown as Asia/Shanghai wall time (timestamp), the way caseworkers read it; the
-- timestamptz original is mart.case_events."at".
create or replace view mart.household_history as
with cases as (
    select case_id, household_id, indicator_code from mart.cases
),
events as (
    select case_id, seq, "at", actor, from_status, to_status, action, detail, source from mart.case_events
)
select
    cases.household_id,
    events.case_id,
    cases.indicator_code,
    timezone('Asia/Shanghai', events."at") as "at",
    events.action      as event,
    events.to_status   as status,
    events.actor,
    events.detail,
    events.seq,
    events.from_status,
    events.source
from events
join cases using (case_id);
comment on view mart.household_history is '一户一条救助链 household history: every step of every case of a household, in one query (where household_id = ?).';
