-- EXP_HARDSHIP 支出型困难 for data month $period, on known income only (principle 5).
-- The household's income of M is known (coverage verified / surveyed / full, not partial). Window: the
-- months of M-11..M with known income (accepted coverage; at least $min_months). On window averages per
-- capita per month of the income the rules use (rule_income_yuan): (income - medical OOP - education
-- cost - disaster loss) < 低保 standard while income alone >= 低保 standard. Households in
-- $excluded_categories are already assisted.
with households as (
    select * from core.household_month
    where period = $period and size > 0 and dibao_std_yuan is not null
      and income_coverage is not null and income_coverage <> 'partial' and rule_income_yuan is not null
      and (category is null or not list_contains($excluded_categories, category))
),
window_months as (
    select household_id, period, rule_income_yuan as income_yuan, oop_yuan, edu_cost_yuan, disaster_loss_yuan, size,
           income_coverage
    from core.household_month
    where month_idx between $month_idx - ($window_months - 1) and $month_idx and size > 0
      and income_coverage is not null and income_coverage <> 'partial' and rule_income_yuan is not null
),
averages as (
    select
        household_id,
        count(*) as months,
        avg(income_yuan / size) as income_per_capita_yuan,
        avg((income_yuan - oop_yuan - edu_cost_yuan - disaster_loss_yuan) / size) as net_per_capita_yuan,
        sum(income_yuan) as income_yuan, sum(oop_yuan) as oop_yuan, sum(edu_cost_yuan) as edu_cost_yuan,
        sum(disaster_loss_yuan) as disaster_loss_yuan,
        min(period) as first_month,
        list(distinct income_coverage order by income_coverage) as coverages
    from window_months
    group by household_id
    having sum(oop_yuan + edu_cost_yuan + disaster_loss_yuan) > 0
),
fired as (
    select h.*, a.months, a.income_per_capita_yuan, a.net_per_capita_yuan, a.income_yuan as window_income_yuan,
           a.oop_yuan as window_oop_yuan, a.edu_cost_yuan as window_edu_cost_yuan,
           a.disaster_loss_yuan as window_disaster_loss_yuan, a.first_month, a.coverages
    from households h
    join averages a using (household_id)
    where a.months >= $min_months
      and a.income_per_capita_yuan >= h.dibao_std_yuan
      and a.net_per_capita_yuan < h.dibao_std_yuan
),
named as (
    select f.*, p.name as head_name
    from fired f
    left join core.person_month p on p.period = $period and p.household_id = f.household_id and p.person_id = f.head_person_id
)
select
    'EXP_HARDSHIP' as indicator_code,
    $sev_default as severity,
    $period as period,
    household_id, family_id, hukou_no,
    head_person_id as person_id,
    county_code,
    $departments as departments,
    json_object(
        'window_months', months, 'window', [first_month, $period],
        'income_per_capita_yuan', round(income_per_capita_yuan, 2),
        'net_per_capita_yuan', round(net_per_capita_yuan, 2),
        'income_yuan', window_income_yuan, 'oop_yuan', window_oop_yuan, 'edu_cost_yuan', window_edu_cost_yuan,
        'disaster_loss_yuan', window_disaster_loss_yuan, 'size', size, 'dibao_std_yuan', dibao_std_yuan,
        'category', category, 'income_coverage', income_coverage, 'window_coverages', coverages
    ) as evidence,
    zh_household(head_name, hukou_no) || ' 近' || months || '个月人均月收入 ' || zh_yuan(income_per_capita_yuan)
      || ' 元，不低于低保标准 ' || zh_yuan(dibao_std_yuan) || ' 元；扣除'
      || concat_ws('、',
            case when window_oop_yuan > 0 then '医疗自付 ' || zh_yuan(window_oop_yuan) || ' 元' end,
            case when window_edu_cost_yuan > 0 then '教育支出 ' || zh_yuan(window_edu_cost_yuan) || ' 元' end,
            case when window_disaster_loss_yuan > 0 then '灾害损失 ' || zh_yuan(window_disaster_loss_yuan) || ' 元' end)
      || '后人均每月仅 ' || zh_yuan(net_per_capita_yuan) || ' 元，低于低保标准，可能属于支出型困难家庭'
        as explanation
from named
