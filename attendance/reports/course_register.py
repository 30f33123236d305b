"""Course register: the course's students by its held sessions, a mark in every cell,
counts and the rate per student, counts per session."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from attendance.models import AttendanceRecord, Course, Status, Student
from attendance.names import full_name
from attendance.reports.period import Period
from attendance.reports.rates import STATUSES, Counts, ended_sessions
from attendance.reports.scope import NotAllowed, Scope
from attendance.reports.tables import Column, Kind, Table, integer, text

# What a printed register shows in a cell; a session without a record stays blank.
MARKS = {
    Status.PRESENT: "P", Status.LATE: "L", Status.LEFT_EARLY: "E",
    Status.ABSENT: "A", Status.EXCUSED: "X",
}  # fmt: skip
LEGEND = "P present, L late, E left early, A absent, X excused, blank: no record"


@dataclass
class RegisterSession:
    id: int
    starts_at: datetime
    ends_at: datetime
    room: str
    enrolled: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))

    @property
    def unrecorded(self) -> int:
        """Students in the register without a record for this session."""
        return self.enrolled - sum(self.counts.values())


@dataclass
class RegisterRow:
    student: str
    name: str
    marks: list[str | None]  # one status (or None: no record) per session, in order
    counts: Counts


@dataclass
class CourseRegister:
    course: str
    name: str
    period: Period
    sessions: list[RegisterSession]
    rows: list[RegisterRow]


def course_register(course: Course, period: Period, scope: Scope, now: datetime) -> CourseRegister:
    students = Student.objects.filter(enrolments__course=course)
    if not scope.sees_course_whole(course.pk):
        if scope.student_id is None or not students.filter(pk=scope.student_id).exists():
            raise NotAllowed("Only staff, the course's teachers and its students may see it.")
        students = students.filter(pk=scope.student_id)  # a student: their own row only
    # Plain rows, not model instances: a term's register is 50 students by 100 sessions.
    people = list(
        students.order_by("last_name", "first_name", "number").values_list(
            "id", "number", "first_name", "last_name"
        )
    )
    held = period.narrow(ended_sessions(course.sessions.all(), now), "starts_at")
    sessions = [
        RegisterSession(pk, starts_at, ends_at, room, enrolled=len(people))
        for pk, starts_at, ends_at, room in held.order_by("starts_at", "id").values_list(
            "id", "starts_at", "ends_at", "room__code"
        )
    ]
    column = {s.id: i for i, s in enumerate(sessions)}
    row_of = {
        pk: RegisterRow(
            number, full_name(first, last), [None] * len(sessions), Counts(len(sessions))
        )
        for pk, number, first, last in people
    }
    # By session ids alone, read from the covering index (session, status, student); a
    # record of a student no longer enrolled (or not the user's own) is skipped here.
    # Unordered: the records' default order joins sessions and students and sorts every
    # row (four fifths of the request's time at 5,000 cells).
    records = (
        AttendanceRecord.objects.filter(session_id__in=list(column))
        .order_by()
        .values_list("session_id", "student_id", "status")
    )
    marks_of = {pk: row.marks for pk, row in row_of.items()}
    for session_id, student_id, status in records:
        marks = marks_of.get(student_id)
        if marks is not None:
            marks[column[session_id]] = status
    # Counted once the cells are placed, by row and by column (Counter counts in C).
    for row in row_of.values():
        add_counts(row.counts.by_status, row.marks)
    for session, cells in zip(sessions, zip(*marks_of.values(), strict=True), strict=False):
        add_counts(session.counts, cells)
    return CourseRegister(course.code, course.name, period, sessions, list(row_of.values()))


def add_counts(counts: dict[str, int], marks: Iterable[str | None]) -> None:
    for status, n in Counter(marks).items():
        if status is not None:
            counts[status] += n


COUNT_COLUMNS = [integer(s) for s in STATUSES] + [integer("sessions"), Column("rate", Kind.PCT)]


def as_table(register: CourseRegister) -> Table:
    heads = [
        text(f"{timezone.localtime(s.starts_at):%Y-%m-%d %H:%M} {s.room}")
        for s in register.sessions
    ]
    columns = [text("student"), text("name"), *heads, *COUNT_COLUMNS]

    def rows() -> Iterator[list[object]]:
        for row in register.rows:
            marks = [MARKS.get(m, "") if m else "" for m in row.marks]  # type: ignore[call-overload]
            counts = [row.counts.by_status[s] for s in STATUSES]
            yield [row.student, row.name, *marks, *counts, row.counts.sessions, row.counts.rate]
        blank = [None] * len(COUNT_COLUMNS)
        for status in STATUSES:
            yield [
                "",
                f"sessions: {status}",
                *(s.counts[status] for s in register.sessions),
                *blank,
            ]

    return Table(
        name=f"register-{register.course}",
        title=f"Course register {register.course} {register.name}, {register.period.describe()}"
        f" ({LEGEND})",
        columns=columns,
        rows=rows(),
    )
