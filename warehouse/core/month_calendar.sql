-- core.month_calendar: the data months the warehouse knows, with an index for month-offset joins.
create table if not exists core.month_calendar (
    period VARCHAR NOT NULL,
    month_idx INTEGER NOT NULL,
    month_start DATE NOT NULL,
    month_end DATE NOT NULL,
    year INTEGER NOT NULL,
    month INTEGER NOT NULL
);
comment on table core.month_calendar is 'Data months (YYYY-MM) known to the warehouse: every month of ops.completeness plus any month present in the roster, hukou-member or HRSS staging. Rebuilt on every core build.';
comment on column core.month_calendar.period is 'Data month YYYY-MM.';
comment on column core.month_calendar.month_idx is 'year * 12 + month - 1: months M-k are month_idx - k (trailing windows join on this).';
comment on column core.month_calendar.month_start is 'First day of the month.';
comment on column core.month_calendar.month_end is 'Last day of the month: indicators are evaluated as of this day (data time).';
comment on column core.month_calendar.year is 'Calendar year of the month (selects the 低保 standard year).';
comment on column core.month_calendar.month is 'Month number 1..12.';
