"""The feed registry: one module per department feed, each holding that department's quirks.

``FEEDS[feed_id]`` is a :class:`~pipelines.feeds._base.FeedSpec` (docs/architecture.md). This is the
one list of feeds: the ingest, the warehouse's ``ops.feeds``, the analyst database, the report and
the Airflow DAG all read it. Reference feeds come first so a night loads the region list before the
feeds checked against it. Importing it is cheap (standard library only; the readers import pyarrow
when they run), so a DAG file may read it at parse time.
"""

from __future__ import annotations

from pipelines.feeds import (bank_deposits, cdpf_disability, grid_visits, hrss_employment, mca_econ_checks,
                             mca_roster, mem_disaster, moa_relapse_watch, moe_students, mohurd_housing,
                             mps_hukou_events, mps_hukou_members, mps_vehicles, nhsa_claims, ref_regions, ref_standards,
                             samr_business)
from pipelines.feeds._base import MIDTERM_SUFFIX, FeedFormatError, FeedSpec, Field, Layout, Part, RefCheck

FEEDS: dict[str, FeedSpec] = {
    m.FEED.feed_id: m.FEED
    for m in (ref_regions, ref_standards, mca_roster, hrss_employment, nhsa_claims, moe_students,
              mohurd_housing, samr_business, mps_hukou_events, mps_hukou_members, mps_vehicles,
              cdpf_disability, mem_disaster, bank_deposits, grid_visits, mca_econ_checks, moa_relapse_watch)
}
FEED_IDS: tuple[str, ...] = tuple(FEEDS)
REFERENCE_FEEDS: tuple[str, ...] = tuple(f for f, s in FEEDS.items() if s.is_reference)
DATA_FEEDS: tuple[str, ...] = tuple(f for f, s in FEEDS.items() if not s.is_reference)

# Columns of ops.feeds, the registry as the warehouse carries it (pipelines.warehouse.migrate).
CATALOG_COLUMNS = ["feed_id", "department", "cadence", "kind", "partition", "months_covered", "file_format", "title",
                   "stale_after_months", "since", "daily_since", "daily_closing_day", "midterm_since",
                   "midterm_after_days", "layouts_text", "tables"]

__all__ = ["FEEDS", "FEED_IDS", "REFERENCE_FEEDS", "DATA_FEEDS", "MIDTERM_SUFFIX", "FeedSpec", "Field", "Layout", "Part",
           "RefCheck", "FeedFormatError", "get_feed", "catalog_rows"]


def get_feed(feed_id: str) -> FeedSpec:
    try:
        return FEEDS[feed_id]
    except KeyError:
        raise KeyError(f"unknown feed {feed_id!r}; known: {sorted(FEEDS)}") from None


def catalog_rows() -> tuple[list[str], list[tuple]]:
    """The rows of ``ops.feeds``: one per feed, in registry order."""
    columns = [{"layouts_text": "layouts"}.get(c, c) for c in CATALOG_COLUMNS]
    rows = []
    for spec in FEEDS.values():
        values = [getattr(spec, c) for c in CATALOG_COLUMNS]
        values[CATALOG_COLUMNS.index("tables")] = list(spec.tables)
        rows.append(tuple(values))
    return columns, rows
