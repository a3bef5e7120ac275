"""``cdpf_disability`` — disabled persons' federation (残联): valid disability certificates.

Monthly full snapshot, all residents. **Excel (.xlsx)**, one sheet, **Chinese headers** and Chinese
category values (残疾类别 视力.., 残疾等级 一级..四级, 状态 有效/注销), all translated here.

Two layouts, chosen by the delivery's period: v2, from period 2026-07, adds two trailing columns
困难残疾人生活补贴 and 重度残疾人护理补贴 (是/否). Deliveries for earlier periods keep v1 -- late
re-deliveries of them too, whenever they arrive -- and their subsidy columns are null. A v1 period
delivered in the v2 layout, or a v2 period in v1, is rejected naming the columns."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, ident, iso_date, mapped, yes_no

if TYPE_CHECKING:
    import pyarrow as pa

HEADER_MAP = {
    "身份证号": "person_id",
    "残疾类别": "disability_type",
    "残疾等级": "disability_grade",
    "发证日期": "issued_on",
    "状态": "cert_status",
    "困难残疾人生活补贴": "living_subsidy",
    "重度残疾人护理补贴": "nursing_subsidy",
}
RAW_COLUMNS = tuple(HEADER_MAP.values())
V1_COLUMNS = RAW_COLUMNS[:5]
LAYOUT_V2_SINCE = "2026-07"
LAYOUTS = (
    Layout("v1", None, V1_COLUMNS),
    Layout("v2", LAYOUT_V2_SINCE, RAW_COLUMNS),
)

DISABILITY_TYPE = {"视力": "visual", "听力": "hearing", "言语": "speech", "肢体": "physical",
                   "智力": "intellectual", "精神": "mental", "多重": "multiple"}
# 一级 is the most severe; 一/二 = severe (重度).
DISABILITY_GRADE = {"一级": "1", "二级": "2", "三级": "3", "四级": "4"}
CERT_STATUS = {"有效": "valid", "注销": "cancelled"}


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_xlsx_strings

    return read_xlsx_strings(path, layout, HEADER_MAP)


FIELDS = (
    Field("person_id", "varchar", ident("person_id")),
    Field("disability_type", "varchar", mapped("disability_type", DISABILITY_TYPE)),
    # 一级..四级 -> 1..4 (a bare digit is accepted too); anything else is a parse error.
    Field("disability_grade", "integer", f"try_cast({mapped('disability_grade', DISABILITY_GRADE)} as integer)",
          "disability_grade"),
    Field("issued_on", "date", iso_date("issued_on"), "issued_on"),
    Field("cert_status", "varchar", mapped("cert_status", CERT_STATUS)),
    # layout v2: 是/否 -> boolean; null for v1 deliveries; anything else is a parse error
    Field("living_subsidy", "boolean", yes_no("living_subsidy"), "living_subsidy"),
    Field("nursing_subsidy", "boolean", yes_no("nursing_subsidy"), "nursing_subsidy"),
)

FEED = FeedSpec(
    feed_id="cdpf_disability", department="CDPF", cadence="monthly", kind="snapshot", partition="period",
    read_raw=read_raw, title="残疾人证", file_format="xlsx", raw_columns=RAW_COLUMNS, fields=FIELDS,
    headers=tuple((v, k) for k, v in HEADER_MAP.items()), layouts=LAYOUTS,
    check_sql=(
        # layout v2: both subsidy cells filled (an empty one loads as null, with a warning)
        ("_subsidies_present", f"period < '{LAYOUT_V2_SINCE}' or (living_subsidy is not null and nursing_subsidy is not null)"),
    ),
)
