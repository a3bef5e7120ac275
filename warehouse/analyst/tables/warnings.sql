-- Warnings, pseudonymous: keys instead of ids, explanation with names and ids scrubbed,
-- evidence without raw record ids (see pipelines.analyst.scrub_json).
create table {{ target }}.warnings as
with raw_warnings as (
    select
        *,
        coalesce(nullif(family_id, ''), 'H' || nullif(hukou_no, '')) as derived_household_id,
        cast(evidence as varchar) as evidence_text
    from {{ source('mart', 'warnings') }}
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
    left join _an_warning_keys wk on wk.id = w.warning_id
    left join _an_household_keys hk on hk.household_id = w.derived_household_id
    left join _an_person_keys pk on pk.person_id = w.person_id
    left join _an_case_keys ck on ck.id = w.case_id
    left join _an_text tx on tx.raw = w.explanation
    left join _an_json js on js.raw = w.evidence_text
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
from keyed;

comment on table {{ target }}.warnings is '预警（假名化）One row per warning (a referral, never a decision). Names and ids are scrubbed from the explanation; evidence keeps the numbers, not the source record ids.';
comment on column {{ target }}.warnings.warning_key is '预警假名键 Pseudonymous warning key (HMAC of warning_id)';
comment on column {{ target }}.warnings.indicator_code is '指标代码 Indicator code (INC_DROP, EXP_MED, ...); see table indicators';
comment on column {{ target }}.warnings.severity is '严重程度 urgent / high / medium / low';
comment on column {{ target }}.warnings.period is '数据月份 Data month the warning was evaluated for (YYYY-MM)';
comment on column {{ target }}.warnings.household_key is '家庭假名键 Pseudonymous household key';
comment on column {{ target }}.warnings.person_key is '人员假名键 Pseudonymous key of the person concerned, when the indicator is about one person';
comment on column {{ target }}.warnings.county_code is '县级区划代码 County whose offices receive the case';
comment on column {{ target }}.warnings.departments is '承办部门 Department codes the warning is routed to (MCA, HRSS, NHSA, MOE, MOHURD, MEM, CDPF)';
comment on column {{ target }}.warnings.explanation is '预警说明（已脱敏）The caseworker explanation with names replaced by [姓名] and ids by pseudonymous keys or [证件号]';
comment on column {{ target }}.warnings.evidence is '证据（已脱敏）The numbers behind the warning (baseline, current value, thresholds) without raw record ids';
comment on column {{ target }}.warnings.case_key is '个案假名键 Pseudonymous key of the case the warning feeds';
comment on column {{ target }}.warnings.raised_at is '预警时间 Logical time of the nightly run that raised it (data time, not wall clock)';
