"""``mca_roster`` — civil affairs' low-income population database (民政 低收入人口数据库).

Monthly full snapshot of the roster. CSV, UTF-8, sometimes with a BOM (Excel's "CSV UTF-8"),
English headers. Dates are ISO; the two check dates may be empty.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, ident, iso_date, money, text

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("snapshot_month", "family_id", "person_id", "name", "gender", "birth_date", "relation",
               "region_code", "urban_rural", "category", "enrolled_date", "monthly_benefit_yuan",
               "last_econ_check_date", "last_home_visit_date")


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    # The BOM is skipped by the reader (header sniffing strips it; Arrow skips it in the data).
    return read_csv_strings(path, layout)


FIELDS = (
    Field("snapshot_month", "varchar", text("snapshot_month")),
    Field("family_id", "varchar", ident("family_id")),
    Field("person_id", "varchar", ident("person_id")),
    Field("name", "varchar", text("name")),
    Field("gender", "varchar", f"upper({text('gender')})"),
    Field("birth_date", "date", iso_date("birth_date"), "birth_date"),
    Field("relation", "varchar", f"lower({text('relation')})"),
    Field("region_code", "varchar", text("region_code")),
    Field("urban_rural", "varchar", f"lower({text('urban_rural')})"),
    Field("category", "varchar", f"lower({text('category')})"),
    Field("enrolled_date", "date", iso_date("enrolled_date"), "enrolled_date"),
    Field("monthly_benefit_yuan", "decimal(14,2)", money("monthly_benefit_yuan"), "monthly_benefit_yuan"),
    Field("last_econ_check_date", "date", iso_date("last_econ_check_date"), "last_econ_check_date"),
    Field("last_home_visit_date", "date", iso_date("last_home_visit_date"), "last_home_visit_date"),
)

FEED = FeedSpec(
    feed_id="mca_roster", department="MCA", cadence="monthly", kind="snapshot", partition="period",
    read_raw=read_raw, title="低收入人口名册", file_format="csv", raw_columns=RAW_COLUMNS,
    fields=FIELDS, region_column="region_code",
)
