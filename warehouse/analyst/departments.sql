-- departments: department codes and names (rows from models/departments.toml through pipelines.rules).
create table if not exists departments (
    department VARCHAR,
    name_zh VARCHAR,
    name_en VARCHAR
);
comment on table departments is '部门 Department codes and names.';
comment on column departments.department is '部门代码 Department code';
comment on column departments.name_zh is '中文名称 Chinese name';
comment on column departments.name_en is 'English name';
