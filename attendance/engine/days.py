"""Time ranges for the engine's queries. The school's local day itself is attendance.days."""

from __future__ import annotations

from datetime import datetime, timedelta

# The old home of the local-day helper; code written against it keeps working (new code:
# import attendance.days).
from attendance.days import day_bounds, local_day

__all__ = ["day_bounds", "local_day", "merged_ranges"]


def merged_ranges(
    points: list[datetime], before: timedelta, after: timedelta
) -> list[tuple[datetime, datetime]]:
    """Windows around each moment, overlapping ones merged: few clauses for one query."""
    ranges: list[tuple[datetime, datetime]] = []
    for moment in sorted(points):
        lo, hi = moment - before, moment + after
        if ranges and lo <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], hi))
        else:
            ranges.append((lo, hi))
    return ranges
