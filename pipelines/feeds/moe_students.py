"""``moe_students`` — education (教育): students of roster families and every aid applicant.

Per term; the delivery's ``period`` is the first month of the term (spring ``YYYY-1`` -> ``YYYY-03``,
autumn ``YYYY-2`` -> ``YYYY-09``). CSV, UTF-8, English headers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import Field, FeedSpec, ident, money, text

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("term", "person_id", "stage", "tuition_yuan", "boarding_yuan", "aid_yuan")


def read_raw(path: Path) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    return read_csv_strings(path, RAW_COLUMNS, encodings=("utf-8",))


FIELDS = (
    Field("term", "varchar", text("term")),
    Field("person_id", "varchar", ident("person_id")),
    Field("stage", "varchar", f"lower({text('stage')})"),
    Field("tuition_yuan", "decimal(14,2)", money("tuition_yuan"), "tuition_yuan"),
    Field("boarding_yuan", "decimal(14,2)", money("boarding_yuan"), "boarding_yuan"),
    Field("aid_yuan", "decimal(14,2)", money("aid_yuan"), "aid_yuan"),
)

FEED = FeedSpec(
    feed_id="moe_students", department="MOE", cadence="term", kind="snapshot", partition="period",
    read_raw=read_raw, title="学生资助", file_format="csv", raw_columns=RAW_COLUMNS, fields=FIELDS,
    months_covered=6,
)
