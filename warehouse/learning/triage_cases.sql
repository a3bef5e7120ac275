-- Cases for the triage model, as they were when first sent -- the opening warning's indicator,
-- severity, data month and evidence numbers, the departments it went to, the night and month of its
-- first dispatch -- and the departments' final answer if there is one (confirmed = verified /
-- assisted, not = not_verified / ineligible; the last answer wins). Every case sent at least once;
-- with $live_only, every case not final yet, sent or not (the ones the nightly stage ranks: tonight's
-- new cases are sent after it).
with first_dispatch as (
    select case_id, min(as_of) as first_as_of, count(distinct department) as departments_sent
    from mart.case_dispatches
    where kind in ('new', 'realert')
    group by case_id
),
answers as (
    select case_id, arg_max(to_status, seq) as answer, max("at") as answered_at
    from mart.case_events
    where source = 'feedback' and to_status in ('verified', 'assisted', 'not_verified', 'ineligible')
    group by case_id
),
opening as (
    select cw.case_id, w.severity, w.period, w.evidence
    from mart.case_warnings cw
    join mart.warnings w using (warning_id)
    where cw.link = 'opened'
),
cases as (
    select c.*, f.first_as_of, f.departments_sent
    from mart.cases c
    left join first_dispatch f using (case_id)
    where case when $live_only then c.status not in ('not_verified', 'assisted', 'ineligible', 'closed')
               else f.case_id is not null end
)
select
    c.case_id,
    c.household_id,
    c.indicator_code,
    coalesce(o.severity, c.severity)                                        as first_severity,
    c.severity                                                              as severity_now,
    coalesce(o.period, c.opened_period)                                     as case_period,
    c.first_as_of,
    strftime(c.first_as_of, '%Y-%m')                                        as dispatch_month,
    a.answer,
    case when a.answer in ('verified', 'assisted') then 1
         when a.answer in ('not_verified', 'ineligible') then 0 end        as confirmed,
    cast(coalesce(c.departments_sent, len(c.departments)) as double)        as departments_sent,
    cast(len(c.departments) as double)                                      as departments_routed,
    case when list_contains(c.departments, 'MCA') then 1.0 else 0.0 end     as routed_mca,
    -- the opening warning's numbers, where its indicator has them (null otherwise)
    try_cast(json_extract_string(o.evidence, '$.per_capita_yuan') as double)
        / nullif(try_cast(json_extract_string(o.evidence, '$.dibao_std_yuan') as double), 0) as ev_per_capita_ratio,
    try_cast(json_extract_string(o.evidence, '$.net_per_capita_yuan') as double)
        / nullif(try_cast(json_extract_string(o.evidence, '$.dibao_std_yuan') as double), 0) as ev_net_per_capita_ratio,
    try_cast(json_extract_string(o.evidence, '$.drop_per_capita_yuan') as double)
        / nullif(try_cast(json_extract_string(o.evidence, '$.dibao_std_yuan') as double), 0) as ev_drop_ratio,
    try_cast(json_extract_string(o.evidence, '$.income_ratio') as double)  as ev_income_ratio,
    try_cast(json_extract_string(o.evidence, '$.months') as double)        as ev_months,
    case json_extract_string(o.evidence, '$.catastrophic') when 'true' then 1.0 when 'false' then 0.0 end
                                                                            as ev_catastrophic,
    try_cast(json_extract_string(o.evidence, '$.oop_window_yuan') as double)
        / nullif(try_cast(json_extract_string(o.evidence, '$.income_window_yuan') as double), 0) as ev_oop_income_ratio,
    try_cast(json_extract_string(o.evidence, '$.loss_yuan') as double) / 10000.0 as ev_loss_10k,
    try_cast(json_extract_string(o.evidence, '$.income_share') as double)  as ev_income_share,
    try_cast(json_extract_string(o.evidence, '$.assets_per_capita_yuan') as double)
        / nullif(try_cast(json_extract_string(o.evidence, '$.dibao_std_yuan') as double), 0) as ev_assets_ratio,
    try_cast(json_extract_string(o.evidence, '$.cost_yuan') as double) / 10000.0 as ev_cost_10k,
    try_cast(json_extract_string(o.evidence, '$.disability_grade') as double) as ev_disability_grade
from cases c
left join answers a using (case_id)
left join opening o using (case_id)
