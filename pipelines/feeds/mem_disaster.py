"""``mem_disaster`` — emergency management, disaster victims (应急管理 受灾人员).

Pulled from the department's API and delivered as **JSON lines**, one object per affected household
head, all residents. Numbers arrive as JSON numbers and are kept as their digits in raw."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import Field, FeedSpec, ident, iso_date, money, text

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("disaster_id", "disaster_type", "occurred_on", "person_id", "region_code", "house_damage",
               "loss_yuan", "emergency_aid_yuan")


def read_raw(path: Path) -> pa.Table:
    from pipelines.feeds._readers import read_jsonl_strings

    return read_jsonl_strings(path, RAW_COLUMNS)


FIELDS = (
    Field("disaster_id", "varchar", text("disaster_id")),
    Field("disaster_type", "varchar", f"lower({text('disaster_type')})"),
    Field("occurred_on", "date", iso_date("occurred_on"), "occurred_on"),
    Field("person_id", "varchar", ident("person_id")),
    Field("region_code", "varchar", text("region_code")),
    Field("house_damage", "varchar", f"lower({text('house_damage')})"),
    Field("loss_yuan", "decimal(14,2)", money("loss_yuan"), "loss_yuan"),
    Field("emergency_aid_yuan", "decimal(14,2)", money("emergency_aid_yuan"), "emergency_aid_yuan"),
)

FEED = FeedSpec(
    feed_id="mem_disaster", department="MEM", cadence="monthly", kind="events", partition="period",
    read_raw=read_raw, title="受灾人员", file_format="jsonl", raw_columns=RAW_COLUMNS, fields=FIELDS,
    region_column="region_code",
)
