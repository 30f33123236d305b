"""Below threshold: students whose rate in a course is under `pct` after at least
`min_sessions` held sessions, with their last attended session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from attendance.models import AttendanceRecord, ClassSession, Course, Student
from attendance.reports.period import Period
from attendance.reports.rates import Counts, count_statuses, ended_sessions
from attendance.reports.reuse import reused
from attendance.reports.scope import Scope
from attendance.reports.tables import Column, Kind, Table, integer, text

DEFAULT_PCT = 75.0
DEFAULT_MIN_SESSIONS = 3


@dataclass
class BelowRow:
    course: str
    student: str
    name: str
    counts: Counts


@dataclass
class BelowThreshold:
    pct: float
    min_sessions: int
    period: Period
    rows: list[BelowRow]


def visible_course_ids(scope: Scope, course: Course | None) -> list[int]:
    courses = scope.courses()
    if course is not None:
        courses = courses.filter(pk=course.pk)
    return list(courses.values_list("id", flat=True))


def counts_in(
    scope: Scope, period: Period, now: datetime, course_ids: list[int]
) -> dict[tuple[int, int], Counts]:
    """Counts for every (course, student) pair of these courses the user may see."""

    def compute() -> dict[tuple[int, int], Counts]:
        held = period.narrow(
            ended_sessions(ClassSession.objects.filter(course_id__in=course_ids), now),
            "starts_at",
        )
        records = scope.records(AttendanceRecord.objects.all())
        return count_statuses(held, scope.enrolments(course_ids), records)

    key = (scope, tuple(course_ids), period)  # kept REUSE_SECONDS, whatever `now` says
    return reused("counts", key, len(course_ids), compute)


def student_names(ids: set[int]) -> dict[int, tuple[str, str]]:
    """Number and full name per student id (plain rows: thousands of students in one go)."""
    rows = Student.objects.filter(pk__in=ids).values_list("id", "number", "first_name", "last_name")
    return {pk: (number, f"{first} {last}".strip()) for pk, number, first, last in rows}


def below_threshold(
    scope: Scope,
    period: Period,
    now: datetime,
    pct: float = DEFAULT_PCT,
    min_sessions: int = DEFAULT_MIN_SESSIONS,
    course: Course | None = None,
) -> BelowThreshold:
    counts = counts_in(scope, period, now, visible_course_ids(scope, course))
    rated = ((pair, c.rate) for pair, c in counts.items() if c.sessions >= min_sessions)
    below = [pair for pair, rate in rated if rate is not None and rate < pct]
    codes = dict(Course.objects.filter(pk__in={c for c, _ in below}).values_list("id", "code"))
    people = Student.objects.in_bulk({s for _, s in below})
    rows = [
        BelowRow(codes[c], people[s].number, people[s].full_name, counts[(c, s)]) for c, s in below
    ]
    rows.sort(key=lambda r: (r.course, r.counts.rate or 0.0, r.student))
    return BelowThreshold(pct, min_sessions, period, rows)


def as_table(report: BelowThreshold) -> Table:
    columns = [
        text("course"), text("student"), text("name"), integer("sessions"),
        integer("attended"), integer("excused"), Column("rate", Kind.PCT),
        Column("last_attended", Kind.DATETIME),
    ]  # fmt: skip

    def rows() -> Iterator[list[object]]:
        for r in report.rows:
            c = r.counts
            yield [
                r.course, r.student, r.name, c.sessions, c.attended,
                c.by_status["excused"], c.rate, c.last_attended,
            ]  # fmt: skip

    return Table(
        name="below-threshold",
        title=f"Below {report.pct:g}% after at least {report.min_sessions} sessions, "
        f"{report.period.describe()}",
        columns=columns,
        rows=rows(),
    )
