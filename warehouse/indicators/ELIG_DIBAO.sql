-- ELIG_DIBAO 主动发现-低保 for data month $period: a household not in $excluded_categories whose
-- mean per-capita income over M-2..M (all $months months known) is below the 低保 standard of M.
with households as (
    select * from core.household_month
    where period = $period and income_known and size > 0 and dibao_std_yuan is not null
      and (category is null or not list_contains($excluded_categories, category))
),
recent as (select * from recent_per_capita($month_idx, $months)),
fired as (
    select h.*, r.months, r.per_capita_yuan, r.detail
    from households h
    join recent r using (household_id)
    where r.months = $months and r.per_capita_yuan < h.dibao_std_yuan
),
named as (
    select f.*, p.name as head_name
    from fired f
    left join core.person_month p on p.period = $period and p.household_id = f.household_id and p.person_id = f.head_person_id
)
select
    'ELIG_DIBAO' as indicator_code,
    $sev_default as severity,
    $period as period,
    household_id, family_id, hukou_no,
    head_person_id as person_id,
    county_code,
    $departments as departments,
    json_object(
        'per_capita_yuan', round(per_capita_yuan, 2), 'months', months, 'detail', detail, 'size', size,
        'dibao_std_yuan', dibao_std_yuan, 'on_roster', on_roster, 'category', category
    ) as evidence,
    zh_household(head_name, hukou_no) || case when on_roster then '（' || zh_category(category) || '）' else ' ' end
      || '近' || months || '个月人均月收入 ' || zh_yuan(per_capita_yuan) || ' 元，低于当地低保标准 '
      || zh_yuan(dibao_std_yuan) || ' 元，尚未纳入低保或特困，建议核查是否符合低保条件'
        as explanation
from named
