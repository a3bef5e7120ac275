-- assistance_kinds: the kinds of assistance of the chain (rows from models/departments.toml through pipelines.rules).
create table if not exists assistance_kinds (
    kind VARCHAR,
    name_zh VARCHAR,
    name_en VARCHAR,
    department VARCHAR,
    counts VARCHAR,
    sort_order INTEGER
);
comment on table assistance_kinds is '救助类别 Kinds of assistance a household can receive as the feeds show it (assistance_month.kind).';
comment on column assistance_kinds.kind is '类别代码 Kind code (dibao, tekun, roster_other, medical_aid, education_aid, emergency_aid, unemployment_benefit)';
comment on column assistance_kinds.name_zh is '中文名称 Chinese name';
comment on column assistance_kinds.name_en is 'English name';
comment on column assistance_kinds.department is '发放部门 Department that pays it';
comment on column assistance_kinds.counts is '计数单位 months (months paid) or times (settlements, terms, records)';
comment on column assistance_kinds.sort_order is '排序 Order in which extracts and reports list the kinds';
