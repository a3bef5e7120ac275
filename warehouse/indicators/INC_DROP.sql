-- INC_DROP 收入骤减 for data month $period.
-- baseline = median of the household's known monthly incomes in M-6..M-1 (>= $min_baseline_months
-- of them), baseline > 0, income(M) <= $drop_ratio x baseline and the fall per capita
-- >= $min_drop_std_share x 低保 standard. High when the new per-capita income < standard.
-- + HRSS when a member went from employed/flexible (M-1) to unemployed_registered/none/absent (M).
with households as (
    select * from core.household_month
    where period = $period and income_known and size > 0 and dibao_std_yuan is not null
),
history as (
    select household_id, period, income_yuan
    from core.household_month
    where month_idx between $month_idx - $baseline_months and $month_idx - 1 and income_known
),
history_max as (
    -- the median never exceeds the maximum: households that cannot pass with the maximum as the
    -- baseline are dropped before the (holistic, costly) median is computed
    select household_id, max(income_yuan) as max_yuan, count(*) as months
    from history
    group by household_id
),
candidates as (
    select h.household_id
    from households h
    join history_max x using (household_id)
    where x.months >= $min_baseline_months
      and x.max_yuan > 0
      and h.income_yuan <= $drop_ratio * x.max_yuan
      and (x.max_yuan - h.income_yuan) / h.size >= $min_drop_std_share * h.dibao_std_yuan
),
baseline as (
    select
        household_id,
        median(income_yuan) as baseline_yuan,
        count(*) as baseline_months,
        list_sort(list(struct_pack(period := period, income_yuan := income_yuan))) as baseline_detail
    from history
    where household_id in (select household_id from candidates)
    group by household_id
),
drops as (
    select h.*, b.baseline_yuan, b.baseline_months, b.baseline_detail,
           h.income_yuan / h.size as per_capita_yuan,
           (b.baseline_yuan - h.income_yuan) / h.size as drop_per_capita_yuan
    from households h
    join baseline b using (household_id)
    where b.baseline_months >= $min_baseline_months
      and b.baseline_yuan > 0
      and h.income_yuan <= $drop_ratio * b.baseline_yuan
      and (b.baseline_yuan - h.income_yuan) / h.size >= $min_drop_std_share * h.dibao_std_yuan
),
members as (
    select p.household_id, p.person_id, p.name, p.relation, p.hukou_no
    from core.person_month p
    where p.period = $period and p.household_id in (select household_id from drops)
),
previous_known as (
    select count(*) > 0 as known from core.feed_month
    where feed_id = 'hrss_employment' and period = $prev_period and status = 'loaded'
),
previous_status as (
    select person_id, employment_status, income_yuan from core.person_income_month where period = $prev_period
),
current_status as (
    select person_id, employment_status, income_yuan from core.person_income_month where period = $period
),
job_loss as (
    select
        m.household_id, m.person_id, m.name, m.relation, m.hukou_no,
        ps.employment_status as previous_status,
        coalesce(cs.employment_status, 'absent') as new_status,
        ps.income_yuan - coalesce(cs.income_yuan, 0) as income_lost_yuan,
        count(*) over (partition by m.household_id) as members_losing_job
    from members m
    join previous_status ps using (person_id)
    left join current_status cs using (person_id)
    where (select known from previous_known)
      and ps.employment_status in ('employed', 'flexible')
      and coalesce(cs.employment_status, 'absent') in ('unemployed_registered', 'none', 'absent')
    qualify row_number() over (partition by m.household_id order by income_lost_yuan desc, m.person_id) = 1
),
heads as (
    select household_id, person_id, name, relation, hukou_no from members
),
scored as (
    select
        d.*,
        j.person_id as job_loss_person_id,
        j.previous_status, j.new_status, j.income_lost_yuan, j.members_losing_job,
        coalesce(j.person_id, d.head_person_id) as key_person_id,
        coalesce(j.name, hd.name) as key_name,
        coalesce(j.relation, hd.relation) as key_relation,
        hd.name as head_name,
        d.per_capita_yuan < d.dibao_std_yuan as below_standard
    from drops d
    left join job_loss j using (household_id)
    left join heads hd on hd.household_id = d.household_id and hd.person_id = d.head_person_id
)
select
    'INC_DROP' as indicator_code,
    case when below_standard then $sev_below_standard else $sev_otherwise end as severity,
    $period as period,
    household_id, family_id, hukou_no,
    key_person_id as person_id,
    county_code,
    case when job_loss_person_id is not null then list_concat($departments, $route_job_loss) else $departments end
        as departments,
    json_object(
        'baseline_yuan', round(baseline_yuan, 2),
        'baseline_months', baseline_months,
        'baseline_detail', baseline_detail,
        'income_yuan', income_yuan,
        'size', size,
        'per_capita_yuan', round(per_capita_yuan, 2),
        'income_ratio', round(income_yuan / baseline_yuan, 4),
        'drop_per_capita_yuan', round(drop_per_capita_yuan, 2),
        'dibao_std_yuan', dibao_std_yuan,
        'below_standard', below_standard,
        'job_loss', case when job_loss_person_id is not null then json_object(
            'person_id', job_loss_person_id, 'previous_status', previous_status, 'new_status', new_status,
            'income_lost_yuan', income_lost_yuan, 'members', members_losing_job) end,
        'record_ids', json_object('hrss_person_ids', [key_person_id])
    ) as evidence,
    case when job_loss_person_id is not null
         then zh_person(key_relation, key_name, hukou_no) || ' ' || zh_month($period) || '起' || zh_status(new_status) || '，'
         else zh_household(head_name, hukou_no) || ' ' || zh_month($period) end
      || '家庭月收入由 ' || zh_yuan(baseline_yuan) || ' 元降至 ' || zh_yuan(income_yuan) || ' 元（降幅 '
      || zh_pct(1 - income_yuan / baseline_yuan) || '），人均 ' || zh_yuan(per_capita_yuan) || ' 元，'
      || case when below_standard then '低于' else '不低于' end || '当地低保标准 ' || zh_yuan(dibao_std_yuan) || ' 元'
        as explanation
from scored
