-- The rows of eligibility_watchlist: temp.analyst_watchlist (made by the build from
-- warehouse/learning/eligibility_watchlist.sql) with the household key instead of the household id.
select
    w.period,
    w.compared_with,
    hk.household_key,
    w.county_code,
    w.city_code,
    w.urban_rural,
    w.size,
    round(w.probability_before, 4) as probability_before,
    round(w.probability, 4)        as probability,
    round(w.rise, 4)               as rise,
    w.above_cutoff,
    w.model_version,
    w.top_features
from temp.analyst_watchlist w
left join temp.analyst_household_keys hk on hk.household_id = w.household_id
