"""The school's local day, the one helper for it: the engine (visits never cross a local
day, so each day can be replayed on its own), the pages, the API's date filters and the
commands all take the day and its bounds from here, in the school's zone (TIME_ZONE)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) as UTC datetimes (DST-safe)."""
    zone = timezone.get_default_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return start, end


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
