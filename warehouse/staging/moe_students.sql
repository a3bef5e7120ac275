-- staging.moe_students: typed, renamed, ids normalised. Built by pipelines/feeds/moe_students.py (staging_sql).
create table if not exists staging.moe_students (
    term VARCHAR,
    person_id VARCHAR,
    stage VARCHAR,
    tuition_yuan DECIMAL(14,2),
    boarding_yuan DECIMAL(14,2),
    aid_yuan DECIMAL(14,2),
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.moe_students is 'Education (教育): per term, students of roster families and every student who applied for aid. period = first month of the term. Typed staging layer (one partition per period).';
comment on column staging.moe_students.term is 'YYYY-1 (spring) / YYYY-2 (autumn).';
comment on column staging.moe_students.person_id is '身份证号 of the student, trimmed and upper-cased.';
comment on column staging.moe_students.stage is 'preschool, primary, junior, senior, vocational, college, graduate.';
comment on column staging.moe_students.tuition_yuan is 'Tuition per term after waivers, yuan.';
comment on column staging.moe_students.boarding_yuan is 'Boarding cost per term, yuan.';
comment on column staging.moe_students.aid_yuan is 'Aid already granted this term, yuan.';
comment on column staging.moe_students.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.moe_students.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.moe_students._file is 'File name inside the delivery folder.';
comment on column staging.moe_students._row is '1-based data row number in that file (header excluded), for error reports.';
