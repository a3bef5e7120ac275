-- EXP_MED 医疗支出骤增 for data month $period.
-- Rule A: net OOP of M-2..M >= $income_share x income of M-2..M and >= size x $min_std_multiple_per_member
--         x 低保 standard; only on known income (principle 5): the income the rules use
--         (rule_income_yuan), with accepted coverage (verified / surveyed / full) in all 3 months. On
--         partial coverage only rule B (spending against spending) applies.
-- Rule B: OOP(M) >= $spike_multiple x median monthly OOP of M-12..M-1 (months without claims = 0;
--         only months with an nhsa delivery, at least $min_history_months) and OOP(M) >= $spike_floor_yuan.
-- High when a (not reversed) settlement in the rule's window is catastrophic.
-- Routing (v2): NHSA and MCA; an edge family with a catastrophic settlement: MCA is also asked to
-- assess 重病单人保 ($route_edge_catastrophic, CTE routed).
with households as (
    select * from core.household_month where period = $period and size > 0
),
oop as (
    select o.*, c.month_idx
    from core.household_oop_month o
    join core.month_calendar c using (period)
    where c.month_idx between $month_idx - $spike_history_months and $month_idx
),
oop_window as (
    select household_id,
           sum(oop_yuan) as oop_window_yuan,
           bool_or(catastrophic) as catastrophic_window,
           flatten(list(settle_ids)) as settle_ids_window,
           flatten(list(reversal_ids)) as reversal_ids_window
    from oop
    where month_idx between $month_idx - ($window_months - 1) and $month_idx
    group by household_id
),
candidates_a as (
    select h.household_id, h.size, h.dibao_std_yuan, o.*
    from households h
    join oop_window o using (household_id)
    where h.dibao_std_yuan is not null
      and o.oop_window_yuan >= h.size * $min_std_multiple_per_member * h.dibao_std_yuan
),
income_a as (
    -- coverage (principle 5): only months whose income is known count
    select c.household_id,
           count(*) filter (where hm.income_coverage <> 'partial' and hm.rule_income_yuan is not null) as income_months,
           sum(hm.rule_income_yuan) filter (where hm.income_coverage <> 'partial') as income_window_yuan
    from candidates_a c
    join core.household_month hm
      on hm.household_id = c.household_id
     and hm.month_idx between $month_idx - ($window_months - 1) and $month_idx
    group by c.household_id
),
rule_a as (
    select c.*, i.income_window_yuan
    from candidates_a c
    join income_a i using (household_id)
    where i.income_months = $window_months
      and c.oop_window_yuan >= $income_share * i.income_window_yuan
),
month_oop as (
    select * from oop where month_idx = $month_idx
),
candidates_b as (
    select household_id, oop_yuan as oop_month_yuan, catastrophic as catastrophic_month,
           settle_ids as settle_ids_month, reversal_ids as reversal_ids_month
    from month_oop
    where oop_yuan >= $spike_floor_yuan
),
nhsa_months as (
    select c.period
    from core.month_calendar c
    join core.feed_month f on f.feed_id = 'nhsa_claims' and f.period = c.period and f.status = 'loaded'
    where c.month_idx between $month_idx - $spike_history_months and $month_idx - 1
),
history_b as (
    select b.household_id, n.period, coalesce(o.oop_yuan, 0) as oop_yuan
    from candidates_b b
    cross join nhsa_months n
    left join oop o on o.household_id = b.household_id and o.period = n.period
),
median_b as (
    select household_id, median(oop_yuan) as history_median_yuan, count(*) as history_months
    from history_b group by household_id
),
rule_b as (
    select b.*, m.history_median_yuan, m.history_months
    from candidates_b b
    join median_b m using (household_id)
    where m.history_months >= $min_history_months
      and b.oop_month_yuan >= $spike_multiple * m.history_median_yuan
),
fired as (
    select
        h.*,
        a.household_id is not null as rule_a,
        b.household_id is not null as rule_b,
        a.oop_window_yuan, a.income_window_yuan,
        b.oop_month_yuan, b.history_median_yuan, b.history_months,
        (a.household_id is not null and coalesce(a.catastrophic_window, false))
            or coalesce(b.catastrophic_month, false) as catastrophic,
        case when a.household_id is not null then a.settle_ids_window else b.settle_ids_month end as settle_ids,
        case when a.household_id is not null then a.reversal_ids_window else b.reversal_ids_month end as reversal_ids
    from households h
    left join rule_a a using (household_id)
    left join rule_b b using (household_id)
    where a.household_id is not null or b.household_id is not null
),
named as (
    select f.*, p.name as head_name
    from fired f
    left join core.person_month p on p.period = $period and p.household_id = f.household_id and p.person_id = f.head_person_id
),
routed as (
    -- routing v2: an edge family with a catastrophic settlement (重病单人保)
    select n.*, coalesce(n.category = 'edge', false) and n.catastrophic as edge_catastrophic
    from named n
)
select
    'EXP_MED' as indicator_code,
    case when catastrophic then $sev_catastrophic else $sev_otherwise end as severity,
    $period as period,
    household_id, family_id, hukou_no,
    head_person_id as person_id,
    county_code,
    case when edge_catastrophic
         then list_concat($departments, list_filter($route_edge_catastrophic, d -> not list_contains($departments, d)))
         else $departments end as departments,
    json_object(
        'edge_catastrophic', edge_catastrophic,
        'rule_a', rule_a, 'rule_b', rule_b,
        'oop_window_yuan', oop_window_yuan, 'income_window_yuan', income_window_yuan,
        'window', [strftime(cast($period_start as date) - to_months($window_months - 1), '%Y-%m'), $period],
        'floor_yuan', size * $min_std_multiple_per_member * dibao_std_yuan,
        'oop_month_yuan', oop_month_yuan, 'history_median_yuan', history_median_yuan,
        'history_months', history_months,
        'size', size, 'dibao_std_yuan', dibao_std_yuan, 'catastrophic', catastrophic,
        'record_ids', json_object('settle_ids', settle_ids[1:$max_record_ids], 'reversal_ids', reversal_ids[1:$max_record_ids])
    ) as evidence,
    zh_household(head_name, hukou_no) || ' '
      || case when rule_a then
             '近' || $window_months || '个月（' || zh_month(strftime(cast($period_start as date) - to_months($window_months - 1), '%Y-%m'))
             || '至' || zh_month($period) || '）医疗自付 ' || zh_yuan(oop_window_yuan) || ' 元（已扣除冲销），'
             || case when income_window_yuan > 0
                     then '占同期家庭收入 ' || zh_yuan(income_window_yuan) || ' 元的 ' || zh_pct(oop_window_yuan / income_window_yuan)
                     else '同期家庭无收入记录' end
             || '，超过家庭人口 ' || size || ' 人×低保标准 ' || zh_yuan(dibao_std_yuan) || ' 元'
         else '' end
      || case when rule_a and rule_b then '；' else '' end
      || case when rule_b then
             zh_month($period) || '医疗自付 ' || zh_yuan(oop_month_yuan) || ' 元，为此前' || history_months
             || '个月月度中位数 ' || zh_yuan(history_median_yuan) || ' 元的 '
             || case when history_median_yuan > 0 then zh_times(oop_month_yuan / history_median_yuan) || ' 倍' else '数倍（此前无自付）' end
         else '' end
      || case when catastrophic then '，涉及重特大疾病' else '' end
      || case when edge_catastrophic then '；低保边缘家庭成员患重特大疾病，请民政部门同时评估重病单人保' else '' end
        as explanation
from routed
