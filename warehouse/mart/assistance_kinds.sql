-- mart.assistance_kinds: the kinds of assistance of the household chain (一户一条救助链), rows from
-- models/departments.toml [assistance.*] (pipelines.rules.assistance_kind_rows, kept in step by
-- pipelines.warehouse.migrate).
create table if not exists mart.assistance_kinds (
    kind        varchar primary key,
    name_zh     varchar not null,
    name_en     varchar not null,
    department  varchar not null,
    feed_id     varchar not null,
    counts      varchar not null,
    sort_order  integer not null
);

comment on table mart.assistance_kinds is '救助类别 kinds of assistance a household can receive as the feeds show it (core.assistance_month.kind): names, paying department, source feed, and what the count counts.';
comment on column mart.assistance_kinds.kind is 'Kind code: dibao, tekun, roster_other, medical_aid, education_aid, emergency_aid, unemployment_benefit.';
comment on column mart.assistance_kinds.name_zh is '中文名称 (低保, 医疗救助, ...).';
comment on column mart.assistance_kinds.name_en is 'English name.';
comment on column mart.assistance_kinds.department is 'Department that pays it (MCA, NHSA, MOE, MEM, HRSS).';
comment on column mart.assistance_kinds.feed_id is 'Feed that shows it (mca_roster, nhsa_claims, moe_students, mem_disaster, hrss_employment).';
comment on column mart.assistance_kinds.counts is 'What core.assistance_month.payments counts: months (months paid) or times (settlements, students'' terms, disaster records).';
comment on column mart.assistance_kinds.sort_order is 'Order in which extracts and reports list the kinds.';
