-- RELAPSE_RISK 防返贫-新风险 for data month $period: a household on the relapse watch (the newest
-- moa_relapse_watch snapshot of a period <= M, 风险消除 = 否) with a hardship signal (core.hardship_signal,
-- the last $signal_months months, kinds other than $excluded_signals) dated after its 识别日期 whose risk
-- is not already among its 风险类型: each signal kind (a field visit: each finding) maps to a risk type by
-- $risk_of_signal ("kind=risk"); a kind without a mapping (the death of a working-age member) is always
-- new. Routed to MOA (the watch's own department) and MCA.
with watch as (
    select * from staging.moa_relapse_watch
    where period = (select max(period) from staging.moa_relapse_watch where period <= $period)
      and not coalesce(risk_eliminated, false)
),
persons as (
    select * from core.person_month where period = $period
),
watched as (
    select w.*, coalesce(k.household_id, p.household_id) as household_id
    from watch w
    left join (select hukou_no, min(household_id) as household_id from persons where hukou_no is not null
               group by hukou_no) k on k.hukou_no = w.hukou_no
    left join persons p on p.person_id = w.head_person_id
),
signals as (
    select s.*
    from core.hardship_signal s
    join core.month_calendar c using (period)
    where c.month_idx between $month_idx - ($signal_months - 1) and $month_idx
      and not list_contains($excluded_signals, s.kind)
),
keyed as (
    -- a field visit stands for each of its findings; other signals for their kind
    select s.*, w.watch_id, w.identified_on, w.risk_types, w.watch_type,
           case when s.kind = 'grid_finding' then cast(json_extract(s.detail, '$.findings') as varchar[])
                else [s.kind] end as keys
    from signals s
    join watched w using (household_id)
    where s.signal_date > w.identified_on
),
risks as (
    select *,
           list_transform(keys, k -> (list_filter($risk_of_signal, x -> split_part(x, '=', 1) = k)[1])) as mapped
    from keyed
),
new_risks as (
    select *,
           list_filter(list_transform(mapped, x -> case when x is null then 'new' else split_part(x, '=', 2) end),
                       r -> r = 'new' or not list_contains(coalesce(risk_types, cast([] as varchar[])), r)) as new_risk_types
    from risks
),
per_household as (
    select household_id,
           any_value(watch_id) as watch_id, any_value(identified_on) as identified_on,
           any_value(risk_types) as risk_types, any_value(watch_type) as watch_type,
           count(*) as signals,
           max(signal_date) as latest_signal_date,
           arg_max(kind, (signal_date, signal_rank(kind))) as latest_kind,
           arg_max(person_id, (signal_date, signal_rank(kind))) as latest_person_id,
           arg_max(detail, (signal_date, signal_rank(kind))) as latest_detail,
           arg_max(new_risk_types, (signal_date, signal_rank(kind))) as latest_new_risks,
           list(struct_pack(signal_date := signal_date, kind := kind, person_id := person_id, detail := detail,
                            new_risk_types := new_risk_types) order by signal_date desc, kind)[1:5] as recent
    from new_risks
    where len(new_risk_types) > 0
    group by household_id
),
fired as (
    select h.*, p.watch_id, p.identified_on, p.risk_types, p.watch_type, p.signals, p.latest_signal_date,
           p.latest_kind, p.latest_person_id, p.latest_detail, p.latest_new_risks, p.recent
    from per_household p
    join core.household_month h on h.period = $period and h.household_id = p.household_id
),
named as (
    select f.*, hp.name as head_name
    from fired f
    left join persons hp on hp.household_id = f.household_id and hp.person_id = f.head_person_id
)
select
    'RELAPSE_RISK' as indicator_code,
    $sev_default as severity,
    $period as period,
    household_id, family_id, hukou_no,
    coalesce(latest_person_id, head_person_id) as person_id,
    county_code,
    $departments as departments,
    json_object(
        'watch_id', watch_id, 'watch_type', watch_type, 'identified_on', identified_on, 'risk_types', risk_types,
        'new_risk_types', latest_new_risks,
        'signal', json_object('kind', latest_kind, 'signal_date', latest_signal_date, 'person_id', latest_person_id,
                              'detail', latest_detail),
        'signals', recent, 'category', category, 'on_roster', on_roster
    ) as evidence,
    zh_household(head_name, hukou_no) || ' 为防止返贫监测户（' || zh_date(identified_on) || '识别，风险类型：'
      || coalesce(nullif(array_to_string(list_transform(risk_types, r -> zh_risk(r)), '、'), ''), '未注明') || '），'
      || '识别后出现新的风险：' || zh_signal(latest_kind, latest_signal_date, latest_detail)
      || '（' || array_to_string(list_transform(latest_new_risks, r -> case when r = 'new' then '新风险' else zh_risk(r) end), '、')
      || '）。建议农业农村部门及时帮扶、民政部门评估社会救助需要'
        as explanation
from named
