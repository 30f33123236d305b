"""The figures of the staff dashboard at the admin index: today's sessions with live
counts, this week's rate against last week's, readers offline, rejected messages of the
last hour, flags waiting for review, warnings, and the ingest's lag. A fixed number of
queries, whatever the size of the school."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from attendance.days import day_bounds, local_day
from attendance.models import (
    AttendanceRecord,
    AttendanceWarning,
    ClassSession,
    Enrolment,
    ProxyFlag,
    Status,
    Visit,
)
from attendance.rules.rates import attendance_rate
from attendance.warning_models import WarningState
from devices.models import Reader, RejectedMessage
from zias.health import ingest_status

ATTENDED = (Status.PRESENT, Status.LATE)
WEEKS_KEPT_S = 60


@dataclass(frozen=True)
class SessionToday:
    id: int
    course: str
    course_name: str
    room: str
    starts_at: datetime
    ends_at: datetime
    state: str  # upcoming, running, ended
    enrolled: int
    attended: int  # present or late so far
    absent: int
    excused: int
    in_room: int | None  # people in the room now, while it runs
    rate: float | None  # so far: attended of the enrolled, excused left out


def todays_sessions(now: datetime) -> list[SessionToday]:
    start, end = day_bounds(local_day(now))
    sessions = list(
        ClassSession.objects.filter(starts_at__gte=start, starts_at__lt=end, cancelled=False)
        .select_related("course", "room")
        .order_by("starts_at", "course__code")
    )
    enrolled = dict(
        Enrolment.objects.filter(course_id__in={s.course_id for s in sessions})
        .order_by()  # clear the default ordering: it would join and group by it
        .values("course_id")
        .annotate(n=Count("id"))
        .values_list("course_id", "n")
    )
    statuses: dict[int, Counter[str]] = defaultdict(Counter)
    for session_id, status, n in (
        AttendanceRecord.objects.filter(session__in=sessions)
        .order_by()
        .values("session_id", "status")
        .annotate(n=Count("id"))
        .values_list("session_id", "status", "n")
    ):
        statuses[session_id][status] = n
    running_rooms = {s.room_id for s in sessions if s.starts_at <= now < s.ends_at}
    inside = dict(
        Visit.objects.filter(room_id__in=running_rooms, left_at__isnull=True, entered_at__lte=now)
        .order_by()
        .values("room_id")
        .annotate(n=Count("student_id", distinct=True))
        .values_list("room_id", "n")
    )
    result = []
    for s in sessions:
        state = "upcoming" if now < s.starts_at else "running" if now < s.ends_at else "ended"
        counts = statuses[s.id]
        attended = sum(counts[x] for x in ATTENDED)
        size = enrolled.get(s.course_id, 0)
        result.append(
            SessionToday(
                id=s.id,
                course=s.course.code,
                course_name=s.course.name,
                room=s.room.code,
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                state=state,
                enrolled=size,
                attended=attended,
                absent=counts[Status.ABSENT],
                excused=counts[Status.EXCUSED],
                in_room=inside.get(s.room_id, 0) if state == "running" else None,
                rate=None
                if state == "upcoming"
                else attendance_rate(attended, size, counts[Status.EXCUSED]),
            )
        )
    return result


@dataclass(frozen=True)
class WeekComparison:
    this_week: float | None
    last_week: float | None

    @property
    def change(self) -> float | None:
        if self.this_week is None or self.last_week is None:
            return None
        return round(self.this_week - self.last_week, 1)


def _rate_between(start: datetime, end: datetime) -> float | None:
    """Every record of the sessions held in [start, end) and ended by `end`."""
    # The sessions first: a join lets the database walk a week of records the slow way.
    held = list(
        ClassSession.objects.filter(
            starts_at__gte=start, starts_at__lt=end, ends_at__lte=end, cancelled=False
        ).values_list("id", flat=True)
    )
    counts = Counter(
        dict(
            AttendanceRecord.objects.filter(session_id__in=held)
            .order_by()  # clear the default ordering: it would join and group by it
            .values("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
    )
    attended = sum(counts[x] for x in ATTENDED)
    return attendance_rate(attended, sum(counts.values()), counts[Status.EXCUSED])


def week_against_last(now: datetime) -> WeekComparison:
    """This week's ended sessions so far (from Monday) against all of last week's."""
    today = local_day(now)
    monday = day_bounds(today - timedelta(days=today.weekday()))[0]
    last_monday = day_bounds(today - timedelta(days=today.weekday() + 7))[0]
    return WeekComparison(_rate_between(monday, now), _rate_between(last_monday, monday))


def dashboard(now: datetime | None = None) -> dict[str, object]:
    now = now or timezone.now()
    hour_ago = now - timedelta(hours=1)
    offline = Reader.objects.enabled().filter(online=False).select_related("room")
    rejected = list(
        RejectedMessage.objects.filter(received_at__gte=hour_ago)
        .order_by()
        .values("reason")
        .annotate(n=Count("id"))
        .order_by("-n", "reason")[:8]
    )
    unreviewed = list(
        ProxyFlag.objects.filter(reviewed_at__isnull=True)
        .order_by()
        .values("kind")
        .annotate(n=Count("id"))
        .order_by("-n", "kind")
    )
    week_start = now - timedelta(days=7)
    warnings = Counter(
        dict(
            AttendanceWarning.objects.filter(created_at__gte=week_start)
            .order_by()
            .values("state")
            .annotate(n=Count("id"))
            .values_list("state", "n")
        )
    )
    return {
        "now": now,
        "sessions": todays_sessions(now),
        # Two weeks of records cost a few hundred ms at a million: kept a minute.
        "weeks": cache.get_or_set(
            f"zias-dashboard-weeks-{local_day(now)}", lambda: week_against_last(now), WEEKS_KEPT_S
        ),
        "offline_readers": list(offline[:12]),
        "offline_count": offline.count(),
        "rejected": rejected,
        "rejected_total": RejectedMessage.objects.filter(received_at__gte=hour_ago).count(),
        "rejected_since": hour_ago,
        "flags_waiting": sum(row["n"] for row in unreviewed),
        "flags_by_kind": unreviewed,
        "warnings_sent": warnings[WarningState.SENT] + warnings[WarningState.RETRACTED],
        "warnings_waiting": warnings[WarningState.PENDING] + warnings[WarningState.RETRACTING],
        "ingest": ingest_status(),
    }
