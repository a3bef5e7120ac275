"""``mps_vehicles`` — public security, vehicle registrations (公安交管): new registrations and transfers
for roster persons. Monthly. CSV, UTF-8."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, ident, iso_date, text

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("person_id", "vehicle_class", "first_registered", "event", "event_date")


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    return read_csv_strings(path, layout)


FIELDS = (
    Field("person_id", "varchar", ident("person_id")),
    Field("vehicle_class", "varchar", f"lower({text('vehicle_class')})"),
    Field("first_registered", "date", iso_date("first_registered"), "first_registered"),
    Field("event", "varchar", f"lower({text('event')})"),
    Field("event_date", "date", iso_date("event_date"), "event_date"),
)

FEED = FeedSpec(
    feed_id="mps_vehicles", department="MPS", cadence="monthly", kind="events", partition="period",
    period_column="event_date",
    read_raw=read_raw, title="机动车登记", file_format="csv", raw_columns=RAW_COLUMNS, fields=FIELDS,
)
