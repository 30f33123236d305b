"""Student: every course the student takes, with counts, the rate and the sessions missed
(absent, left early, or held without a record for them; excused ones are not missed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from attendance.models import AttendanceRecord, ClassSession, Course, Status, Student
from attendance.reports.period import Period
from attendance.reports.rates import STATUSES, Counts, ended_sessions
from attendance.reports.scope import NotAllowed, Scope
from attendance.reports.tables import Column, Kind, Table, integer, text

MISSED = (Status.ABSENT, Status.LEFT_EARLY)


@dataclass
class MissedSession:
    session: int
    starts_at: datetime
    room: str
    status: str | None  # None: no record


@dataclass
class StudentCourse:
    course: str
    name: str
    counts: Counts
    missed: list[MissedSession] = field(default_factory=list)


@dataclass
class StudentReport:
    student: str
    name: str
    period: Period
    courses: list[StudentCourse]


def student_report(student: Student, period: Period, scope: Scope, now: datetime) -> StudentReport:
    courses = Course.objects.filter(enrolments__student=student).order_by("code")
    if not (scope.everything or scope.student_id == student.pk):
        courses = courses.filter(pk__in=scope.taught)  # a teacher: the courses they teach
        if not courses.exists():
            raise NotAllowed("You may see only your own report or your students'.")
    entries = {c.pk: StudentCourse(c.code, c.name, Counts()) for c in courses}
    held = period.narrow(
        ended_sessions(ClassSession.objects.filter(course_id__in=list(entries)), now), "starts_at"
    )
    statuses = dict(
        AttendanceRecord.objects.filter(student=student, session__in=held.values("id"))
        .order_by()  # the default order would join sessions and students to sort
        .values_list("session_id", "status")
    )
    sessions = held.order_by("starts_at", "id").values_list(
        "id", "course_id", "starts_at", "room__code"
    )
    for session_id, course_id, starts_at, room in sessions:
        entry = entries[course_id]
        entry.counts.sessions += 1
        status = statuses.get(session_id)
        if status is not None:
            entry.counts.by_status[status] += 1
        if status is None or status in MISSED:
            entry.missed.append(MissedSession(session_id, starts_at, room, status))
    return StudentReport(student.number, student.full_name, period, list(entries.values()))


def as_table(report: StudentReport) -> Table:
    """One row per course with its counts, then one row per missed session."""
    columns = [
        text("course"), text("name"), *(integer(s) for s in STATUSES), integer("sessions"),
        Column("rate", Kind.PCT), Column("missed_session", Kind.DATETIME), text("room"),
        text("missed_status"),
    ]  # fmt: skip

    def rows() -> Iterator[list[object]]:
        for course in report.courses:
            counts = [course.counts.by_status[s] for s in STATUSES]
            yield [course.course, course.name, *counts, course.counts.sessions, course.counts.rate,
                   None, "", ""]  # fmt: skip
            for m in course.missed:
                blank = [None] * (len(STATUSES) + 2)
                yield [course.course, "", *blank, m.starts_at, m.room, m.status or "no record"]

    return Table(
        name=f"student-{report.student}",
        title=f"Student {report.student} {report.name}, {report.period.describe()}",
        columns=columns,
        rows=rows(),
    )
