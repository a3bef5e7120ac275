"""``mps_hukou_events`` — public security, household registration events (公安户籍).

Monthly events for all residents. CSV, UTF-8; ``event_date`` is a ``YYYYMMDD`` string."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, ident, text, ymd_date

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("event_id", "person_id", "hukou_no", "event_type", "event_date", "region_code")


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    return read_csv_strings(path, layout)


FIELDS = (
    Field("event_id", "varchar", text("event_id")),
    Field("person_id", "varchar", ident("person_id")),
    Field("hukou_no", "varchar", text("hukou_no")),
    Field("event_type", "varchar", f"lower({text('event_type')})"),
    Field("event_date", "date", ymd_date("event_date"), "event_date"),
    Field("region_code", "varchar", text("region_code")),
)

FEED = FeedSpec(
    feed_id="mps_hukou_events", department="MPS", cadence="monthly", kind="events", partition="period",
    period_column="event_date",
    read_raw=read_raw, title="户籍变动", file_format="csv", raw_columns=RAW_COLUMNS, fields=FIELDS,
    region_column="region_code",
)
