"""``grid_visits`` — field visits by grid workers and village assistants (走访摸排).

**Daily** deliveries: each delivery folder is its own partition. CSV, UTF-8, free-text notes (which
may hold line breaks inside quotes) and ``;``-separated finding codes (-> ``varchar[]``).

Two layouts, chosen by the delivery's period: v2, from period 2026-07, adds ``person_id`` (the
member the finding concerns, may be empty) and ``region_code`` (where the visit took place, 12
digits, checked against the region list in force). Both are null in v1 deliveries."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds._base import FeedSpec, Field, Layout, ident, iso_date, text

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("visit_id", "family_id", "hukou_no", "visit_date", "visitor_role", "findings", "note",
               "person_id", "region_code")
LAYOUT_V2_SINCE = "2026-07"
LAYOUTS = (
    Layout("v1", None, RAW_COLUMNS[:7]),
    Layout("v2", LAYOUT_V2_SINCE, RAW_COLUMNS),
)
FINDINGS = ("job_loss", "illness", "disability", "house_damage", "death", "new_member", "no_change")


def read_raw(path: Path, layout: Layout) -> pa.Table:
    from pipelines.feeds._readers import read_csv_strings

    return read_csv_strings(path, layout, newlines_in_values=True)


_findings = ("list_filter(list_transform(string_split(coalesce(lower(trim(\"findings\")), ''), ';'), "
             "f -> trim(f)), f -> f <> '')")
_known = ", ".join(f"'{f}'" for f in FINDINGS)

FIELDS = (
    Field("visit_id", "varchar", text("visit_id")),
    Field("family_id", "varchar", ident("family_id")),
    Field("hukou_no", "varchar", text("hukou_no")),
    Field("visit_date", "date", iso_date("visit_date"), "visit_date"),
    Field("visitor_role", "varchar", f"lower({text('visitor_role')})"),
    Field("findings", "varchar[]", _findings),
    Field("note", "varchar", text("note")),
    Field("person_id", "varchar", ident("person_id")),
    Field("region_code", "varchar", text("region_code")),
)

FEED = FeedSpec(
    feed_id="grid_visits", department="GRID", cadence="daily", kind="events", partition="delivery",
    read_raw=read_raw, title="走访摸排", file_format="csv", raw_columns=RAW_COLUMNS, fields=FIELDS,
    layouts=LAYOUTS, id_columns=("person_id",), region_column="region_code",
    check_sql=(
        ("_findings_known", f"coalesce(list_bool_and(list_transform(findings, f -> f in ({_known}))), true)"),
        ("_household_present", "family_id is not null or hukou_no is not null"),
        # layout v2 (from its period on): every visit names where it took place
        ("_region_present", f"region_code is not null or period < '{LAYOUT_V2_SINCE}'"),
    ),
)
