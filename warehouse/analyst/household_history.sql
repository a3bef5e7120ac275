-- 一户一条救助链 A household's history by its pseudonymous key: every warning, every case step and
-- every assistance it received per data month (at the first moment of the month).
-- Use: select * from household_history where household_key = 'h_...' order by event_at, seq;
create or replace view household_history as
with warning_rows as (
    select
        household_key,
        raised_at as event_at,
        'warning' as kind,
        period,
        indicator_code,
        severity,
        case_key,
        cast(null as integer) as seq,
        cast(null as varchar) as from_status,
        cast(null as varchar) as to_status,
        'raise' as action,
        explanation as detail
    from warnings
),
event_rows as (
    select
        c.household_key,
        e.event_at,
        'case_event' as kind,
        c.opened_period as period,
        c.indicator_code,
        c.severity,
        e.case_key,
        e.seq,
        e.from_status,
        e.to_status,
        e.action,
        cast(e.detail as varchar) as detail
    from case_events e
    join cases c using (case_key)
),
assistance_rows as (
    select
        a.household_key,
        timezone('Asia/Shanghai', cast(cast(a.period || '-01' as date) as timestamp)) as event_at,
        'assistance' as kind,
        a.period,
        cast(null as varchar) as indicator_code,
        cast(null as varchar) as severity,
        cast(null as varchar) as case_key,
        cast(null as integer) as seq,
        cast(null as varchar) as from_status,
        cast(null as varchar) as to_status,
        a.kind as action,
        format('{} {}{} {} 元', coalesce(k.name_zh, a.kind), a.payments,
               case k.counts when 'months' then '月' else '次' end, cast(a.amount_yuan as varchar)) as detail
    from assistance_month a
    left join assistance_kinds k using (kind)
)
select * from warning_rows
union all
select * from event_rows
union all
select * from assistance_rows;

comment on view household_history is '一户一条救助链 Every warning, case step and monthly assistance (kind assistance, at the first day of the month) of a household, by household_key; filter on household_key and order by event_at, seq.';
comment on column household_history.household_key is '家庭假名键 Pseudonymous household key';
comment on column household_history.event_at is '时间 When (raised_at for warnings, event time for case steps, the first day of the month for assistance)';
comment on column household_history.kind is '类型 warning / case_event / assistance';
comment on column household_history.period is '数据月份 Data month of the warning (or of the warning that opened the case, or of the assistance)';
comment on column household_history.indicator_code is '指标代码 Indicator code';
comment on column household_history.severity is '严重程度 Severity';
comment on column household_history.case_key is '个案假名键 Pseudonymous case key';
comment on column household_history.seq is '序号 Case step number (null for warnings)';
comment on column household_history.from_status is '原状态 Status before the step';
comment on column household_history.to_status is '新状态 Status after the step';
comment on column household_history.action is '动作 raise for warnings, the case action, or the kind of assistance';
comment on column household_history.detail is '详情（已脱敏）Scrubbed explanation or step detail; for assistance 低保 1月 1020.00 元';
