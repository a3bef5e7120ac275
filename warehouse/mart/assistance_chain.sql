-- mart.assistance_chain: 一户一条救助链 month by month — per household and data month, every
-- assistance the feeds show it received, beside its warnings, the cases opened and the departments'
-- feedback (with the amounts they report). One row per household and month with anything to show:
--   select * from mart.assistance_chain where household_id = ? order by period
create or replace view mart.assistance_chain as
with kinds as (
    select kind, name_zh, sort_order from mart.assistance_kinds
),
assistance as (
    select a.household_id, a.period,
           list(struct_pack(kind := a.kind, name_zh := k.name_zh, payments := a.payments, amount_yuan := a.amount_yuan)
                order by k.sort_order, a.kind) as assistance,
           sum(a.amount_yuan) as assistance_yuan
    from core.assistance_month a
    left join kinds k using (kind)
    group by a.household_id, a.period
),
warned as (
    select household_id, period,
           list(struct_pack(indicator_code := indicator_code, severity := severity, warning_id := warning_id)
                order by indicator_code, severity) as warnings
    from mart.warnings
    group by household_id, period
),
opened as (
    select household_id, opened_period as period,
           list(struct_pack(case_id := case_id, indicator_code := indicator_code, status := status)
                order by case_id) as cases_opened
    from mart.cases
    group by household_id, opened_period
),
answers as (
    -- feedback lines as the departments reported them (implied intermediate steps left out)
    select c.household_id, strftime(timezone('Asia/Shanghai', e."at"), '%Y-%m') as period,
           e.case_id, e.seq, e.detail->>'department' as department, e.action as status,
           try_cast(e.detail->>'amount_yuan' as decimal(18,2)) as amount_yuan,
           cast(timezone('Asia/Shanghai', e."at") as date) as handled_on
    from mart.case_events e
    join mart.cases c using (case_id)
    where e.source = 'feedback' and not coalesce(try_cast(e.detail->>'implied' as boolean), false)
),
feedback as (
    select household_id, period,
           list(struct_pack(case_id := case_id, department := department, status := status,
                            amount_yuan := amount_yuan, handled_on := handled_on)
                order by handled_on, case_id, seq) as feedback,
           sum(amount_yuan) as feedback_amount_yuan
    from answers
    group by household_id, period
),
keys as (
    select household_id, period from assistance
    union select household_id, period from warned
    union select household_id, period from opened
    union select household_id, period from feedback
)
select
    keys.household_id,
    keys.period,
    assistance.assistance,
    coalesce(assistance.assistance_yuan, 0) as assistance_yuan,
    warned.warnings,
    opened.cases_opened,
    feedback.feedback,
    feedback.feedback_amount_yuan
from keys
left join assistance using (household_id, period)
left join warned using (household_id, period)
left join opened using (household_id, period)
left join feedback using (household_id, period);
comment on view mart.assistance_chain is '一户一条救助链 per household and data month: the assistance received (core.assistance_month), the warnings raised for the month, the cases opened by them and the feedback lines the departments reported in the month (with amount_yuan). Filter on household_id, order by period.';
comment on column mart.assistance_chain.household_id is 'family_id for roster families, H || hukou_no otherwise.';
comment on column mart.assistance_chain.period is 'Data month YYYY-MM (feedback: the month of handled_on).';
comment on column mart.assistance_chain.assistance is 'List of {kind, name_zh, payments, amount_yuan} received in the month (core.assistance_month).';
comment on column mart.assistance_chain.assistance_yuan is 'Total assistance of the month, yuan (0 without).';
comment on column mart.assistance_chain.warnings is 'List of {indicator_code, severity, warning_id} raised for the month.';
comment on column mart.assistance_chain.cases_opened is 'List of {case_id, indicator_code, status} opened by a warning of the month.';
comment on column mart.assistance_chain.feedback is 'List of {case_id, department, status, amount_yuan, handled_on}: feedback lines handled in the month (steps they imply left out).';
comment on column mart.assistance_chain.feedback_amount_yuan is 'Sum of the amounts the departments reported in the month''s feedback (null without an amount).';
