-- The rows of case_events (一户一条救助链), pseudonymous: the actor reduced to its kind or
-- department, detail JSON without names, handlers or raw ids. temp.analyst_case_keys is the build's
-- case key mapping; temp.analyst_clean_text / temp.analyst_clean_json the scrubbed texts.
with raw_events as (
    select *, cast(detail as varchar) as detail_text from mart.case_events
),
keyed as (
    select e.*, ck.key as case_key, js.clean as detail_clean, tx.clean as source_clean
    from raw_events e
    left join temp.analyst_case_keys ck on ck.id = e.case_id
    left join temp.analyst_clean_json js on js.raw = e.detail_text
    left join temp.analyst_clean_text tx on tx.raw = e.source
)
select
    case_key,
    seq,
    "at" as event_at,
    case
        when actor is null or trim(actor) = '' then null
        when regexp_matches(lower(actor), '^(system|pipeline|lowincome|cases|dispatch|feedback|escalat|nightly|auto)') then 'system'
        else coalesce(
            nullif(regexp_extract(upper(actor), '(MCA|HRSS|NHSA|MOE|MOHURD|MEM|CDPF|SAMR|MPS)', 1), ''),
            'staff')
    end as actor_kind,
    from_status,
    to_status,
    action,
    cast(detail_clean as json) as detail,
    source_clean as source
from keyed
