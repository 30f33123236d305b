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

from attendance.models import AttendanceRecord, ClassSession, Course, Status
from attendance.reports.below_threshold import student_names, visible_course_ids
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


def runs_in(position: dict[int, int], marks: dict[int, str], n: int) -> list[tuple[int, int, int]]:
    """(length, first position, last position) of each run of `n` or more absences.

    `position` numbers the course's held sessions in order; `marks` are a student's absent
    and excused sessions. Only the marks are walked: two marks at neighbouring positions
    continue a run, any gap between them is a session attended (or unrecorded), which
    breaks it.
    """
    runs: list[tuple[int, int, int]] = []
    length, first, last, previous = 0, -1, -1, -2
    for pos, mark in sorted((position[s], m) for s, m in marks.items()):
        if pos != previous + 1:  # something else happened in between
            if length >= n:
                runs.append((length, first, last))
            length = 0
        previous = pos
        if mark == Status.ABSENT:
            if length == 0:
                first = pos
            length, last = length + 1, pos
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
    records = scope.of_sessions(AttendanceRecord.objects.filter(session__in=sessions.values("id")))
    rows = (
        records.filter(status__in=[Status.ABSENT, Status.EXCUSED])
        .order_by()  # the default order would join sessions and students to sort
        .values_list("session_id", "student_id", "status")
    )
    marks: dict[tuple[int, int], dict[int, str]] = defaultdict(dict)
    for session_id, student_id, status in rows:
        pair = (course_of[session_id], student_id)
        if pair in enrolled:
            marks[pair][session_id] = status
    return dict(marks)


def all_runs(
    scope: Scope, period: Period, now: datetime, course_ids: list[int]
) -> list[tuple[int, int, int, datetime, datetime, bool]]:
    """Every run of absences (of any length) in these courses: (course id, student id,
    length, first start, last start, ongoing)."""
    sessions = period.narrow(
        ended_sessions(ClassSession.objects.filter(course_id__in=course_ids), now), "starts_at"
    )
    held = list(sessions.order_by("starts_at", "id").values_list("id", "course_id", "starts_at"))
    order: dict[int, list[datetime]] = defaultdict(list)  # per course: its sessions' starts
    position, course_of = {}, {}
    for session_id, course_id, starts_at in held:
        position[session_id] = len(order[course_id])
        order[course_id].append(starts_at)
        course_of[session_id] = course_id
    marks = absence_marks(scope, sessions, course_of, set(scope.enrolments(course_ids)))
    runs = []
    for (course_id, student_id), student_marks in marks.items():
        starts = order[course_id]
        for length, first, last in runs_in(position, student_marks, 1):
            runs.append(
                (
                    course_id,
                    student_id,
                    length,
                    starts[first],
                    starts[last],
                    last == len(starts) - 1,
                )
            )
    return runs


def consecutive_absences(
    scope: Scope, period: Period, now: datetime, n: int = DEFAULT_RUN, course: Course | None = None
) -> ConsecutiveAbsences:
    course_ids = visible_course_ids(scope, course)
    key = (scope, tuple(course_ids), period)  # kept REUSE_SECONDS, whatever `now` says
    runs = reused(
        "absence-runs", key, len(course_ids), lambda: all_runs(scope, period, now, course_ids)
    )
    found = [run for run in runs if run[2] >= n]
    codes = dict(Course.objects.filter(pk__in={f[0] for f in found}).values_list("id", "code"))
    people = student_names({f[1] for f in found})
    rows = [
        AbsenceRun(codes[c], *people[s], length, first, last, ongoing)
        for c, s, length, first, last, ongoing in found
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
