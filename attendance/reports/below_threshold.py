"""Below threshold: students whose rate in a course is under `pct` after at least
`min_sessions` held sessions, with their last attended session."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from attendance.models import AttendanceRecord, ClassSession, Course, Student
from attendance.names import full_name
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
    """The courses of which the user sees a row (only `course`, if given): asked of the
    database only when a student's enrolments decide it."""
    if course is not None and scope.sees_course_whole(course.pk):
        return [course.pk]
    if course is None and not scope.everything and scope.student_id is None:
        return sorted(scope.taught)
    courses = scope.courses()
    if course is not None:
        courses = courses.filter(pk=course.pk)
    return list(courses.values_list("id", flat=True))


@dataclass
class RatedCounts:
    """Every visible (course, student) pair's counts, and the rated pairs lowest rate
    first: a threshold then reads only the pairs under it, not ten thousand rates.

    The course codes and student names of the rows shown are looked up once and kept
    with the counts (for as long as they are kept), so a registrar moving the threshold
    up does not read thousands of names again each time.
    """

    counts: dict[tuple[int, int], Counts]
    rated: list[tuple[float, int, tuple[int, int]]]  # (rate, sessions, pair), by rate
    codes: dict[int, str] = field(default_factory=dict)
    people: dict[int, tuple[str, str]] = field(default_factory=dict)  # number, name

    @classmethod
    def of(cls, counts: dict[tuple[int, int], Counts]) -> RatedCounts:
        rated = [(c.rate, c.sessions, pair) for pair, c in counts.items() if c.rate is not None]
        rated.sort(key=lambda entry: entry[0])
        return cls(counts, rated)  # type: ignore[arg-type]  # None rates left out above

    def below(self, pct: float, min_sessions: int) -> list[tuple[int, int]]:
        under = bisect_left(self.rated, pct, key=lambda entry: entry[0])
        return [pair for _, sessions, pair in self.rated[:under] if sessions >= min_sessions]

    def rows(self, pairs: list[tuple[int, int]]) -> list[BelowRow]:
        """The rows for these pairs, labelled: course, then lowest rate, then number."""
        # Updates of a kept instance from two requests at once write the same values.
        if missing := {c for c, _ in pairs} - self.codes.keys():
            self.codes.update(Course.objects.filter(pk__in=missing).values_list("id", "code"))
        if missing := {s for _, s in pairs} - self.people.keys():
            self.people.update(student_names(missing))
        rows = [BelowRow(self.codes[c], *self.people[s], self.counts[(c, s)]) for c, s in pairs]
        rows.sort(key=lambda r: (r.course, r.counts.rate or 0.0, r.student))
        return rows


def counts_in(scope: Scope, period: Period, now: datetime, course_ids: list[int]) -> RatedCounts:
    """Counts for every (course, student) pair of these courses the user may see."""

    def compute() -> RatedCounts:
        held = period.narrow(
            ended_sessions(ClassSession.objects.filter(course_id__in=course_ids), now),
            "starts_at",
        )
        records = scope.of_sessions(AttendanceRecord.objects.all())
        return RatedCounts.of(count_statuses(held, scope.enrolments(course_ids), records))

    key = (scope, tuple(course_ids), period)  # kept REUSE_SECONDS, whatever `now` says
    return reused("counts", key, len(course_ids), compute)


def student_names(ids: set[int]) -> dict[int, tuple[str, str]]:
    """Number and full name per student id (plain rows: thousands of students in one go)."""
    rows = Student.objects.filter(pk__in=ids).values_list("id", "number", "first_name", "last_name")
    return {pk: (number, full_name(first, last)) for pk, number, first, last in rows}


def below_threshold(
    scope: Scope,
    period: Period,
    now: datetime,
    pct: float = DEFAULT_PCT,
    min_sessions: int = DEFAULT_MIN_SESSIONS,
    course: Course | None = None,
) -> BelowThreshold:
    kept = counts_in(scope, period, now, visible_course_ids(scope, course))
    rows = kept.rows(kept.below(pct, min_sessions))
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
