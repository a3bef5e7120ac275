-- core.student_term: one row per student and term, with the household and the previous term's stage.
create table if not exists core.student_term (
    period VARCHAR NOT NULL,
    term VARCHAR,
    person_id VARCHAR NOT NULL,
    household_id VARCHAR,
    stage VARCHAR,
    previous_stage VARCHAR,
    previous_term_known BOOLEAN NOT NULL,
    tuition_yuan DECIMAL(14,2),
    boarding_yuan DECIMAL(14,2),
    aid_yuan DECIMAL(14,2),
    cost_yuan DECIMAL(14,2) NOT NULL,
    delivery_id VARCHAR
);
comment on table core.student_term is 'Students per term (moe_students), keyed by the term''s first month (period: spring YYYY-03, autumn YYYY-09), with their household in that month and their stage in the previous term (period - 6 months).';
comment on column core.student_term.period is 'First month of the term YYYY-MM (the moe delivery''s period).';
comment on column core.student_term.term is 'YYYY-1 (spring) / YYYY-2 (autumn).';
comment on column core.student_term.person_id is '身份证号 of the student.';
comment on column core.student_term.household_id is 'Household of the student in the term''s first month; null when the student is in no known household.';
comment on column core.student_term.stage is 'preschool, primary, junior, senior, vocational, college, graduate.';
comment on column core.student_term.previous_stage is 'Stage in the previous term''s delivery; null when the student was not in it.';
comment on column core.student_term.previous_term_known is 'true when the previous term (period - 6 months) has a moe delivery, so a start of a new stage can be told.';
comment on column core.student_term.tuition_yuan is 'Tuition per term after waivers.';
comment on column core.student_term.boarding_yuan is 'Boarding cost per term.';
comment on column core.student_term.aid_yuan is 'Aid already granted this term.';
comment on column core.student_term.cost_yuan is 'greatest(0, tuition + boarding - aid): what the family pays (aid above one student''s cost does not offset a sibling''s).';
comment on column core.student_term.delivery_id is 'moe_students delivery of the row.';
