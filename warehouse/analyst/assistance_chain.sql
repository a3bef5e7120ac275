-- 一户一条救助链 month by month, pseudonymous: per household key and data month, the assistance
-- received beside the month's warnings, the cases they opened and the departments' feedback.
-- Use: select * from assistance_chain where household_key = 'h_...' order by period;
create or replace view assistance_chain as
with assistance as (
    select a.household_key, a.period,
           list(struct_pack(kind := a.kind, name_zh := k.name_zh, payments := a.payments, amount_yuan := a.amount_yuan)
                order by k.sort_order, a.kind) as assistance,
           sum(a.amount_yuan) as assistance_yuan
    from assistance_month a
    left join assistance_kinds k using (kind)
    group by a.household_key, a.period
),
warned as (
    select household_key, period,
           list(struct_pack(indicator_code := indicator_code, severity := severity) order by indicator_code, severity)
               as warnings
    from warnings
    group by household_key, period
),
opened as (
    select household_key, opened_period as period,
           list(struct_pack(case_key := case_key, indicator_code := indicator_code, status := status) order by case_key)
               as cases_opened
    from cases
    group by household_key, opened_period
),
answers as (
    select c.household_key, strftime(timezone('Asia/Shanghai', e.event_at), '%Y-%m') as period,
           e.case_key, e.seq, e.actor_kind as department, e.action as status,
           try_cast(e.detail->>'amount_yuan' as decimal(18,2)) as amount_yuan
    from case_events e
    join cases c using (case_key)
    where e.source = 'feedback' and not coalesce(try_cast(e.detail->>'implied' as boolean), false)
),
feedback as (
    select household_key, period,
           list(struct_pack(case_key := case_key, department := department, status := status, amount_yuan := amount_yuan)
                order by case_key, seq) as feedback,
           sum(amount_yuan) as feedback_amount_yuan
    from answers
    group by household_key, period
),
keys as (
    select household_key, period from assistance
    union select household_key, period from warned
    union select household_key, period from opened
    union select household_key, period from feedback
)
select
    keys.household_key,
    keys.period,
    assistance.assistance,
    coalesce(assistance.assistance_yuan, 0) as assistance_yuan,
    warned.warnings,
    opened.cases_opened,
    feedback.feedback,
    feedback.feedback_amount_yuan
from keys
left join assistance using (household_key, period)
left join warned using (household_key, period)
left join opened using (household_key, period)
left join feedback using (household_key, period);

comment on view assistance_chain is '一户一条救助链 per household key and data month: the assistance received (assistance_month), the warnings of the month, the cases they opened and the feedback lines the departments reported in the month (with amount_yuan). Filter on household_key, order by period.';
comment on column assistance_chain.household_key is '家庭假名键 Pseudonymous household key';
comment on column assistance_chain.period is '数据月份 Data month (feedback: the month it was handled)';
comment on column assistance_chain.assistance is '救助 List of {kind, name_zh, payments, amount_yuan} received in the month';
comment on column assistance_chain.assistance_yuan is '救助金额（元）Total assistance of the month (0 without)';
comment on column assistance_chain.warnings is '预警 List of {indicator_code, severity} raised for the month';
comment on column assistance_chain.cases_opened is '立案 List of {case_key, indicator_code, status} opened by a warning of the month';
comment on column assistance_chain.feedback is '反馈 List of {case_key, department, status, amount_yuan} reported in the month';
comment on column assistance_chain.feedback_amount_yuan is '反馈救助金额（元）Sum of the amounts reported in the month''s feedback';
