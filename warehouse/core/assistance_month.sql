-- core.assistance_month: the assistance each household received in each data month, as the feeds
-- show it (一户一条救助链): one row per household, month and kind of assistance.
create table if not exists core.assistance_month (
    period VARCHAR NOT NULL,
    household_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    department VARCHAR NOT NULL,
    feed_id VARCHAR NOT NULL,
    payments INTEGER NOT NULL,
    amount_yuan DECIMAL(18,2) NOT NULL,
    persons INTEGER NOT NULL,
    source_ids VARCHAR[],
    delivery_ids VARCHAR[]
);
comment on table core.assistance_month is '一户一条救助链 assistance per household and data month, one row per kind (mart.assistance_kinds): roster benefit (dibao, tekun, roster_other: the month''s roster rows), medical_aid (nhsa_claims.medical_aid_yuan by settlement month, net of reversals), education_aid (moe_students.aid_yuan of the term, in the term''s first month), emergency_aid (staging.mem_disaster_current.emergency_aid_yuan of the month the record counts for), unemployment_benefit (hrss_employment). Households as in core.person_month of the month. A kind without any amount that month has no row.';
comment on column core.assistance_month.period is 'Data month YYYY-MM.';
comment on column core.assistance_month.household_id is 'family_id for roster families, H || hukou_no otherwise (core.person_month).';
comment on column core.assistance_month.kind is 'Kind of assistance (mart.assistance_kinds.kind).';
comment on column core.assistance_month.department is 'Department that pays it (MCA, NHSA, MOE, MEM, HRSS).';
comment on column core.assistance_month.feed_id is 'Feed the amounts come from.';
comment on column core.assistance_month.payments is 'months kinds (dibao, tekun, roster_other, unemployment_benefit): 1, the month was paid; times kinds: medical_aid settlements with aid that were not reversed, education_aid students with aid in the term, emergency_aid disaster records with aid.';
comment on column core.assistance_month.amount_yuan is 'Yuan received in the month: the members'' roster benefits; medical aid net of reversals dated in the month (a reversal dated in a later month counts there, negative); the term''s student aid; the disaster records'' emergency aid; the members'' unemployment benefit.';
comment on column core.assistance_month.persons is 'Members the amounts are about.';
comment on column core.assistance_month.source_ids is 'Record ids behind the amounts: settle_ids (medical_aid, reversals included), disaster_ids (emergency_aid), terms (education_aid); null for months kinds.';
comment on column core.assistance_month.delivery_ids is 'Deliveries the amounts come from (ops.deliveries.delivery_id).';
