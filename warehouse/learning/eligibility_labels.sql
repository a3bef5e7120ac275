-- Labels of the eligibility model for label month $period: the assessed economic checks dated in
-- the month (income_basis = 'assessed': the town's assessment of farm, migrant and informal income
-- is in; check_only checks miss that hidden income and are not labels), attributed to a household
-- as the coverage rule does (the check's family, else the applicant's roster family, else
-- H || hukou_no) with the persons of $feature_period, the month before the check, whose features
-- the label is learned from.
with calendar as (
    select month_start, month_end from core.month_calendar where period = $period
)
select
    c.check_id,
    $period                                                         as label_period,
    $feature_period                                                 as feature_period,
    coalesce(c.family_id, a.family_id, 'H' || c.hukou_no)           as household_id,
    c.check_date,
    c.reason,
    c.outcome,
    c.monthly_income_yuan / greatest(c.household_size, 1)           as check_pc_yuan
from staging.mca_econ_checks c
left join core.person_month a
       on a.period = $feature_period and a.person_id = c.applicant_id and a.on_roster
where c.period <= $period
  and c.income_basis = 'assessed'
  and c.outcome in ('below_dibao', 'below_edge', 'above_edge')
  and c.check_date between (select month_start from calendar) and (select month_end from calendar)
