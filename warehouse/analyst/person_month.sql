-- person_month: persons by data month, pseudonymous (rows: build/person_month.sql).
create table if not exists person_month (
    period VARCHAR,
    person_key VARCHAR,
    household_key VARCHAR,
    on_roster BOOLEAN,
    category VARCHAR,
    county_code VARCHAR,
    town_code VARCHAR,
    city_code VARCHAR,
    urban_rural VARCHAR,
    relation VARCHAR,
    age INTEGER
);
comment on table person_month is '每月人员（假名化）Persons by data month: roster persons by the roster snapshot, everyone else by the hukou members of that month. No 身份证号, names or birth dates.';
comment on column person_month.period is '数据月份 Data month YYYY-MM';
comment on column person_month.person_key is '人员假名键 Pseudonymous person key (keyed HMAC-SHA256 of the 身份证号; stable while the key is unchanged)';
comment on column person_month.household_key is '家庭假名键 Pseudonymous household key (HMAC of family_id for roster families, of H||hukou_no otherwise)';
comment on column person_month.on_roster is '是否在册 True if the person is on the low-income roster that month';
comment on column person_month.category is '救助类别 Roster category (dibao, tekun, edge, expense_hardship, ...); null off the roster';
comment on column person_month.county_code is '县级区划代码 County code (first 6 digits of the region code)';
comment on column person_month.town_code is '乡镇级区划代码 Town code (first 9 digits of the region code); village digits dropped';
comment on column person_month.city_code is '地市代码 City code (first 4 digits)';
comment on column person_month.urban_rural is '城乡 urban / rural';
comment on column person_month.relation is '与户主关系 Relation to the household head';
comment on column person_month.age is '年龄 Age in whole years at the end of the data month (from the birth date, else the one in the 身份证号; the date itself is not kept)';
