"""``mohurd_housing`` — housing & urban-rural development (住建): properties, public rental, house safety.

Quarterly snapshot for roster persons. CSV, UTF-8. ``public_rental`` is written ``true``/``false``,
``True``/``False`` or ``1``/``0`` depending on the export.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, boolean, ident, integer, iso_date, money, text

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("as_of", "person_id", "property_count", "property_area_m2", "public_rental", "dilapidated_level")


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    return read_csv_strings(path, layout)


FIELDS = (
    Field("as_of", "date", iso_date("as_of"), "as_of"),
    Field("person_id", "varchar", ident("person_id")),
    Field("property_count", "integer", integer("property_count"), "property_count"),
    Field("property_area_m2", "decimal(10,2)", money("property_area_m2", "decimal(10,2)"), "property_area_m2"),
    Field("public_rental", "boolean", boolean("public_rental"), "public_rental"),
    Field("dilapidated_level", "varchar", f"upper({text('dilapidated_level')})"),
)

FEED = FeedSpec(
    feed_id="mohurd_housing", department="MOHURD", cadence="quarterly", kind="snapshot", partition="period",
    period_column="as_of",
    read_raw=read_raw, title="住房", file_format="csv", raw_columns=RAW_COLUMNS, fields=FIELDS,
    months_covered=3,
)
