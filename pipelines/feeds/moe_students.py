"""``moe_students`` — education (教育): students of roster families and every aid applicant.

Per term; the delivery's ``period`` is the first month of the term (spring ``YYYY-1`` -> ``YYYY-03``,
autumn ``YYYY-2`` -> ``YYYY-09``). CSV, UTF-8, English headers.

From term 2026-1 (period 2026-03, ``midterm_since``) each term is delivered twice: at the start of
term and at mid-term (about 60 days in, once the term's aid is granted). The mid-term delivery
replaces the first like any re-delivery (it is produced later). The ledger marks which one a
delivery is (``ops.deliveries.delivery_kind``: ``start_of_term``, or ``mid_term`` when its folder
date is ``midterm_after_days`` = 45 or more days after the term's first day -- the catalog's
manifest has no field for it), and ops.completeness carries the pseudo-feed
``moe_students_midterm``, loaded only for the months of a term whose loaded delivery is the mid-term
one: an indicator that must only run on mid-term data (aid granted) requires it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, ident, money, text

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("term", "person_id", "stage", "tuition_yuan", "boarding_yuan", "aid_yuan")


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    return read_csv_strings(path, layout, encodings=("utf-8",))


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
    months_covered=6, midterm_since="2026-03", midterm_after_days=45,
)
