-- The analysts' watchlist (raw ids; the analyst build pseudonymises it): households off the roster,
-- without an open case, whose eligibility probability (core.eligibility_month) rose most between the
-- newest scored month and $months months before -- by at least $min_rise, at most $size of them,
-- the largest rise first. Never in a department extract.
with latest as (
    select max(period) as period from core.eligibility_month
),
earlier as (
    select strftime(strptime((select period from latest) || '-01', '%Y-%m-%d') - to_months($months), '%Y-%m') as period
),
now_scores as (
    select household_id, probability, cutoff, model_version, top_features
    from core.eligibility_month where period = (select period from latest)
),
then_scores as (
    select household_id, probability from core.eligibility_month where period = (select period from earlier)
),
households as (
    select household_id, on_roster, county_code, city_code, urban_rural, size
    from core.household_month where period = (select period from latest)
),
open_cases as (
    select distinct household_id from mart.cases
    where status not in ('not_verified', 'assisted', 'ineligible', 'closed')
)
select
    (select period from latest)                   as period,
    (select period from earlier)                  as compared_with,
    n.household_id,
    h.county_code, h.city_code, h.urban_rural, h.size,
    t.probability                                 as probability_before,
    n.probability,
    n.probability - t.probability                 as rise,
    n.probability >= n.cutoff                     as above_cutoff,
    n.model_version,
    n.top_features
from now_scores n
join then_scores t using (household_id)
join households h using (household_id)
where not h.on_roster
  and n.household_id not in (select household_id from open_cases)
  and n.probability - t.probability >= $min_rise
order by rise desc, n.household_id
limit $size
