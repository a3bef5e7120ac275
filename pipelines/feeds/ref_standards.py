"""``ref_standards`` — 低保 standard and 特困 basic-living standard per city, year and urban/rural,
versioned by the month from which they apply. CSV, UTF-8."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, integer, money, text

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("city_code", "year", "urban_rural", "dibao_monthly_yuan", "tekun_monthly_yuan")


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    return read_csv_strings(path, layout)


FIELDS = (
    Field("city_code", "varchar", text("city_code")),
    Field("year", "integer", integer("year"), "year"),
    Field("urban_rural", "varchar", f"lower({text('urban_rural')})"),
    Field("dibao_monthly_yuan", "decimal(14,2)", money("dibao_monthly_yuan"), "dibao_monthly_yuan"),
    Field("tekun_monthly_yuan", "decimal(14,2)", money("tekun_monthly_yuan"), "tekun_monthly_yuan"),
)

FEED = FeedSpec(
    feed_id="ref_standards", department="MCA", cadence="reference", kind="snapshot", partition="period",
    read_raw=read_raw, title="救助标准", file_format="csv", raw_columns=RAW_COLUMNS, fields=FIELDS,
    id_columns=(),
)
