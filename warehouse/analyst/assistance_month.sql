-- assistance_month: 一户一条救助链, the assistance each household received per data month and kind,
-- pseudonymous (rows: build/assistance_month.sql).
create table if not exists assistance_month (
    period VARCHAR,
    household_key VARCHAR,
    kind VARCHAR,
    department VARCHAR,
    payments INTEGER,
    amount_yuan DECIMAL(18,2),
    persons INTEGER
);
comment on table assistance_month is '每月救助（假名化）一户一条救助链: per household, data month and kind, the assistance the feeds show it received (roster benefit, medical aid net of reversals, the term''s student aid in its first month, disaster emergency aid, unemployment benefit). Kinds and names: assistance_kinds.';
comment on column assistance_month.period is '数据月份 Data month YYYY-MM';
comment on column assistance_month.household_key is '家庭假名键 Pseudonymous household key';
comment on column assistance_month.kind is '救助类别 Kind of assistance (assistance_kinds.kind)';
comment on column assistance_month.department is '发放部门 Department that pays it';
comment on column assistance_month.payments is '月数或次数 Months paid (roster benefits, unemployment benefit: 1) or times (medical aid settlements, students, disaster records)';
comment on column assistance_month.amount_yuan is '金额（元）Yuan received in the month';
comment on column assistance_month.persons is '涉及人数 Members the amounts are about';
