-- indicators: the monitoring indicators (rows from models/indicators.toml through pipelines.rules).
create table if not exists indicators (
    indicator_code VARCHAR,
    name_zh VARCHAR,
    name_en VARCHAR,
    rule VARCHAR
);
comment on table indicators is '监测指标 The monitoring indicators: code, Chinese and English name, and the rule with the thresholds in force by default.';
comment on column indicators.indicator_code is '指标代码 Indicator code';
comment on column indicators.name_zh is '中文名称 Chinese name';
comment on column indicators.name_en is 'English name';
comment on column indicators.rule is '规则 When the indicator fires, with the default thresholds (a city may override some; see docs/indicators.md)';
