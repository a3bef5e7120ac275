-- TEKUN_CANDIDATE 特困供养候选 for data month $period: a roster household in $roster_categories, or any
-- household whose verified per-capita income is below the 特困 standard, not in $excluded_categories,
-- whose every member is aged >= $elderly_age, under $child_age, or holds a valid grade <= $max_grade
-- certificate (the cdpf_disability snapshot of M), with a hardship signal (core.hardship_signal) in the
-- last $signal_months months. No feed knows the legal supporters (法定赡养抚养扶养义务人): the
-- explanation asks the office to check them.
with households as (
    select h.*, c.check_date as verified_check_date
    from core.household_month h
    left join core.household_coverage_month c using (period, household_id)
    where h.period = $period and h.size > 0
      and (h.category is null or not list_contains($excluded_categories, h.category))
      and ((h.on_roster and list_contains($roster_categories, h.category))
           or (h.income_coverage = 'verified' and h.tekun_std_yuan is not null
               and h.rule_income_yuan / h.size < h.tekun_std_yuan))
),
certificates as (
    select person_id, min(disability_grade) as disability_grade
    from staging.cdpf_disability
    where period = $period and cert_status = 'valid' and disability_grade <= $max_grade
    group by person_id
),
members as (
    select m.household_id, m.person_id, m.age, c.disability_grade,
           m.age >= $elderly_age as elderly, m.age < $child_age as child, c.disability_grade is not null as disabled
    from core.member_income_month m
    join households h using (household_id)
    left join certificates c using (person_id)
    where m.period = $period
),
composition as (
    select household_id,
           count(*) as members,
           count(*) filter (where elderly) as elderly,
           count(*) filter (where child) as children,
           count(*) filter (where disabled and not elderly and not child) as disabled_adults,
           bool_and(elderly or child or disabled) as all_dependent
    from members
    group by household_id
),
signals as (select * from signals_in_window($month_idx, $signal_months)),
fired as (
    select h.*, c.members, c.elderly, c.children, c.disabled_adults,
           s.signals, s.latest_signal_date, s.latest_kind, s.latest_person_id, s.latest_detail, s.recent
    from households h
    join composition c using (household_id)
    join signals s using (household_id)
    where c.all_dependent
),
named as (
    select f.*, p.name as head_name
    from fired f
    left join core.person_month p on p.period = $period and p.household_id = f.household_id and p.person_id = f.head_person_id
)
select
    'TEKUN_CANDIDATE' as indicator_code,
    $sev_default as severity,
    $period as period,
    household_id, family_id, hukou_no,
    head_person_id as person_id,
    county_code,
    $departments as departments,
    json_object(
        'category', category, 'on_roster', on_roster, 'size', size,
        'elderly', elderly, 'children', children, 'severely_disabled_adults', disabled_adults,
        'income_coverage', income_coverage,
        'verified_per_capita_yuan', case when income_coverage = 'verified' then round(rule_income_yuan / size, 2) end,
        'tekun_std_yuan', tekun_std_yuan,
        'signal', json_object('kind', latest_kind, 'signal_date', latest_signal_date, 'person_id', latest_person_id,
                              'detail', latest_detail),
        'signals', recent,
        'legal_supporters', 'unknown: no feed records them (法定赡养抚养扶养义务人)'
    ) as evidence,
    zh_household(head_name, hukou_no)
      || case when on_roster then '（' || zh_category(category) || '）' else ' ' end
      || '全体' || size || '名成员均为老年人、未成年人或重度残疾人（'
      || concat_ws('、',
            case when elderly > 0 then elderly || '人' || $elderly_age || '岁以上' end,
            case when children > 0 then children || '人未满' || $child_age || '岁' end,
            case when disabled_adults > 0 then disabled_adults || '人持一、二级残疾证' end) || '）'
      || case when not on_roster or not list_contains($roster_categories, category)
              then '，核实人均月收入 ' || zh_yuan(rule_income_yuan / size) || ' 元低于特困供养标准 '
                   || zh_yuan(tekun_std_yuan) || ' 元'
              else '' end
      || '；困难信号：' || zh_signal(latest_kind, latest_signal_date, latest_detail)
      || '。可能符合特困人员救助供养条件，建议核查；须核实有无法定赡养抚养扶养义务人及其赡养、抚养、扶养能力（部门数据不掌握义务人信息）'
        as explanation
from named
