-- The rows of warnings: keys instead of ids, the explanation with names and ids scrubbed, evidence
-- without raw record ids. temp.analyst_*_keys are the build's key mappings; temp.analyst_clean_text
-- and temp.analyst_clean_json map each raw text / JSON to its scrubbed form (pipelines.analyst.scrub).
with raw_warnings as (
    select
        *,
        coalesce(nullif(household_id, ''), nullif(family_id, ''), 'H' || nullif(hukou_no, '')) as derived_household_id,
        cast(evidence as varchar) as evidence_text
    from mart.warnings
),
keyed as (
    select
        w.*,
        wk.key as warning_key,
        hk.household_key,
        pk.person_key,
        ck.key as case_key,
        tx.clean as explanation_clean,
        js.clean as evidence_clean
    from raw_warnings w
    left join temp.analyst_warning_keys wk on wk.id = w.warning_id
    left join temp.analyst_household_keys hk on hk.household_id = w.derived_household_id
    left join temp.analyst_person_keys pk on pk.person_id = w.person_id
    left join temp.analyst_case_keys ck on ck.id = w.case_id
    left join temp.analyst_clean_text tx on tx.raw = w.explanation
    left join temp.analyst_clean_json js on js.raw = w.evidence_text
)
select
    warning_key,
    indicator_code,
    severity,
    period,
    household_key,
    person_key,
    county_code,
    departments,
    explanation_clean as explanation,
    cast(evidence_clean as json) as evidence,
    case_key,
    raised_at
from keyed
