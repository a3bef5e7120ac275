"""``mps_hukou_members`` — public security: every member of every hukou household with at least one
member in any feed this month (how non-roster persons are grouped into households).

Monthly extract. CSV, UTF-8; ``as_of`` is a ``YYYYMMDD`` string."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, ident, text, ymd_date

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("person_id", "hukou_no", "region_code", "as_of")


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    return read_csv_strings(path, layout)


FIELDS = (
    Field("person_id", "varchar", ident("person_id")),
    Field("hukou_no", "varchar", text("hukou_no")),
    Field("region_code", "varchar", text("region_code")),
    Field("as_of", "date", ymd_date("as_of"), "as_of"),
)

FEED = FeedSpec(
    feed_id="mps_hukou_members", department="MPS", cadence="monthly", kind="snapshot", partition="period",
    period_column="as_of",
    read_raw=read_raw, title="户籍成员", file_format="csv", raw_columns=RAW_COLUMNS, fields=FIELDS,
    region_column="region_code",
)
