-- core.household_oop_month: medical out-of-pocket cost per household and settlement month.
create table if not exists core.household_oop_month (
    period VARCHAR NOT NULL,
    household_id VARCHAR NOT NULL,
    oop_yuan DECIMAL(18,2) NOT NULL,
    gross_oop_yuan DECIMAL(18,2),
    reversal_oop_yuan DECIMAL(18,2),
    settlements INTEGER,
    catastrophic BOOLEAN,
    settle_ids VARCHAR[],
    reversal_ids VARCHAR[],
    delivery_ids VARCHAR[]
);
comment on table core.household_oop_month is 'Out-of-pocket medical cost (医保结算 oop) per household, by the month of settle_date, net of reversals: a reversal (冲销) counts in the month it is dated, so a claim and its reversal in the same window cancel. Patients are assigned to their household of that month. Only households with a settlement appear (no row = 0).';
comment on column core.household_oop_month.period is 'Settlement month YYYY-MM.';
comment on column core.household_oop_month.household_id is 'Household of the patient in that month (core.person_month).';
comment on column core.household_oop_month.oop_yuan is 'Net out-of-pocket cost in yuan (settlements + reversals).';
comment on column core.household_oop_month.gross_oop_yuan is 'Out-of-pocket of the settlements alone (reversals excluded).';
comment on column core.household_oop_month.reversal_oop_yuan is 'Sum of the reversals dated in the month (negative or 0).';
comment on column core.household_oop_month.settlements is 'Number of settlement rows (reversals included).';
comment on column core.household_oop_month.catastrophic is 'A settlement of the month that is not reversed has a diagnosis on the 重特大疾病 list.';
comment on column core.household_oop_month.settle_ids is 'Settlements of the month that are not reversed, largest out-of-pocket first (evidence).';
comment on column core.household_oop_month.reversal_ids is 'settle_ids of the reversal rows dated in the month.';
comment on column core.household_oop_month.delivery_ids is 'nhsa_claims deliveries the rows came from.';
