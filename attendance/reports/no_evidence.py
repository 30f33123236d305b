"""Sessions without evidence: held sessions in which nobody was seen (a reader down, a
class moved to another room), and door readers silent during a held session.

"Seen" means a record that is present, late or left early. A reader is silent during a
session when no event from it was stored between the session's start and end: a reader
that was off or offline (heartbeats are not stored, so a reader that was online but
untouched looks the same; read it beside the session's count of students seen).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, F, OuterRef, QuerySet

from attendance.models import AttendanceRecord, ClassSession, Course, Status
from attendance.reports.period import Period
from attendance.reports.rates import ended_sessions
from attendance.reports.reuse import REUSE_MIN_COURSES, reused
from attendance.reports.scope import Scope
from attendance.reports.tables import Column, Kind, Table, integer, text
from devices.models import RawEvent, Reader, SenderKind

SEEN = (Status.PRESENT, Status.LATE, Status.LEFT_EARLY)


@dataclass
class UnseenSession:
    session: int
    course: str
    room: str
    starts_at: datetime
    ends_at: datetime
    enrolled: int
    readers: list[str] = field(default_factory=list)  # the room's readers
    silent_readers: list[str] = field(default_factory=list)


@dataclass
class SilentReader:
    reader: str
    room: str
    session: int
    course: str
    starts_at: datetime
    ends_at: datetime
    online_now: bool
    last_seen: datetime | None


@dataclass
class SessionsWithoutEvidence:
    period: Period
    sessions: list[UnseenSession]
    silent_readers: list[SilentReader]


def _heard(reader_field: str) -> Exists:
    return Exists(
        RawEvent.objects.filter(
            sender_kind=SenderKind.DEVICE,
            sender=OuterRef(reader_field),
            ts__gte=OuterRef("starts_at"),
            ts__lt=OuterRef("ends_at"),
        )
    )


def _held(scope: Scope, period: Period, now: datetime, course: Course | None) -> QuerySet:
    sessions = ClassSession.objects.all()
    if not scope.everything:
        sessions = sessions.filter(course_id__in=scope.taught)
    if course is not None:
        sessions = sessions.filter(course=course)
    return period.narrow(ended_sessions(sessions, now), "starts_at")


def sessions_without_evidence(
    scope: Scope, period: Period, now: datetime, course: Course | None = None
) -> SessionsWithoutEvidence:
    scope.require_staff_or_teacher()
    # Every held session of the school is probed once: kept a while, like the counts.
    courses = REUSE_MIN_COURSES if scope.everything and course is None else len(scope.taught)
    key = (scope, course.pk if course else None, period)
    return reused("unseen", key, courses, lambda: _compute(scope, period, now, course))


def _compute(
    scope: Scope, period: Period, now: datetime, course: Course | None
) -> SessionsWithoutEvidence:
    held = _held(scope, period, now, course)
    seen = AttendanceRecord.objects.filter(session=OuterRef("pk"), status__in=SEEN)
    unseen = list(
        held.filter(~Exists(seen)).select_related("course", "room").order_by("starts_at", "id")
    )
    enrolled = dict(
        Course.objects.filter(pk__in={s.course_id for s in unseen})
        .values_list("id")
        .annotate(n=Count("enrolments"))
    )
    readers: dict[int, list[str]] = {}
    for device, room_id in Reader.objects.filter(
        room_id__in={s.room_id for s in unseen}
    ).values_list("device_id", "room_id"):
        readers.setdefault(room_id, []).append(device)
    silent = silent_readers(held)
    silent_by_session: dict[int, list[str]] = {}
    for row in silent:
        silent_by_session.setdefault(row.session, []).append(row.reader)
    sessions = [
        UnseenSession(
            s.pk,
            s.course.code,
            s.room.code,
            s.starts_at,
            s.ends_at,
            enrolled.get(s.course_id, 0),
            sorted(readers.get(s.room_id, [])),
            sorted(silent_by_session.get(s.pk, [])),
        )
        for s in unseen
    ]
    return SessionsWithoutEvidence(period, sessions, silent)


def silent_readers(held: QuerySet[ClassSession]) -> list[SilentReader]:
    """Each (held session, reader of its room) with no event stored during the session:
    one index probe per pair (event_sender_ts)."""
    rows = (
        held.filter(room__readers__isnull=False)
        .annotate(
            reader=F("room__readers__device_id"),
            online=F("room__readers__online"),
            last_seen=F("room__readers__last_seen"),
            heard=_heard("room__readers__device_id"),
        )
        .filter(heard=False)
        .order_by("starts_at", "id", "reader")
        .values_list(
            "reader",
            "room__code",
            "id",
            "course__code",
            "starts_at",
            "ends_at",
            "online",
            "last_seen",
        )
    )
    return [SilentReader(*row) for row in rows]


def as_table(report: SessionsWithoutEvidence) -> Table:
    """Both lists in one sheet: `what` says which a row is."""
    columns = [
        text("what"), integer("session"), text("course"), text("room"),
        Column("starts_at", Kind.DATETIME), Column("ends_at", Kind.DATETIME),
        integer("enrolled"), text("readers"), text("silent_readers"),
        Column("online_now", Kind.BOOL),
    ]  # fmt: skip

    def rows() -> Iterator[list[object]]:
        for s in report.sessions:
            yield ["nobody seen", s.session, s.course, s.room, s.starts_at, s.ends_at,
                   s.enrolled, s.readers, s.silent_readers, None]  # fmt: skip
        for r in report.silent_readers:
            yield ["reader silent", r.session, r.course, r.room, r.starts_at, r.ends_at,
                   None, [r.reader], [r.reader], r.online_now]  # fmt: skip

    return Table(
        "sessions-without-evidence",
        f"Sessions without evidence and silent readers, {report.period.describe()}",
        columns,
        rows(),
    )
