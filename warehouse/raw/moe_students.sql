-- raw.moe_students: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/moe_students.py.
create table if not exists raw.moe_students (
    term VARCHAR,
    person_id VARCHAR,
    stage VARCHAR,
    tuition_yuan VARCHAR,
    boarding_yuan VARCHAR,
    aid_yuan VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
comment on table raw.moe_students is 'Education (教育): per term, students of roster families and every student who applied for aid. period = first month of the term. Raw layer: values exactly as delivered (CSV), as text.';
comment on column raw.moe_students.term is 'YYYY-1 (spring) / YYYY-2 (autumn). As delivered (text).';
comment on column raw.moe_students.person_id is '身份证号 of the student, trimmed and upper-cased. As delivered (text).';
comment on column raw.moe_students.stage is 'preschool, primary, junior, senior, vocational, college, graduate. As delivered (text).';
comment on column raw.moe_students.tuition_yuan is 'Tuition per term after waivers, yuan. As delivered (text).';
comment on column raw.moe_students.boarding_yuan is 'Boarding cost per term, yuan. As delivered (text).';
comment on column raw.moe_students.aid_yuan is 'Aid already granted this term, yuan. As delivered (text).';
comment on column raw.moe_students.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.moe_students.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.moe_students._file is 'File name inside the delivery folder.';
comment on column raw.moe_students._row is '1-based data row number in that file (header excluded), for error reports.';
