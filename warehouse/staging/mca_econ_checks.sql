-- staging.mca_econ_checks: typed, renamed, ids normalised. Built by pipelines/feeds/mca_econ_checks.py (staging_sql).
create table if not exists staging.mca_econ_checks (
    check_id VARCHAR,
    check_date DATE,
    reason VARCHAR,
    family_id VARCHAR,
    hukou_no VARCHAR,
    applicant_id VARCHAR,
    region_code VARCHAR,
    urban_rural VARCHAR,
    household_size INTEGER,
    income_basis VARCHAR,
    monthly_income_yuan DECIMAL(14,2),
    financial_assets_yuan DECIMAL(14,2),
    vehicles INTEGER,
    properties INTEGER,
    outcome VARCHAR,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.mca_econ_checks is 'Civil affairs economic check reports (民政 居民家庭经济状况核对报告): the checks completed in the month, with verified household income and assets (since 2026-01). Delivered as checks_<YYYYMM>.csv, the checks part of a two-file delivery (members: mca_econ_check_members), CSV UTF-8 with BOM. Typed staging layer (one partition per period).';
comment on column staging.mca_econ_checks.check_id is 'Check report id (核对报告编号), unique.';
comment on column staging.mca_econ_checks.check_date is 'Date the check was completed.';
comment on column staging.mca_econ_checks.reason is 'Why the household was checked: application (申请), review (复核, periodic review of the roster), referral (转介, a town''s referral).';
comment on column staging.mca_econ_checks.family_id is 'Civil affairs family id (家庭编号) for roster families, else null.';
comment on column staging.mca_econ_checks.hukou_no is '户号 of the household checked.';
comment on column staging.mca_econ_checks.applicant_id is '身份证号 of the applicant / head, trimmed and upper-cased.';
comment on column staging.mca_econ_checks.region_code is '12-digit region code (统计用区划代码), checked against the ref_regions version in force.';
comment on column staging.mca_econ_checks.urban_rural is 'urban / rural: which standard the outcome used.';
comment on column staging.mca_econ_checks.household_size is 'Members counted in the check (should equal the member rows in staging.mca_econ_check_members; a mismatch is a warning).';
comment on column staging.mca_econ_checks.income_basis is 'check_only: registered data only (wages, pensions, business and property income); assessed: plus the town''s home-visit assessment of farm, migrant and informal income, as the 低保 rules count it.';
comment on column staging.mca_econ_checks.monthly_income_yuan is 'Verified household income per month, all sources, assistance benefits excluded, yuan.';
comment on column staging.mca_econ_checks.financial_assets_yuan is 'Deposits + securities + insurance cash value, household total, yuan.';
comment on column staging.mca_econ_checks.vehicles is 'Cars and trucks registered to members.';
comment on column staging.mca_econ_checks.properties is 'Residential properties of members.';
comment on column staging.mca_econ_checks.outcome is 'Per-capita income against the local standard in force on check_date: below_dibao, below_edge, above_edge (assets do not enter it).';
comment on column staging.mca_econ_checks.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.mca_econ_checks.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.mca_econ_checks._file is 'File name inside the delivery folder.';
comment on column staging.mca_econ_checks._row is '1-based data row number in that file (header excluded), for error reports.';
