-- Persons by data month, pseudonymous: keys instead of 身份证号 / family_id / hukou_no,
-- age at the month's end instead of the birth date, town (9 digits) instead of village code.
-- Rendered by pipelines.analyst: {{ source(...) }} is the restricted warehouse (read-only),
-- {{ target }} the analyst database being built, _an_* the key mappings computed in Python.
create table {{ target }}.person_month as
with persons as (
    select * from {{ source('core', 'person_month') }}
),
dated as (
    -- hukou members carry no birth date: fall back to the one inside the 身份证号 (digits 7-14)
    select
        *,
        last_day(cast(period || '-01' as date)) as month_end,
        coalesce(birth_date, cast(try_strptime(substr(person_id, 7, 8), '%Y%m%d') as date)) as born
    from persons
),
keyed as (
    select d.*, pk.person_key, hk.household_key
    from dated d
    left join _an_person_keys pk on pk.person_id = d.person_id
    left join _an_household_keys hk on hk.household_id = d.household_id
)
select
    period,
    person_key,
    household_key,
    on_roster,
    category,
    county_code,
    left(region_code, 9) as town_code,
    city_code,
    urban_rural,
    relation,
    case when born <= month_end then date_sub('year', born, month_end) end::integer as age
from keyed;

comment on table {{ target }}.person_month is '每月人员（假名化）Persons by data month: roster persons by the roster snapshot, everyone else by the hukou members of that month. No 身份证号, names or birth dates.';
comment on column {{ target }}.person_month.period is '数据月份 Data month YYYY-MM';
comment on column {{ target }}.person_month.person_key is '人员假名键 Pseudonymous person key (keyed HMAC-SHA256 of the 身份证号; stable while the key is unchanged)';
comment on column {{ target }}.person_month.household_key is '家庭假名键 Pseudonymous household key (HMAC of family_id for roster families, of H||hukou_no otherwise)';
comment on column {{ target }}.person_month.on_roster is '是否在册 True if the person is on the low-income roster that month';
comment on column {{ target }}.person_month.category is '救助类别 Roster category (dibao, tekun, edge, expense_hardship, ...); null off the roster';
comment on column {{ target }}.person_month.county_code is '县级区划代码 County code (first 6 digits of the region code)';
comment on column {{ target }}.person_month.town_code is '乡镇级区划代码 Town code (first 9 digits of the region code); village digits dropped';
comment on column {{ target }}.person_month.city_code is '地市代码 City code (first 4 digits)';
comment on column {{ target }}.person_month.urban_rural is '城乡 urban / rural';
comment on column {{ target }}.person_month.relation is '与户主关系 Relation to the household head';
comment on column {{ target }}.person_month.age is '年龄 Age in whole years at the end of the data month (from the birth date, else the one in the 身份证号; the date itself is not kept)';
