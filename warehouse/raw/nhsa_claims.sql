-- raw.nhsa_claims: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/nhsa_claims.py.
create table if not exists raw.nhsa_claims (
    settle_id VARCHAR,
    person_id VARCHAR,
    settle_date VARCHAR,
    visit_type VARCHAR,
    catastrophic VARCHAR,
    total_fen VARCHAR,
    fund_fen VARCHAR,
    critical_illness_fen VARCHAR,
    medical_aid_fen VARCHAR,
    oop_fen VARCHAR,
    reversal_of VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
comment on table raw.nhsa_claims is 'Medical insurance settlements (医保结算): one row per settlement; roster persons plus residents over the catastrophic-illness reporting line. Delivered as Parquet with amounts in fen. Raw layer: values exactly as delivered (Parquet), as text.';
comment on column raw.nhsa_claims.settle_id is 'Settlement id, unique per settlement. As delivered (text).';
comment on column raw.nhsa_claims.person_id is '身份证号 of the patient, trimmed and upper-cased. As delivered (text).';
comment on column raw.nhsa_claims.settle_date is 'Settlement date (a reversal counts in the month it is dated). As delivered (text).';
comment on column raw.nhsa_claims.visit_type is 'outpatient (门诊), inpatient (住院), chronic_special (门诊特定病种). As delivered (text).';
comment on column raw.nhsa_claims.catastrophic is 'Diagnosis on the 重特大疾病 list. As delivered (text).';
comment on column raw.nhsa_claims.total_fen is 'total in fen (1 yuan = 100 fen) as delivered, rendered as text.';
comment on column raw.nhsa_claims.fund_fen is 'fund in fen (1 yuan = 100 fen) as delivered, rendered as text.';
comment on column raw.nhsa_claims.critical_illness_fen is 'critical_illness in fen (1 yuan = 100 fen) as delivered, rendered as text.';
comment on column raw.nhsa_claims.medical_aid_fen is 'medical_aid in fen (1 yuan = 100 fen) as delivered, rendered as text.';
comment on column raw.nhsa_claims.oop_fen is 'oop in fen (1 yuan = 100 fen) as delivered, rendered as text.';
comment on column raw.nhsa_claims.reversal_of is 'For a reversal (冲销): the settle_id it cancels (amounts are then negative); else null. As delivered (text).';
comment on column raw.nhsa_claims.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.nhsa_claims.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.nhsa_claims._file is 'File name inside the delivery folder.';
comment on column raw.nhsa_claims._row is '1-based data row number in that file (header excluded), for error reports.';
