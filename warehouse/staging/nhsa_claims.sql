-- staging.nhsa_claims: typed, renamed, ids normalised. Built by pipelines/feeds/nhsa_claims.py (staging_sql).
create table if not exists staging.nhsa_claims (
    settle_id VARCHAR,
    person_id VARCHAR,
    settle_date DATE,
    visit_type VARCHAR,
    catastrophic BOOLEAN,
    total_yuan DECIMAL(14,2),
    fund_yuan DECIMAL(14,2),
    critical_illness_yuan DECIMAL(14,2),
    medical_aid_yuan DECIMAL(14,2),
    oop_yuan DECIMAL(14,2),
    reversal_of VARCHAR,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.nhsa_claims is 'Medical insurance settlements (医保结算): one row per settlement; roster persons plus residents over the catastrophic-illness reporting line. Delivered as Parquet with amounts in fen. Typed staging layer (one partition per period).';
comment on column staging.nhsa_claims.settle_id is 'Settlement id, unique per settlement.';
comment on column staging.nhsa_claims.person_id is '身份证号 of the patient, trimmed and upper-cased.';
comment on column staging.nhsa_claims.settle_date is 'Settlement date (a reversal counts in the month it is dated).';
comment on column staging.nhsa_claims.visit_type is 'outpatient (门诊), inpatient (住院), chronic_special (门诊特定病种).';
comment on column staging.nhsa_claims.catastrophic is 'Diagnosis on the 重特大疾病 list.';
comment on column staging.nhsa_claims.total_yuan is 'Total cost in yuan (delivered as total_fen / 100).';
comment on column staging.nhsa_claims.fund_yuan is 'Paid by basic medical insurance, yuan (fund_fen / 100).';
comment on column staging.nhsa_claims.critical_illness_yuan is 'Paid by 大病保险, yuan (critical_illness_fen / 100).';
comment on column staging.nhsa_claims.medical_aid_yuan is 'Paid by 医疗救助, yuan (medical_aid_fen / 100).';
comment on column staging.nhsa_claims.oop_yuan is 'Out of pocket = total - the three payers, yuan (oop_fen / 100).';
comment on column staging.nhsa_claims.reversal_of is 'For a reversal (冲销): the settle_id it cancels (amounts are then negative); else null.';
comment on column staging.nhsa_claims.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.nhsa_claims.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.nhsa_claims._file is 'File name inside the delivery folder.';
comment on column staging.nhsa_claims._row is '1-based data row number in that file (header excluded), for error reports.';
