"""The contract's attendance rate and the per-student counts it is computed from.

`sessions` counts a course's ended, not cancelled sessions; the rate is the percentage
(one decimal) of those, excused ones left out, in which the student was `present` or
`late`; a session without a record for the student counts as not attended. `None` when
nothing is left to count. The rate itself is attendance.rules.rates' (the one rule the
summary, the warnings and the dashboard use too); here are the counts it is computed from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max, QuerySet

from attendance.models import AttendanceRecord, ClassSession, Status
from attendance.rules.rates import attendance_rate

STATUSES = [s.value for s in Status]
ATTENDED = (Status.PRESENT.value, Status.LATE.value)


@dataclass
class Counts:
    """One student's statuses in one course's ended sessions."""

    sessions: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    last_attended: datetime | None = None

    @property
    def attended(self) -> int:
        return self.by_status[Status.PRESENT] + self.by_status[Status.LATE]

    @property
    def unrecorded(self) -> int:
        """Ended sessions with no record for the student (counted as not attended)."""
        return max(0, self.sessions - sum(self.by_status.values()))

    @property
    def rate(self) -> float | None:
        return attendance_rate(self.attended, self.sessions, self.by_status[Status.EXCUSED])

    def as_dict(self) -> dict[str, object]:
        return {"sessions": self.sessions, **self.by_status, "rate": self.rate}


def ended_sessions(sessions: QuerySet[ClassSession], now: datetime) -> QuerySet[ClassSession]:
    """The sessions that count as held: ended by `now` and not cancelled."""
    return sessions.filter(ends_at__lte=now, cancelled=False)


def held_per_course(sessions: QuerySet[ClassSession]) -> dict[int, int]:
    return dict(
        sessions.order_by()
        .values("course_id")
        .annotate(n=Count("id"))
        .values_list("course_id", "n")
    )


def count_statuses(
    sessions: QuerySet[ClassSession],
    pairs: Iterable[tuple[int, int]],
    records: QuerySet[AttendanceRecord] | None = None,
) -> dict[tuple[int, int], Counts]:
    """Counts per (course id, student id) for `pairs`, over the held `sessions` (already
    filtered to ended ones). `records` narrows the records read (a student's own, say).

    Two grouped queries whatever the number of students: the sessions per course, and the
    records per course, student and status (with the last attended start).
    """
    held = held_per_course(sessions)
    counts: dict[tuple[int, int], Counts] = {}
    for course_id, student_id in pairs:
        counts[(course_id, student_id)] = Counts(sessions=held.get(course_id, 0))
    if not counts:
        return counts
    base = records if records is not None else AttendanceRecord.objects.all()
    rows = (
        base.filter(session__in=sessions.values("id"))
        .order_by()
        .values_list("session__course_id", "student_id", "status")
        .annotate(n=Count("id"), last=Max("session_starts_at"))
    )
    for course_id, student_id, status, n, last in rows:
        entry = counts.get((course_id, student_id))
        if entry is None:
            continue  # a record of a student no longer enrolled: not in the rate
        entry.by_status[status] = n
        if status in ATTENDED and (entry.last_attended is None or last > entry.last_attended):
            entry.last_attended = last
    return counts


def group_by_course(pairs: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
    by_course: dict[int, list[int]] = defaultdict(list)
    for course_id, student_id in pairs:
        by_course[course_id].append(student_id)
    return by_course
