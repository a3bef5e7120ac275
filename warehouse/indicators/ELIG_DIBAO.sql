-- ELIG_DIBAO 主动发现-低保 for data month $period: a household not in $excluded_categories, without an
-- application check in the last $application_days days or an asset red flag (the EXIT_REVIEW tests), whose
--  (a) income is known (verified / surveyed / full coverage in each of M-2..M) and mean per-capita
--      income over M-2..M is below the 低保 standard of M -> $sev_known; or
--  (b) income is partly unknown (coverage of M partial), mean per-capita OBSERVED income over
--      M-2..M (HRSS loaded) below the standard, with a hardship signal in the last $signal_months months
--      later than any above_edge check of the last 12 months, and the eligibility model's gate when it
--      exists -> a referral for an economic check: $sev_partial_roster on the roster, else $sev_partial.
-- The rule in one place: the macro income_eligibility (_macros.sql), shared with ELIG_EDGE.
with candidates as (
    select * from income_eligibility($period, $month_idx, $period_end, $months, $excluded_categories,
                                     $signal_months, $application_days, $asset_months,
                                     $exit_review_vehicle_classes, $exit_review_vehicle_events,
                                     $exit_review_individual_min_capital_yuan, $exit_review_assets_std_multiple,
                                     $model_gate, $path_b_from, 1.0)
),
fired as (
    select * from candidates where eligible and per_capita_yuan < dibao_std_yuan
),
members as (
    -- the fired households' members only (a join on every person of the month costs a second)
    select household_id, person_id, name, relation from core.person_month
    where period = $period and household_id in (select household_id from fired)
),
named as (
    select f.*, p.name as head_name, sp.name as signal_name, sp.relation as signal_relation
    from fired f
    left join members p on p.household_id = f.household_id and p.person_id = f.head_person_id
    left join members sp on sp.household_id = f.household_id and sp.person_id = f.latest_person_id
)
select
    'ELIG_DIBAO' as indicator_code,
    case when path = 'a' then $sev_known when on_roster then $sev_partial_roster else $sev_partial end as severity,
    $period as period,
    household_id, family_id, hukou_no,
    case when path = 'b' then coalesce(latest_person_id, head_person_id) else head_person_id end as person_id,
    county_code,
    $departments as departments,
    json_object(
        'path', path, 'income_coverage', income_coverage, 'coverage_reason', coverage_reason,
        'per_capita_yuan', round(per_capita_yuan, 2),
        'per_capita_basis', case when path = 'a' then 'rule_income' else 'observed_income_floor' end,
        'months', months, 'detail', detail, 'size', size, 'dibao_std_yuan', dibao_std_yuan,
        'on_roster', on_roster, 'category', category,
        'unknown_members', unknown_members, 'unknown_reasons', unknown_reasons,
        'signal', case when path = 'b' then json_object('kind', latest_kind, 'signal_date', latest_signal_date,
                                                         'person_id', latest_person_id, 'detail', latest_detail) end,
        'signals', case when path = 'b' then recent end,
        'above_edge_check_date', above_edge_date,
        'checks_known_from', case when path = 'b' then $path_b_from end, 'application_check_date', application_date,
        'asset_tests', json_object('flags', asset_flags, 'check_id', assets_check_id,
                                   'check_assets_yuan', check_assets_yuan, 'check_vehicles', check_vehicles),
        'model', case when path = 'b' then json_object('applied', model_applied, 'probability', probability,
                                                        'cutoff', cutoff, 'model_version', model_version,
                                                        'top_features', top_features) end
    ) as evidence,
    zh_household(head_name, hukou_no) || case when on_roster then '（' || zh_category(category) || '）' else ' ' end
      || case when path = 'a' then
             '近' || months || '个月人均月收入 ' || zh_yuan(per_capita_yuan) || ' 元（'
             || zh_coverage(income_coverage, verified_check_date, survey_year) || '），低于当地低保标准 '
             || zh_yuan(dibao_std_yuan) || ' 元，尚未纳入低保或特困，建议核查是否符合低保条件'
         else
             '收入部分未知（' || size || '人中' || coalesce(unknown_members, 0) || '人收入无从核实：'
             || array_to_string(list_transform(unknown_reasons, r -> zh_unknown_reason(r)), '、')
             || '），部门数据可见的近' || months || '个月人均月收入仅 ' || zh_yuan(per_capita_yuan)
             || ' 元，低于低保标准 ' || zh_yuan(dibao_std_yuan) || ' 元；困难信号：'
             || case when latest_person_id is not null and signal_name is not null
                     then zh_relation(signal_relation) || signal_name || ' ' else '' end
             || zh_signal(latest_kind, latest_signal_date, latest_detail)
             || '。建议转介乡镇开展家庭经济状况核对（转介核对），核实是否符合低保条件'
             || case when not model_applied then '（资格模型尚未启用）'
                     else '；资格模型估计概率 ' || format('{:.2f}', probability) || '（阈值 ' || format('{:.2f}', cutoff) || '）'
                          || case when top_features is not null and len(zh_features(top_features)) > 0
                                  then '，主要因素：' || zh_features(top_features) else '' end end
         end
        as explanation
from named
