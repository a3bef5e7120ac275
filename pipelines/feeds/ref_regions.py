"""``ref_regions`` — region codes (统计用区划代码) from civil affairs, versioned by the month from
which they apply (the delivery's ``period``). CSV, UTF-8."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, text

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("region_code", "name", "level", "parent_code")


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    return read_csv_strings(path, layout)


FIELDS = (
    Field("region_code", "varchar", text("region_code")),
    Field("name", "varchar", text("name")),
    Field("level", "varchar", f"lower({text('level')})"),
    Field("parent_code", "varchar", text("parent_code")),
)

FEED = FeedSpec(
    feed_id="ref_regions", department="MCA", cadence="reference", kind="snapshot", partition="period",
    read_raw=read_raw, title="行政区划", file_format="csv", raw_columns=RAW_COLUMNS, fields=FIELDS,
    id_columns=(),
)
