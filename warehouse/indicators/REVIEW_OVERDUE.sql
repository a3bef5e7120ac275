-- REVIEW_OVERDUE 复核逾期 for data month $period: an enrolled family ($enrolled_categories) whose
-- last economic check is older than $econ_check_months months before the end of M, or last home
-- visit older than $home_visit_months months (a missing date counts from the enrolment date;
-- both missing: no verdict). Family-level values: the head's roster row.
with roster as (
    select * from staging.mca_roster
    where period = $period and family_id is not null
    qualify row_number() over (partition by family_id order by (relation = 'head') desc, _row) = 1
),
cutoffs as (
    select cast($period_end - to_months($econ_check_months) as date) as econ_cutoff,
           cast($period_end - to_months($home_visit_months) as date) as visit_cutoff
),
checked as (
    select r.*, c.econ_cutoff, c.visit_cutoff,
           coalesce(r.last_econ_check_date, r.enrolled_date) < c.econ_cutoff as econ_overdue,
           coalesce(r.last_home_visit_date, r.enrolled_date) < c.visit_cutoff as visit_overdue
    from roster r, cutoffs c
    where list_contains($enrolled_categories, r.category)
)
select
    'REVIEW_OVERDUE' as indicator_code,
    $sev_default as severity,
    $period as period,
    h.household_id, h.family_id, h.hukou_no,
    c.person_id,
    h.county_code,
    $departments as departments,
    json_object(
        'category', c.category, 'last_econ_check_date', c.last_econ_check_date,
        'last_home_visit_date', c.last_home_visit_date, 'enrolled_date', c.enrolled_date,
        'econ_cutoff', c.econ_cutoff, 'visit_cutoff', c.visit_cutoff,
        'econ_overdue', coalesce(c.econ_overdue, false), 'visit_overdue', coalesce(c.visit_overdue, false),
        'record_ids', json_object('roster_delivery_id', c.delivery_id, 'roster_row', c._row)
    ) as evidence,
    zh_household(c.name, h.hukou_no) || '（' || zh_category(c.category) || '）'
      || concat_ws('；',
            case when c.econ_overdue then
                case when c.last_econ_check_date is not null
                     then '上次经济状况核对为' || zh_date(c.last_econ_check_date)
                     else '自' || zh_date(c.enrolled_date) || '纳入以来未做经济状况核对' end
                || '，已超过 ' || $econ_check_months || ' 个月' end,
            case when c.visit_overdue then
                case when c.last_home_visit_date is not null
                     then '上次入户调查为' || zh_date(c.last_home_visit_date)
                     else '自' || zh_date(c.enrolled_date) || '纳入以来未入户调查' end
                || '，已超过 ' || $home_visit_months || ' 个月' end)
      || '，请按期复核'
        as explanation
from checked c
join core.household_month h on h.period = $period and h.household_id = c.family_id
where coalesce(c.econ_overdue, false) or coalesce(c.visit_overdue, false)
