"""The numbers the charts draw: a course's rate per week, a room's occupancy through a day
(from visits), and the day's arrivals per five minutes. Times are the school's."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from attendance.days import day_bounds, local_day
from attendance.models import AttendanceRecord, Course, Room, Status, Visit
from attendance.rules.rates import attendance_rate

ATTENDED = (Status.PRESENT, Status.LATE)
DAY_FROM, DAY_TO = time(7, 0), time(19, 0)  # the span a school day's chart shows at least


@dataclass(frozen=True)
class WeekRate:
    monday: date
    sessions: int
    rate: float | None  # the contract's rule over every record of the week's ended sessions


def weekly_rates(course: Course, now: datetime, weeks: int = 12) -> list[WeekRate]:
    """The last `weeks` weeks up to this one that had ended sessions, oldest first."""
    rows = (
        AttendanceRecord.objects.filter(
            session__course=course, session__ends_at__lte=now, session__cancelled=False
        )
        .order_by()  # clear the default ordering: it would join and group by it
        .values("session_id", "session__starts_at", "status")
        .annotate(n=Count("id"))
    )
    counts: dict[date, Counter[str]] = {}
    sessions: dict[date, set[int]] = {}
    for row in rows:
        day = local_day(row["session__starts_at"])
        monday = day - timedelta(days=day.weekday())
        counts.setdefault(monday, Counter())[row["status"]] += row["n"]
        sessions.setdefault(monday, set()).add(row["session_id"])
    result = []
    for monday in sorted(counts)[-weeks:]:
        c = counts[monday]
        attended = sum(c[s] for s in ATTENDED)
        rate = attendance_rate(attended, sum(c.values()), c[Status.EXCUSED])
        result.append(WeekRate(monday, len(sessions[monday]), rate))
    return result


@dataclass(frozen=True)
class Slot:
    starts: datetime  # local
    count: int


def _day_span(day: date, moments: list[datetime]) -> tuple[datetime, datetime]:
    """At least 07:00 to 19:00, widened to whole hours around what happened."""
    zone = timezone.get_default_timezone()
    start = datetime.combine(day, DAY_FROM, tzinfo=zone)
    end = datetime.combine(day, DAY_TO, tzinfo=zone)
    local = [timezone.localtime(m, zone) for m in moments]
    if local:
        start = min(start, min(local).replace(minute=0, second=0, microsecond=0))
        latest = max(local).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        end = max(end, latest)
    midnight = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, min(end, midnight)


def room_occupancy(room: Room, day: date, now: datetime, minutes: int = 15) -> list[Slot]:
    """Per slot of the day: how many people were in the room at some moment of it."""
    day_start, day_end = day_bounds(day)
    visits = list(
        Visit.objects.filter(room=room, entered_at__lt=day_end)
        .filter(Q(left_at__isnull=True) | Q(left_at__gt=day_start))
        .values_list("student_id", "entered_at", "left_at")
    )
    step = timedelta(minutes=minutes)
    moments = [max(v[1], day_start) for v in visits]
    start, end = _day_span(day, moments)
    slots = []
    cursor = start
    while cursor < end:
        lo, hi = cursor, cursor + step
        inside = {
            student
            for student, entered, left in visits
            if entered < hi and (left or min(now, day_end)) > lo
        }
        slots.append(Slot(cursor, len(inside) if lo < now else 0))
        cursor = hi
    return slots


def arrivals(day: date, now: datetime, minutes: int = 5) -> list[Slot]:
    """Per five minutes of the day until now: students whose first entry into any room
    that day fell in it."""
    day_start, day_end = day_bounds(day)
    firsts = list(
        Visit.objects.filter(entered_at__gte=day_start, entered_at__lt=day_end)
        .order_by()
        .values("student_id")
        .annotate(first=Min("entered_at"))
        .values_list("first", flat=True)
    )
    step = timedelta(minutes=minutes)
    start, end = _day_span(day, firsts)
    end = min(end, max(start + timedelta(hours=3), _ceil_hour(timezone.localtime(now))))
    counts: Counter[datetime] = Counter()
    for moment in firsts:
        local = timezone.localtime(moment)
        counts[local.replace(minute=local.minute - local.minute % minutes, second=0,
                             microsecond=0)] += 1  # fmt: skip
    slots = []
    cursor = start
    while cursor < end:
        slots.append(Slot(cursor, counts.get(cursor, 0)))
        cursor += step
    return slots


def _ceil_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)
