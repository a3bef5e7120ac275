"""``bank_deposits`` — financial asset check (金融资产核对): deposits and securities of roster persons.

Quarterly. CSV, UTF-8."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, ident, iso_date, money

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("as_of", "person_id", "deposits_yuan", "securities_yuan")


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    return read_csv_strings(path, layout)


FIELDS = (
    Field("as_of", "date", iso_date("as_of"), "as_of"),
    Field("person_id", "varchar", ident("person_id")),
    Field("deposits_yuan", "decimal(14,2)", money("deposits_yuan"), "deposits_yuan"),
    Field("securities_yuan", "decimal(14,2)", money("securities_yuan"), "securities_yuan"),
)

FEED = FeedSpec(
    feed_id="bank_deposits", department="BANK", cadence="quarterly", kind="snapshot", partition="period",
    period_column="as_of",
    read_raw=read_raw, title="金融资产核对", file_format="csv", raw_columns=RAW_COLUMNS, fields=FIELDS,
    months_covered=3,
)
