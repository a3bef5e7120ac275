-- mart.household_history: 一户一条救助链 — a household's whole history in one query:
--   select * from mart.household_history where household_id = ? order by "at", case_id, seq
-- Every step of every case of the household, and every assistance it received per data month
-- (core.assistance_month, source 'assistance', at the first moment of the month). "at" is shown as
-- Asia/Shanghai wall time (timestamp), the way caseworkers read it; the timestamptz original of a
-- case step is mart.case_events."at".
create or replace view mart.household_history as
with cases as (
    select case_id, household_id, indicator_code from mart.cases
),
events as (
    select case_id, seq, "at", actor, from_status, to_status, action, detail, source from mart.case_events
),
case_rows as (
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
    join cases using (case_id)
),
assistance_rows as (
    select
        a.household_id,
        cast(null as varchar) as case_id,
        cast(null as varchar) as indicator_code,
        cast(cast(a.period || '-01' as date) as timestamp) as "at",
        'assistance' as event,
        cast(null as varchar) as status,
        a.department as actor,
        cast(json_object('period', a.period, 'kind', a.kind, 'name_zh', k.name_zh, 'payments', a.payments,
                         'counts', k.counts, 'amount_yuan', cast(a.amount_yuan as varchar), 'persons', a.persons,
                         'feed_id', a.feed_id) as json) as detail,
        cast(null as integer) as seq,
        cast(null as varchar) as from_status,
        'assistance' as source
    from core.assistance_month a
    left join mart.assistance_kinds k using (kind)
)
select * from case_rows
union all by name
select * from assistance_rows;
comment on view mart.household_history is '一户一条救助链 household history: every step of every case of a household and every assistance it received per data month (source assistance: core.assistance_month, at the first day of the month), in one query (where household_id = ?).';
