-- mart.feedback_stats: how departments answer, per indicator and county. The confirmation rate
-- is the share of verified cases among the cases whose verification result is known; it is the
-- field measure of an indicator's precision.
create or replace view mart.feedback_stats as
with cases as (
    select case_id, indicator_code, county_code, status, dispatched_at, escalated from mart.cases
),
reached as (
    select case_id,
           bool_or(source = 'feedback')                                    as has_feedback,
           bool_or(to_status = 'verified')                                 as verified,
           bool_or(to_status = 'not_verified')                             as not_verified
    from mart.case_events
    group by case_id
),
statuses as (select status, is_final from mart.case_statuses),
joined as (
    select cases.*,
           coalesce(reached.has_feedback, false) as has_feedback,
           coalesce(reached.verified, false)     as verified,
           coalesce(reached.not_verified, false) as not_verified,
           coalesce(statuses.is_final, false)    as is_final
    from cases
    left join reached using (case_id)
    left join statuses using (status)
)
select
    indicator_code,
    county_code,
    count(*)                                              as cases,
    count(dispatched_at)                                  as dispatched,
    count(*) filter (where has_feedback)                  as with_feedback,
    count(*) filter (where verified or not_verified)      as answered,
    count(*) filter (where verified)                      as verified,
    count(*) filter (where not_verified)                  as not_verified,
    round(count(*) filter (where verified)
          / nullif(count(*) filter (where verified or not_verified), 0), 4) as confirmation_rate,
    count(*) filter (where escalated)                     as overdue,
    count(*) filter (where is_final)                      as closed
from joined
group by indicator_code, county_code;
comment on view mart.feedback_stats is '反馈统计 per indicator and county: cases, dispatched, with_feedback, answered (verification result known), verified, not_verified, confirmation_rate = verified / answered, overdue (escalated), closed.';
