"""The school's local day, the one helper for it.

The engine (visits never cross a local day, so each day can be replayed on its own), the
pages, the API's date filters, the demo and the commands all take a moment's day and a
day's bounds from here, in the school's zone (TIME_ZONE). Outside the layers, so entry
points and the engine alike may use it.
"""

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
