"""``mem_disaster`` — emergency management, disaster victims (应急管理 受灾人员).

Pulled from the department's API and delivered as **JSON lines**, one object per affected household
head, all residents. Numbers arrive as JSON numbers and are kept as their digits in raw.

Until period 2026-03: one delivery a month, which replaces its month like any feed. From period
2026-04 (``daily_since``) the API is polled every night and every night brings one delivery -- an
empty file when nothing is new -- whose ``period`` is the month of the day before its folder date.
Such a daily delivery **adds** records: each folder is its own partition (a re-delivery of the same
date folder replaces that day only), a record is keyed by ``disaster_id`` + ``person_id`` and a later
record with the same key corrects it; ``status = withdrawn`` retracts it. The optional ``status``
field (``active`` / ``withdrawn``; absent or empty = ``active``) may appear in any delivery. The
record in force per key is the view ``staging.mem_disaster_current``, which core and the indicators
read. A daily month M is complete (ops.completeness ``loaded``) once a delivery dated after the 5th
of M+1 has loaded (``daily_closing_day``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, ident, iso_date, money, text

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("disaster_id", "disaster_type", "occurred_on", "person_id", "region_code", "house_damage",
               "loss_yuan", "emergency_aid_yuan", "status")
LAYOUTS = (Layout("v1", None, RAW_COLUMNS[:8], optional=("status",)),)
DAILY_SINCE = "2026-04"
STATUSES = ("active", "withdrawn")


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_jsonl_strings

    return read_jsonl_strings(path, layout)


FIELDS = (
    Field("disaster_id", "varchar", text("disaster_id")),
    Field("disaster_type", "varchar", f"lower({text('disaster_type')})"),
    Field("occurred_on", "date", iso_date("occurred_on"), "occurred_on"),
    Field("person_id", "varchar", ident("person_id")),
    Field("region_code", "varchar", text("region_code")),
    Field("house_damage", "varchar", f"lower({text('house_damage')})"),
    Field("loss_yuan", "decimal(14,2)", money("loss_yuan"), "loss_yuan"),
    Field("emergency_aid_yuan", "decimal(14,2)", money("emergency_aid_yuan"), "emergency_aid_yuan"),
    # absent (every delivery before 2026-04) or empty = active
    Field("status", "varchar", f"coalesce(lower({text('status')}), 'active')"),
)

FEED = FeedSpec(
    feed_id="mem_disaster", department="MEM", cadence="monthly", kind="events", partition="period",
    period_column="occurred_on",
    read_raw=read_raw, title="受灾人员", file_format="jsonl", raw_columns=RAW_COLUMNS, fields=FIELDS,
    layouts=LAYOUTS, region_column="region_code", daily_since=DAILY_SINCE, daily_closing_day=5,
)
