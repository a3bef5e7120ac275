"""``moa_relapse_watch`` — agriculture & rural affairs, relapse-prevention monitoring
(农业农村 防止返贫监测对象).

Monthly full snapshot, since period 2026-01, of the rural households under monitoring. CSV, UTF-8,
**Chinese headers** and Chinese category values (监测类型, ``;``-separated 风险类型, 是/否), all
translated here. Incomes are per capita and **annual** (yuan), from the survey of 收入年度.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, code_list, ident, integer, iso_date, mapped, money, text, \
    yes_no

if TYPE_CHECKING:
    import pyarrow as pa

HEADER_MAP = {
    "监测户编号": "watch_id",
    "户主身份证号": "head_person_id",
    "户号": "hukou_no",
    "区划代码": "region_code",
    "监测类型": "watch_type",
    "风险类型": "risk_types",
    "家庭人口数": "household_size",
    "收入年度": "income_year",
    "人均纯收入": "net_income_per_capita",
    "人均转移性收入": "transfer_income_per_capita",
    "识别日期": "identified_on",
    "风险消除": "risk_eliminated",
}
RAW_COLUMNS = tuple(HEADER_MAP.values())

WATCH_TYPE = {"脱贫不稳定户": "unstable_poverty_exit", "边缘易致贫户": "edge_at_risk",
              "突发严重困难户": "sudden_hardship"}
RISK_TYPE = {"因病": "illness", "因残": "disability", "因学": "education", "因灾": "disaster",
             "因意外": "accident", "因失业": "unemployment", "产业失败": "business_failure", "其他": "other"}


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    return read_csv_strings(path, layout, header_map=HEADER_MAP)


_known_risks = ", ".join(f"'{v}'" for v in RISK_TYPE.values())

FIELDS = (
    Field("watch_id", "varchar", text("watch_id")),
    Field("head_person_id", "varchar", ident("head_person_id")),
    Field("hukou_no", "varchar", text("hukou_no")),
    Field("region_code", "varchar", text("region_code")),
    Field("watch_type", "varchar", mapped("watch_type", WATCH_TYPE)),
    # 因病;因残 -> [illness, disability]; a full-width ； separates too; unknown items pass through
    Field("risk_types", "varchar[]", code_list("risk_types", RISK_TYPE, separators=(";", "；"))),
    Field("household_size", "integer", integer("household_size"), "household_size"),
    Field("income_year", "integer", integer("income_year"), "income_year"),
    Field("net_income_per_capita_yuan", "decimal(14,2)", money("net_income_per_capita"), "net_income_per_capita"),
    Field("transfer_income_per_capita_yuan", "decimal(14,2)", money("transfer_income_per_capita"),
          "transfer_income_per_capita"),
    Field("identified_on", "date", iso_date("identified_on"), "identified_on"),
    Field("risk_eliminated", "boolean", yes_no("risk_eliminated"), "risk_eliminated"),
)

FEED = FeedSpec(
    feed_id="moa_relapse_watch", department="MOA", cadence="monthly", kind="snapshot", partition="period",
    read_raw=read_raw, title="防止返贫监测对象", file_format="csv", raw_columns=RAW_COLUMNS, fields=FIELDS,
    headers=tuple((v, k) for k, v in HEADER_MAP.items()), since="2026-01",
    id_columns=("head_person_id",), region_column="region_code",
    check_sql=(
        ("_risk_types_known", f"coalesce(list_bool_and(list_transform(risk_types, r -> r in ({_known_risks}))), true)"),
        # 人均转移性收入 is part of 人均纯收入
        ("_transfer_within_net", "transfer_income_per_capita_yuan is null or net_income_per_capita_yuan is null "
                                 "or transfer_income_per_capita_yuan <= net_income_per_capita_yuan"),
    ),
)
