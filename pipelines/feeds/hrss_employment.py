"""``hrss_employment`` — human resources & social security (人社): employment, wages, benefits.

Monthly, one row per person with any record that month, all residents of working or pension age.
Quirks: the file is **GB18030**, headers are **Chinese**, the month is ``YYYYMM`` and 就业状态 holds
Chinese values that are translated to codes here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, ident, mapped, money, text, yyyymm_month

if TYPE_CHECKING:
    import pyarrow as pa

# Delivered header -> English raw column name.
HEADER_MAP = {
    "统计月份": "month",
    "身份证号": "person_id",
    "就业状态": "employment_status",
    "单位信用代码": "employer_code",
    "缴费基数": "contribution_base",
    "失业保险金": "unemployment_benefit",
    "养老金": "pension",
}
RAW_COLUMNS = tuple(HEADER_MAP.values())

EMPLOYMENT_STATUS = {
    "在职": "employed",
    "灵活就业": "flexible",
    "失业登记": "unemployed_registered",
    "退休": "retired",
    "无": "none",
}


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    # GB18030 first; UTF-8 accepted too if the header only makes sense that way (export changed).
    return read_csv_strings(path, layout, encodings=("gb18030", "utf-8"), header_map=HEADER_MAP)


FIELDS = (
    Field("month", "varchar", yyyymm_month("month"), "month"),
    Field("person_id", "varchar", ident("person_id")),
    Field("employment_status", "varchar", mapped("employment_status", EMPLOYMENT_STATUS)),
    Field("employer_code", "varchar", ident("employer_code")),
    Field("contribution_base_yuan", "decimal(14,2)", money("contribution_base"), "contribution_base"),
    Field("unemployment_benefit_yuan", "decimal(14,2)", money("unemployment_benefit"), "unemployment_benefit"),
    Field("pension_yuan", "decimal(14,2)", money("pension"), "pension"),
)

FEED = FeedSpec(
    feed_id="hrss_employment", department="HRSS", cadence="monthly", kind="snapshot", partition="period",
    read_raw=read_raw, title="就业参保", file_format="csv", raw_columns=RAW_COLUMNS, fields=FIELDS,
    headers=tuple((v, k) for k, v in HEADER_MAP.items()),
)
