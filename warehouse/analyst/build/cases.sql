-- The rows of cases (one per household and indicator while open), pseudonymous.
-- temp.analyst_*_keys are the build's key mappings (raw id -> pseudonym), made in Python.
with raw_cases as (
    select * from mart.cases
),
keyed as (
    select c.*, ck.key as case_key, hk.household_key, wk.key as last_warning_key
    from raw_cases c
    left join temp.analyst_case_keys ck on ck.id = c.case_id
    left join temp.analyst_household_keys hk on hk.household_id = c.household_id
    left join temp.analyst_warning_keys wk on wk.id = c.last_warning_id
)
select
    case_key,
    household_key,
    indicator_code,
    severity,
    county_code,
    departments,
    status,
    opened_period,
    opened_at,
    dispatched_at,
    due_at,
    last_warning_key,
    closed_at,
    escalated,
    case when length(office_region) >= 9 then left(office_region, 9) end as town_code,
    list_transform(coalesce(department_status, list_transform(departments, d -> {
        'department': d, 'office_code': county_code, 'status': status,
        'awaiting_feedback': awaiting_feedback, 'last_feedback_on': last_feedback_on})),
        s -> {'department': s.department, 'office_code': s.office_code, 'status': s.status}) as department_status
from keyed
