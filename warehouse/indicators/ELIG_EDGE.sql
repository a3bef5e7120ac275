-- ELIG_EDGE 主动发现-低保边缘 for data month $period: as ELIG_DIBAO (the macro income_eligibility,
-- _macros.sql: path (a) on known income, path (b) on partly unknown income with a hardship signal), for a
-- household not on the roster whose per-capita income is >= the 低保 standard (below it ELIG_DIBAO wins)
-- and below the edge line = edge multiplier of its city (default $edge_multiplier) x 低保 standard.
-- Severity (a) $sev_known, (b) $sev_partial (a referral for an economic check).
with candidates as (
    select *, edge_multiplier_for(city_code, $edge_multiplier) as edge_multiplier
    from income_eligibility($period, $month_idx, $period_end, $months, cast([] as varchar[]), $signal_months, $application_days,
                            $asset_months, $exit_review_vehicle_classes, $exit_review_vehicle_events,
                            $exit_review_individual_min_capital_yuan, $exit_review_assets_std_multiple,
                                     $model_gate, $path_b_from,
                            -- the highest edge line of any city
                            (select greatest($edge_multiplier, coalesce(max(edge_multiplier), $edge_multiplier))
                             from indicator_city_params))
    where not on_roster
),
fired as (
    select *, edge_multiplier * dibao_std_yuan as edge_line_yuan
    from candidates
    where eligible and per_capita_yuan >= dibao_std_yuan and per_capita_yuan < edge_multiplier * dibao_std_yuan
)
select
    'ELIG_EDGE' as indicator_code,
    case when path = 'a' then $sev_known else $sev_partial end as severity,
    $period as period,
    household_id, family_id, hukou_no,
    case when path = 'b' then coalesce(latest_person_id, head_person_id) else head_person_id end as person_id,
    county_code,
    $departments as departments,
    json_object(
        'path', path, 'income_coverage', income_coverage, 'coverage_reason', coverage_reason,
        'per_capita_yuan', round(per_capita_yuan, 2),
        'per_capita_basis', case when path = 'a' then 'rule_income' else 'observed_income_floor' end,
        'months', months, 'detail', detail, 'size', size,
        'dibao_std_yuan', dibao_std_yuan, 'edge_multiplier', edge_multiplier,
        'edge_line_yuan', round(edge_line_yuan, 2), 'city_code', city_code,
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
    zh_household(null, hukou_no) || ' '
      || case when path = 'a' then
             '近' || months || '个月人均月收入 ' || zh_yuan(per_capita_yuan) || ' 元（'
             || zh_coverage(income_coverage, verified_check_date, survey_year) || '），高于低保标准 '
             || zh_yuan(dibao_std_yuan) || ' 元但低于低保边缘线 ' || zh_yuan(edge_line_yuan)
             || ' 元（低保标准×' || edge_multiplier || '），尚未在册，建议核查是否符合低保边缘条件'
         else
             '收入部分未知（' || size || '人中' || coalesce(unknown_members, 0) || '人收入无从核实：'
             || array_to_string(list_transform(unknown_reasons, r -> zh_unknown_reason(r)), '、')
             || '），部门数据可见的近' || months || '个月人均月收入 ' || zh_yuan(per_capita_yuan)
             || ' 元，低于低保边缘线 ' || zh_yuan(edge_line_yuan) || ' 元（低保标准×' || edge_multiplier
             || '）；困难信号：' || zh_signal(latest_kind, latest_signal_date, latest_detail)
             || '。建议转介乡镇开展家庭经济状况核对（转介核对），核实是否符合低保边缘条件'
             || case when not model_applied then '（资格模型尚未启用）'
                     else '；资格模型估计概率 ' || format('{:.2f}', probability) || '（阈值 ' || format('{:.2f}', cutoff) || '）'
                          || case when top_features is not null and len(zh_features(top_features)) > 0
                                  then '，主要因素：' || zh_features(top_features) else '' end end
         end
        as explanation
from fired
