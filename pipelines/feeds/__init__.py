"""The feed registry: one module per department feed, each holding that department's quirks.

``FEEDS[feed_id]`` is a :class:`~pipelines.feeds._base.FeedSpec` (see docs/architecture.md).
Reference feeds come first so a night loads the region list before the feeds checked against it.
"""

from __future__ import annotations

from pipelines.feeds import (bank_deposits, cdpf_disability, grid_visits, hrss_employment, mca_roster,
                             mem_disaster, moe_students, mohurd_housing, mps_hukou_events, mps_hukou_members,
                             mps_vehicles, nhsa_claims, ref_regions, ref_standards, samr_business)
from pipelines.feeds._base import FeedFormatError, FeedSpec, Field, RefCheck

FEEDS: dict[str, FeedSpec] = {
    m.FEED.feed_id: m.FEED
    for m in (ref_regions, ref_standards, mca_roster, hrss_employment, nhsa_claims, moe_students,
              mohurd_housing, samr_business, mps_hukou_events, mps_hukou_members, mps_vehicles,
              cdpf_disability, mem_disaster, bank_deposits, grid_visits)
}

__all__ = ["FEEDS", "FeedSpec", "Field", "RefCheck", "FeedFormatError", "get_feed"]


def get_feed(feed_id: str) -> FeedSpec:
    try:
        return FEEDS[feed_id]
    except KeyError:
        raise KeyError(f"unknown feed {feed_id!r}; known: {sorted(FEEDS)}") from None
