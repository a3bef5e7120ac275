"""``nhsa_claims`` — medical insurance settlements (医保结算).

Monthly, one row per settlement. **Parquet**; amounts are integer **fen** and become yuan here.
A reversal (冲销) carries the ``settle_id`` it cancels in ``reversal_of`` and negative amounts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, RefCheck, boolean, fen_to_yuan, ident, text

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("settle_id", "person_id", "settle_date", "visit_type", "catastrophic", "total_fen", "fund_fen",
               "critical_illness_fen", "medical_aid_fen", "oop_fen", "reversal_of")


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_parquet_strings

    return read_parquet_strings(path, layout)


FIELDS = (
    Field("settle_id", "varchar", text("settle_id")),
    Field("person_id", "varchar", ident("person_id")),
    # Parquet may carry a date or a timestamp; either renders to a string that casts to date.
    Field("settle_date", "date", "try_cast(try_cast(" + text("settle_date") + " as timestamp) as date)",
          "settle_date"),
    Field("visit_type", "varchar", f"lower({text('visit_type')})"),
    Field("catastrophic", "boolean", boolean("catastrophic"), "catastrophic"),
    Field("total_yuan", "decimal(14,2)", fen_to_yuan("total_fen"), "total_fen"),
    Field("fund_yuan", "decimal(14,2)", fen_to_yuan("fund_fen"), "fund_fen"),
    Field("critical_illness_yuan", "decimal(14,2)", fen_to_yuan("critical_illness_fen"), "critical_illness_fen"),
    Field("medical_aid_yuan", "decimal(14,2)", fen_to_yuan("medical_aid_fen"), "medical_aid_fen"),
    Field("oop_yuan", "decimal(14,2)", fen_to_yuan("oop_fen"), "oop_fen"),
    Field("reversal_of", "varchar", text("reversal_of")),
)

FEED = FeedSpec(
    feed_id="nhsa_claims", department="NHSA", cadence="monthly", kind="events", partition="period",
    period_column="settle_date",
    read_raw=read_raw, title="医保结算", file_format="parquet", raw_columns=RAW_COLUMNS, fields=FIELDS,
    ref_checks=(RefCheck("_reversal_found", "reversal_of", "settle_id", "staging.nhsa_claims", "settle_id"),),
    check_sql=(
        # out of pocket = total - the three payers (exact: fen arithmetic)
        ("_oop_balanced", "oop_yuan is null or total_yuan is null or oop_yuan = total_yuan - coalesce(fund_yuan, 0)"
                          " - coalesce(critical_illness_yuan, 0) - coalesce(medical_aid_yuan, 0)"),
        # a reversal carries negative amounts, a settlement non-negative ones
        ("_sign_consistent", "total_yuan is null or (case when reversal_of is null then total_yuan >= 0"
                             " else total_yuan <= 0 end)"),
        # a negative out-of-pocket amount is only ever a reversal's (it would cancel someone's spending)
        ("_oop_sign", "oop_yuan is null or reversal_of is not null or oop_yuan >= 0"),
    ),
)
