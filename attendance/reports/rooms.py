"""Room use: how full a room was over the day (from visits) and its sessions against its
capacity. The period defaults to the last 7 days: occupancy is worked out per day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from attendance.api.common import start_of_day
from attendance.models import AttendanceRecord, ClassSession, Enrolment, Room, Visit
from attendance.reports.no_evidence import SEEN
from attendance.reports.period import Period, ReportParamError
from attendance.reports.rates import ended_sessions
from attendance.reports.scope import NotAllowed, Scope
from attendance.reports.tables import Column, Kind, Table, integer, text

DEFAULT_DAYS = 7
MAX_DAYS = 366
HOURS = range(24)


@dataclass
class DayUse:
    day: date
    peak_by_hour: list[int]  # most students inside at once, per local hour 0..23

    @property
    def peak(self) -> int:
        return max(self.peak_by_hour)


@dataclass
class SessionUse:
    session: int
    course: str
    starts_at: datetime
    ends_at: datetime
    enrolled: int
    seen: int  # records present, late or left early
    capacity: int

    @property
    def use_pct(self) -> float | None:
        return None if not self.capacity else round(100 * self.seen / self.capacity, 1)


@dataclass
class RoomUse:
    room: str
    capacity: int
    period: Period
    days: list[DayUse]
    sessions: list[SessionUse]

    @property
    def mean_peak_by_hour(self) -> list[float]:
        if not self.days:
            return [0.0] * len(HOURS)
        return [round(sum(d.peak_by_hour[h] for d in self.days) / len(self.days), 1) for h in HOURS]


def days_of(period: Period, now: datetime) -> list[date]:
    today = timezone.localtime(now).date()
    end = min(period.end or today, today)
    start = period.start or end - timedelta(days=DEFAULT_DAYS - 1)
    if (end - start).days >= MAX_DAYS:
        raise ReportParamError(f"Room use covers at most {MAX_DAYS} days; narrow from and to.")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def peaks_by_hour(spans: list[tuple[datetime, datetime]], day_start: datetime) -> list[int]:
    """Most spans overlapping at once within each hour of the day (a sweep per hour)."""
    peaks = []
    for hour in HOURS:
        lo = timezone.localtime(day_start + timedelta(hours=hour))
        hi = lo + timedelta(hours=1)
        edges = []
        for entered, left in spans:
            if entered < hi and left > lo:
                edges += [(max(entered, lo), 1), (min(left, hi), -1)]
        inside = peak = 0
        for _, step in sorted(edges, key=lambda e: (e[0], e[1])):  # leaving before entering
            inside += step
            peak = max(peak, inside)
        peaks.append(peak)
    return peaks


def room_use(room: Room, period: Period, scope: Scope, now: datetime) -> RoomUse:
    if not (
        scope.everything
        or ClassSession.objects.filter(room=room, course_id__in=scope.taught).exists()
    ):
        raise NotAllowed("Only staff and the teachers of courses held in this room may see it.")
    days = days_of(period, now)
    first, after = start_of_day(days[0]), start_of_day(days[-1] + timedelta(days=1))
    visits = Visit.objects.filter(room=room, entered_at__lt=after).filter(
        Q(left_at__isnull=True) | Q(left_at__gt=first)
    )
    spans_by_day: dict[date, list[tuple[datetime, datetime]]] = defaultdict(list)
    for entered, left in visits.values_list("entered_at", "left_at"):
        left = left or now
        for day in days:
            lo, hi = start_of_day(day), start_of_day(day + timedelta(days=1))
            if entered < hi and left > lo:
                spans_by_day[day].append((entered, left))
    use = [DayUse(day, peaks_by_hour(spans_by_day[day], start_of_day(day))) for day in days]
    shown = Period(days[0], days[-1], period.term)
    return RoomUse(room.code, room.capacity, shown, use, session_use(room, first, after, now))


def session_use(room: Room, first: datetime, after: datetime, now: datetime) -> list[SessionUse]:
    held = ended_sessions(room.sessions.filter(starts_at__gte=first, starts_at__lt=after), now)
    # Enrolments counted per session by a correlated count (index only), not by joining
    # them in and grouping every session's course row.
    enrolled = (
        Enrolment.objects.filter(course=OuterRef("course"))
        .order_by()
        .values("course")
        .annotate(n=Count("id"))
        .values("n")
    )
    sessions = list(
        held.annotate(enrolled=Coalesce(Subquery(enrolled), 0))
        .order_by("starts_at", "id")
        .values_list("id", "course__code", "starts_at", "ends_at", "enrolled")
    )
    seen = dict(
        AttendanceRecord.objects.filter(session__in=[s[0] for s in sessions], status__in=SEEN)
        .order_by()
        .values_list("session_id")
        .annotate(n=Count("id"))
    )
    return [
        SessionUse(pk, code, starts_at, ends_at, n, seen.get(pk, 0), room.capacity)
        for pk, code, starts_at, ends_at, n in sessions
    ]


def as_table(report: RoomUse) -> Table:
    """Per day its peak per hour, then the sessions against capacity."""
    columns = [
        text("what"), Column("day", Kind.DATE), *(integer(f"{h:02d}h") for h in HOURS),
        integer("peak"), integer("session"), text("course"), Column("starts_at", Kind.DATETIME),
        integer("enrolled"), integer("seen"), integer("capacity"), Column("use_pct", Kind.PCT),
    ]  # fmt: skip
    blank_hours = [None] * len(HOURS)

    def rows() -> Iterator[list[object]]:
        for d in report.days:
            yield ["occupancy", d.day, *d.peak_by_hour, d.peak, *([None] * 7)]
        for s in report.sessions:
            day = timezone.localtime(s.starts_at).date()
            yield ["session", day, *blank_hours, None, s.session, s.course, s.starts_at,
                   s.enrolled, s.seen, s.capacity, s.use_pct]  # fmt: skip

    return Table(
        f"room-{report.room}",
        f"Room use {report.room} (capacity {report.capacity}), {report.period.describe()}",
        columns,
        rows(),
    )
