-- core.hardship_signal: dated hardship signals per household (困难信号), one row per signal and source record.
create table if not exists core.hardship_signal (
    period VARCHAR NOT NULL,
    household_id VARCHAR NOT NULL,
    signal_date DATE NOT NULL,
    kind VARCHAR NOT NULL,
    person_id VARCHAR,
    detail JSON
);
comment on table core.hardship_signal is 'Dated hardship signals (困难信号), one row per household, signal and source record, partitioned by the month of the signal date (period). Kinds: catastrophic_settlement (a live 重特大疾病 settlement, its settle_date), medical_oop_3m (net out-of-pocket of M-2..M >= household size x 低保 standard, dated by the latest live settlement of M), severe_disability_first_certificate (a member''s first valid grade 1/2 certificate, issued_on; a renewal of one the person already held is not new), death_working_age (death of a member aged 16-59, event_date; the household of M-1), became_unemployed (a member registered unemployed after another status or no record in M-1, dated the first of M), disaster_house_damage (a disaster record in force with the house collapsed or severely damaged, occurred_on), grid_finding (a field visit with a finding other than no_change/new_member, visit_date), relapse_listing (a relapse-watch listing not eliminated, identified_on). The income rules (ELIG path b), TEKUN_CANDIDATE and RELAPSE_RISK read the signals of the months M-5..M.';
comment on column core.hardship_signal.period is 'Month YYYY-MM of signal_date (the core month that built the row).';
comment on column core.hardship_signal.household_id is 'Household of the signal in that month (family_id for roster families, H || hukou_no otherwise; for a death, the deceased''s household of the month before).';
comment on column core.hardship_signal.signal_date is 'Date of the signal (settlement, certificate, death, visit, disaster, identification date; the first day of the month for a new unemployment registration).';
comment on column core.hardship_signal.kind is 'catastrophic_settlement, medical_oop_3m, severe_disability_first_certificate, death_working_age, became_unemployed, disaster_house_damage, grid_finding, relapse_listing.';
comment on column core.hardship_signal.person_id is '身份证号 of the member the signal concerns; null when it concerns the household (medical_oop_3m, relapse_listing, a visit without a person).';
comment on column core.hardship_signal.detail is 'The numbers and source record ids behind the signal (JSON; e.g. settle_id and oop_yuan, grade, age, previous_status, disaster_id and house_damage, visit_id and findings, watch_id and risk_types).';
