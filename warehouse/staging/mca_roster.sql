-- staging.mca_roster: typed, renamed, ids normalised. Built by pipelines/feeds/mca_roster.py (staging_sql).
create table if not exists staging.mca_roster (
    snapshot_month VARCHAR,
    family_id VARCHAR,
    person_id VARCHAR,
    name VARCHAR,
    gender VARCHAR,
    birth_date DATE,
    relation VARCHAR,
    region_code VARCHAR,
    urban_rural VARCHAR,
    category VARCHAR,
    enrolled_date DATE,
    monthly_benefit_yuan DECIMAL(14,2),
    last_econ_check_date DATE,
    last_home_visit_date DATE,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.mca_roster is 'Civil affairs low-income roster (民政 低收入人口数据库): monthly full snapshot, one row per person and family. Typed staging layer (one partition per period).';
comment on column staging.mca_roster.snapshot_month is 'Snapshot month YYYY-MM as written in the file.';
comment on column staging.mca_roster.family_id is 'Civil affairs family id (家庭编号): F + 12-digit region code + 6-digit sequence; upper-cased, trimmed.';
comment on column staging.mca_roster.person_id is '身份证号 (GB 11643), trimmed and upper-cased (x -> X).';
comment on column staging.mca_roster.name is 'Chinese name (personal data: restricted).';
comment on column staging.mca_roster.gender is 'M / F.';
comment on column staging.mca_roster.birth_date is 'Date of birth.';
comment on column staging.mca_roster.relation is 'Relation to the family head: head, spouse, child, parent, grandchild, sibling, other.';
comment on column staging.mca_roster.region_code is '12-digit 统计用区划代码 of where the family lives (county = first 6).';
comment on column staging.mca_roster.urban_rural is 'urban / rural: decides which standard applies.';
comment on column staging.mca_roster.category is 'dibao (低保), tekun (特困), edge (低保边缘), expense_hardship (支出型困难), relapse_watch (防止返贫监测), other (其他困难).';
comment on column staging.mca_roster.enrolled_date is 'Date the family was enrolled in its category.';
comment on column staging.mca_roster.monthly_benefit_yuan is 'Monthly cash benefit in yuan (0 for categories without cash benefit).';
comment on column staging.mca_roster.last_econ_check_date is 'Last information-based economic check (家庭经济状况信息化核对); null if none.';
comment on column staging.mca_roster.last_home_visit_date is 'Last home visit (入户调查); null if none.';
comment on column staging.mca_roster.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.mca_roster.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.mca_roster._file is 'File name inside the delivery folder.';
comment on column staging.mca_roster._row is '1-based data row number in that file (header excluded), for error reports.';
