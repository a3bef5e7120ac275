-- eligibility_watchlist: households to look at before they apply (rows: build/eligibility_watchlist.sql).
create table if not exists eligibility_watchlist (
    period VARCHAR,
    compared_with VARCHAR,
    household_key VARCHAR,
    county_code VARCHAR,
    city_code VARCHAR,
    urban_rural VARCHAR,
    size INTEGER,
    probability_before DOUBLE,
    probability DOUBLE,
    rise DOUBLE,
    above_cutoff BOOLEAN,
    model_version VARCHAR,
    top_features JSON
);
comment on table eligibility_watchlist is '关注名单（假名化）Households off the roster without an open case whose eligibility probability (the learned model) rose most over the last months, largest rise first (models/eligibility/model.toml [watchlist]). For analysts only: never sent to a department; a rise is a reason to look, not a finding.';
comment on column eligibility_watchlist.period is '数据月份 The newest data month the model scored (YYYY-MM)';
comment on column eligibility_watchlist.compared_with is '对比月份 The month the probability is compared with (YYYY-MM)';
comment on column eligibility_watchlist.household_key is '家庭假名键 Pseudonymous household key';
comment on column eligibility_watchlist.county_code is '县级区划代码 County code';
comment on column eligibility_watchlist.city_code is '地市代码 City code';
comment on column eligibility_watchlist.urban_rural is '城乡 urban / rural';
comment on column eligibility_watchlist.size is '家庭人口 Household size in the newest month';
comment on column eligibility_watchlist.probability_before is '此前估计 Probability in the compared month that an economic check would find the household below the line';
comment on column eligibility_watchlist.probability is '当前估计 Probability in the newest month';
comment on column eligibility_watchlist.rise is '上升幅度 probability - probability_before';
comment on column eligibility_watchlist.above_cutoff is '达到阈值 The probability reaches the cut-off of ELIG path (b)';
comment on column eligibility_watchlist.model_version is '模型版本 The eligibility model that scored the newest month';
comment on column eligibility_watchlist.top_features is '主要因素 The feature groups that moved the newest probability most (code, Chinese label, direction, change in probability, the group''s values); null below the cut-off';
