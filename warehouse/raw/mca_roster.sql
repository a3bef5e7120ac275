-- raw.mca_roster: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/mca_roster.py.
create table if not exists raw.mca_roster (
    snapshot_month VARCHAR,
    family_id VARCHAR,
    person_id VARCHAR,
    name VARCHAR,
    gender VARCHAR,
    birth_date VARCHAR,
    relation VARCHAR,
    region_code VARCHAR,
    urban_rural VARCHAR,
    category VARCHAR,
    enrolled_date VARCHAR,
    monthly_benefit_yuan VARCHAR,
    last_econ_check_date VARCHAR,
    last_home_visit_date VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
comment on table raw.mca_roster is 'Civil affairs low-income roster (民政 低收入人口数据库): monthly full snapshot, one row per person and family. Raw layer: values exactly as delivered (CSV), as text.';
comment on column raw.mca_roster.snapshot_month is 'Snapshot month YYYY-MM as written in the file. As delivered (text).';
comment on column raw.mca_roster.family_id is 'Civil affairs family id (家庭编号): F + 12-digit region code + 6-digit sequence; upper-cased, trimmed. As delivered (text).';
comment on column raw.mca_roster.person_id is '身份证号 (GB 11643), trimmed and upper-cased (x -> X). As delivered (text).';
comment on column raw.mca_roster.name is 'Chinese name (personal data: restricted). As delivered (text).';
comment on column raw.mca_roster.gender is 'M / F. As delivered (text).';
comment on column raw.mca_roster.birth_date is 'Date of birth. As delivered (text).';
comment on column raw.mca_roster.relation is 'Relation to the family head: head, spouse, child, parent, grandchild, sibling, other. As delivered (text).';
comment on column raw.mca_roster.region_code is '12-digit 统计用区划代码 of where the family lives (county = first 6). As delivered (text).';
comment on column raw.mca_roster.urban_rural is 'urban / rural: decides which standard applies. As delivered (text).';
comment on column raw.mca_roster.category is 'dibao (低保), tekun (特困), edge (低保边缘), expense_hardship (支出型困难), relapse_watch (防止返贫监测), other (其他困难). As delivered (text).';
comment on column raw.mca_roster.enrolled_date is 'Date the family was enrolled in its category. As delivered (text).';
comment on column raw.mca_roster.monthly_benefit_yuan is 'Monthly cash benefit in yuan (0 for categories without cash benefit). As delivered (text).';
comment on column raw.mca_roster.last_econ_check_date is 'Last information-based economic check (家庭经济状况信息化核对); null if none. As delivered (text).';
comment on column raw.mca_roster.last_home_visit_date is 'Last home visit (入户调查); null if none. As delivered (text).';
comment on column raw.mca_roster.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.mca_roster.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.mca_roster._file is 'File name inside the delivery folder.';
comment on column raw.mca_roster._row is '1-based data row number in that file (header excluded), for error reports.';
