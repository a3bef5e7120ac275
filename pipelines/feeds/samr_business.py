"""``samr_business`` — market regulation (市场监管): registrations/cancellations where a roster
person is the legal representative or an investor. Monthly changes. CSV, UTF-8."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, ident, iso_date, money, text

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("credit_code", "person_id", "role", "entity_type", "registered_capital_yuan", "status", "event_date")


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    return read_csv_strings(path, layout)


FIELDS = (
    Field("credit_code", "varchar", ident("credit_code")),
    Field("person_id", "varchar", ident("person_id")),
    Field("role", "varchar", f"lower({text('role')})"),
    Field("entity_type", "varchar", f"lower({text('entity_type')})"),
    Field("registered_capital_yuan", "decimal(14,2)", money("registered_capital_yuan"), "registered_capital_yuan"),
    Field("status", "varchar", f"lower({text('status')})"),
    Field("event_date", "date", iso_date("event_date"), "event_date"),
)

FEED = FeedSpec(
    feed_id="samr_business", department="SAMR", cadence="monthly", kind="events", partition="period",
    period_column="event_date",
    read_raw=read_raw, title="市场主体", file_format="csv", raw_columns=RAW_COLUMNS, fields=FIELDS,
)
