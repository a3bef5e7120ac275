-- warning_statistics: 民政统计, the warehouse's mart.warning_statistics as of the build (rows:
-- build/warning_statistics.sql).
create table if not exists warning_statistics (
    period VARCHAR,
    level VARCHAR,
    indicator_code VARCHAR,
    department VARCHAR,
    warnings BIGINT,
    households BIGINT,
    cases_opened BIGINT
);
comment on table warning_statistics is '民政统计 预警 Warnings and the cases they opened per data month by indicator x department, with indicator, department and month totals (level). A warning routed to two departments counts in both department rows and once in the totals.';
comment on column warning_statistics.period is '数据月份 Data month of the warnings';
comment on column warning_statistics.level is '层级 indicator_department, indicator, department or total';
comment on column warning_statistics.indicator_code is '指标代码 Indicator code or all';
comment on column warning_statistics.department is '部门 Department routed to, or all';
comment on column warning_statistics.warnings is '预警数 Warnings';
comment on column warning_statistics.households is '涉及户数 Distinct households warned';
comment on column warning_statistics.cases_opened is '立案数 Cases a warning of the month opened';
