"""``mca_econ_checks`` — civil affairs, economic check reports (民政 居民家庭经济状况核对报告).

Monthly, since period 2026-01: the checks the check centre completed that month (on application,
at the periodic review of the roster, on a town's referral), with the verified household income
and assets. CSV, UTF-8 with BOM (Excel's "CSV UTF-8"), English headers.

A delivery holds **two files**, read as two parts of one delivery (loaded, replaced and rejected
together):

- ``checks_<YYYYMM>.csv`` (part ``checks`` -> ``staging.mca_econ_checks``): one row per check;
- ``check_members_<YYYYMM>.csv`` (part ``members`` -> ``staging.mca_econ_check_members``):
  ``check_id, person_id``, the members each check counted.

Cross-part checks: every member row's ``check_id`` is a check of the same delivery (critical: a
member list that does not belong to the checks is a broken export); a check's ``household_size``
equals its member count (warning: the size is the one the check centre's outcome used, and stays
as delivered).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, Part, ident, integer, iso_date, money, text

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("check_id", "check_date", "reason", "family_id", "hukou_no", "applicant_id", "region_code",
               "urban_rural", "household_size", "income_basis", "monthly_income_yuan", "financial_assets_yuan",
               "vehicles", "properties", "outcome")
MEMBER_COLUMNS = ("check_id", "person_id")

REASONS = ("application", "review", "referral")
INCOME_BASES = ("check_only", "assessed")
OUTCOMES = ("below_dibao", "below_edge", "above_edge")


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    # The BOM is skipped by the reader (header sniffing strips it; Arrow skips it in the data).
    return read_csv_strings(path, layout)


FIELDS = (
    Field("check_id", "varchar", text("check_id")),
    Field("check_date", "date", iso_date("check_date"), "check_date"),
    Field("reason", "varchar", f"lower({text('reason')})"),
    Field("family_id", "varchar", ident("family_id")),
    Field("hukou_no", "varchar", text("hukou_no")),
    Field("applicant_id", "varchar", ident("applicant_id")),
    Field("region_code", "varchar", text("region_code")),
    Field("urban_rural", "varchar", f"lower({text('urban_rural')})"),
    Field("household_size", "integer", integer("household_size"), "household_size"),
    Field("income_basis", "varchar", f"lower({text('income_basis')})"),
    Field("monthly_income_yuan", "decimal(14,2)", money("monthly_income_yuan"), "monthly_income_yuan"),
    Field("financial_assets_yuan", "decimal(14,2)", money("financial_assets_yuan"), "financial_assets_yuan"),
    Field("vehicles", "integer", integer("vehicles"), "vehicles"),
    Field("properties", "integer", integer("properties"), "properties"),
    Field("outcome", "varchar", f"lower({text('outcome')})"),
)

MEMBER_FIELDS = (
    Field("check_id", "varchar", text("check_id")),
    Field("person_id", "varchar", ident("person_id")),
)

MEMBERS = Part(
    name="members", table="mca_econ_check_members", read_raw=read_raw,
    file_pattern=r"check_members_.*\.csv", file_hint="check_members_<YYYYMM>.csv", title="核对报告 家庭成员",
    raw_columns=MEMBER_COLUMNS, fields=MEMBER_FIELDS,
    check_sql=(
        # cross-part: the member's check is in the checks file of the same delivery
        ("_check_found", "check_id is null or check_id in (select check_id from part_checks where check_id is not null)"),
    ),
)

FEED = FeedSpec(
    feed_id="mca_econ_checks", department="MCA", cadence="monthly", kind="events", partition="period",
    period_column="check_date",
    read_raw=read_raw, title="家庭经济状况核对", file_format="csv", raw_columns=RAW_COLUMNS, fields=FIELDS,
    part_name="checks", file_pattern=r"checks_.*\.csv", file_hint="checks_<YYYYMM>.csv",
    other_parts=(MEMBERS,), since="2026-01",
    id_columns=("applicant_id",), region_column="region_code",
    check_sql=(
        # cross-part: household_size = the number of member rows of the check
        ("_size_matches_members", "household_size is null or household_size = coalesce("
                                  "(select count(*) from part_members m where m.check_id = staged.check_id), 0)"),
    ),
)
