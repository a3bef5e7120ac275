-- ELIG_EDGE 主动发现-低保边缘 for data month $period: a household not on the roster whose mean
-- per-capita income over M-2..M (all known) is >= the 低保 standard (else ELIG_DIBAO) and below the
-- edge line = edge multiplier of its city (default $edge_multiplier) x 低保 standard.
with households as (
    select *, edge_multiplier_for(city_code, $edge_multiplier) as edge_multiplier
    from core.household_month
    where period = $period and income_known and size > 0 and dibao_std_yuan is not null and not on_roster
),
recent as (select * from recent_per_capita($month_idx, $months)),
fired as (
    select h.*, r.months, r.per_capita_yuan, r.detail, h.edge_multiplier * h.dibao_std_yuan as edge_line_yuan
    from households h
    join recent r using (household_id)
    where r.months = $months
      and r.per_capita_yuan >= h.dibao_std_yuan
      and r.per_capita_yuan < h.edge_multiplier * h.dibao_std_yuan
)
select
    'ELIG_EDGE' as indicator_code,
    $sev_default as severity,
    $period as period,
    household_id, family_id, hukou_no,
    head_person_id as person_id,
    county_code,
    $departments as departments,
    json_object(
        'per_capita_yuan', round(per_capita_yuan, 2), 'months', months, 'detail', detail, 'size', size,
        'dibao_std_yuan', dibao_std_yuan, 'edge_multiplier', edge_multiplier,
        'edge_line_yuan', round(edge_line_yuan, 2), 'city_code', city_code
    ) as evidence,
    zh_household(null, hukou_no) || ' 近' || months || '个月人均月收入 ' || zh_yuan(per_capita_yuan)
      || ' 元，高于低保标准 ' || zh_yuan(dibao_std_yuan) || ' 元但低于低保边缘线 ' || zh_yuan(edge_line_yuan)
      || ' 元（低保标准×' || edge_multiplier || '），尚未在册，建议核查是否符合低保边缘条件'
        as explanation
from fired
