"""Consecutive absences: runs of `n` or more absences in a row in a course.

A run is counted over the course's held sessions in order. An excused session is left
out, as in the rate (it neither adds to a run nor breaks it); any other status breaks
it, and so does a session without a record for the student (the engine writes one for
every enrolled student when a session ends, so such a gap is a session from before the
student enrolled, or one that ended moments ago).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from attendance.models import AttendanceRecord, ClassSession, Course, Status, Student
from attendance.reports.below_threshold import visible_course_ids
from attendance.reports.period import Period
from attendance.reports.rates import ended_sessions
from attendance.reports.reuse import reused
from attendance.reports.scope import Scope
from attendance.reports.tables import Column, Kind, Table, integer, text

DEFAULT_RUN = 3


@dataclass
class AbsenceRun:
    course: str
    student: str
    name: str
    length: int
    first: datetime  # the start of the run's first and last absent session
    last: datetime
    ongoing: bool  # the run reaches the course's latest held session


@dataclass
class ConsecutiveAbsences:
    n: int
    period: Period
    rows: list[AbsenceRun]


def runs_in(order: list[int], marks: dict[int, str], n: int) -> list[tuple[int, int, int]]:
    """(length, first index, last index) of each run of `n` or more absences.

    `order` is the course's held sessions by start, `marks` a student's absent or excused
    sessions (any session missing from it broke a run).
    """
    runs, length, first, last = [], 0, -1, -1
    for index, session_id in enumerate(order):
        mark = marks.get(session_id)
        if mark == Status.EXCUSED:
            continue
        if mark == Status.ABSENT:
            if length == 0:
                first = index
            length, last = length + 1, index
            continue
        if length >= n:
            runs.append((length, first, last))
        length = 0
    if length >= n:
        runs.append((length, first, last))
    return runs


def absence_marks(
    scope: Scope,
    sessions: QuerySet[ClassSession],
    course_of: dict[int, int],
    enrolled: set[tuple[int, int]],
) -> dict[tuple[int, int], dict[int, str]]:
    """Per visible (course, student): their absent and excused sessions among `sessions`."""
    records = scope.records(AttendanceRecord.objects.filter(session__in=sessions.values("id")))
    rows = records.filter(status__in=[Status.ABSENT, Status.EXCUSED]).values_list(
        "session_id", "student_id", "status"
    )
    marks: dict[tuple[int, int], dict[int, str]] = defaultdict(dict)
    for session_id, student_id, status in rows:
        pair = (course_of[session_id], student_id)
        if pair in enrolled:
            marks[pair][session_id] = status
    return dict(marks)


def consecutive_absences(
    scope: Scope, period: Period, now: datetime, n: int = DEFAULT_RUN, course: Course | None = None
) -> ConsecutiveAbsences:
    course_ids = visible_course_ids(scope, course)
    sessions = period.narrow(
        ended_sessions(ClassSession.objects.filter(course_id__in=course_ids), now), "starts_at"
    )
    held = list(sessions.order_by("starts_at", "id").values_list("id", "course_id", "starts_at"))
    order: dict[int, list[int]] = defaultdict(list)
    starts = {}
    for session_id, course_id, starts_at in held:
        order[course_id].append(session_id)
        starts[session_id] = starts_at
    course_of = {session_id: course_id for session_id, course_id, _ in held}
    enrolled = set(scope.enrolments(course_ids))
    marks = reused(
        "absences",
        (scope, course_ids, period, now.replace(second=0, microsecond=0)),
        len(enrolled),
        lambda: absence_marks(scope, sessions, course_of, enrolled),
    )
    found = []
    for (course_id, student_id), student_marks in marks.items():
        sequence = order[course_id]
        for length, first, last in runs_in(sequence, student_marks, n):
            found.append((course_id, student_id, length, first, last, len(sequence) - 1))
    codes = dict(Course.objects.filter(pk__in={f[0] for f in found}).values_list("id", "code"))
    people = Student.objects.in_bulk({f[1] for f in found})
    rows = [
        AbsenceRun(
            codes[c],
            people[s].number,
            people[s].full_name,
            length,
            starts[order[c][first]],
            starts[order[c][last]],
            last == latest,
        )
        for c, s, length, first, last, latest in found
    ]
    rows.sort(key=lambda r: (r.course, -r.length, r.student, r.first))
    return ConsecutiveAbsences(n, period, rows)


def as_table(report: ConsecutiveAbsences) -> Table:
    columns = [
        text("course"), text("student"), text("name"), integer("absences_in_a_row"),
        Column("first_absence", Kind.DATETIME), Column("last_absence", Kind.DATETIME),
        Column("ongoing", Kind.BOOL),
    ]  # fmt: skip

    def rows() -> Iterator[list[object]]:
        for r in report.rows:
            yield [r.course, r.student, r.name, r.length, r.first, r.last, r.ongoing]

    return Table(
        name="consecutive-absences",
        title=f"{report.n} or more absences in a row, {report.period.describe()}",
        columns=columns,
        rows=rows(),
    )
