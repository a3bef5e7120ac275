-- household_month: households by data month, pseudonymous (rows: build/household_month.sql).
create table if not exists household_month (
    period VARCHAR,
    household_key VARCHAR,
    on_roster BOOLEAN,
    category VARCHAR,
    county_code VARCHAR,
    city_code VARCHAR,
    urban_rural VARCHAR,
    size INTEGER,
    head_person_key VARCHAR,
    income_yuan DECIMAL(18,2),
    income_known BOOLEAN,
    oop_yuan DECIMAL(18,2),
    edu_cost_yuan DECIMAL(18,2),
    dibao_std_yuan DECIMAL(14,2),
    tekun_std_yuan DECIMAL(14,2)
);
comment on table household_month is '每月家庭（假名化）Households by data month with income, spending and the applicable standards. Income is per household (sum over members).';
comment on column household_month.period is '数据月份 Data month YYYY-MM';
comment on column household_month.household_key is '家庭假名键 Pseudonymous household key';
comment on column household_month.on_roster is '是否在册 True for roster families';
comment on column household_month.category is '救助类别 Roster category of the family; null off the roster';
comment on column household_month.county_code is '县级区划代码 County code';
comment on column household_month.city_code is '地市代码 City code';
comment on column household_month.urban_rural is '城乡 urban / rural';
comment on column household_month.size is '家庭人口 Household size that month';
comment on column household_month.head_person_key is '户主假名键 Pseudonymous key of the household head';
comment on column household_month.income_yuan is '家庭月收入（元）Household income of the month: contribution bases + unemployment benefit + pension';
comment on column household_month.income_known is '收入是否已知 False when the HRSS delivery for the month is missing or rejected (never read as zero income)';
comment on column household_month.oop_yuan is '医疗自付（元）Out-of-pocket medical cost of the month, net of reversals';
comment on column household_month.edu_cost_yuan is '教育支出（元）Education cost (tuition + boarding - aid) attributed to the month';
comment on column household_month.dibao_std_yuan is '低保标准（元/人·月）Applicable 低保 standard per person per month';
comment on column household_month.tekun_std_yuan is '特困标准（元/人·月）Applicable 特困 basic-living standard per person per month';
