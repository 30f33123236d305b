"""A test school with a seeded term, for the report tests.

One term of weekly sessions: ALGEBRA (8 held, 1 cancelled, 2 to come) taught by Tina to
six students, and HISTORY (6 held) taught by Omar to three of them. Statuses are drawn
from a fixed seed; some cells have no record (a session from before a student enrolled),
so the reports' rule for those is exercised too. `statuses` holds what was seeded, for
the tests to recompute every figure on their own.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from attendance.models import AttendanceRecord, ClassSession, Course, Room, Status, Student, Term
from attendance.reports.reuse import forget
from tests.factories import make_course, make_room, make_session, make_student, make_user

WEIGHTS = {
    Status.PRESENT: 50, Status.LATE: 10, Status.LEFT_EARLY: 8, Status.ABSENT: 22,
    Status.EXCUSED: 6, None: 4,
}  # fmt: skip


@dataclass
class ReportSchool:
    now: datetime
    term: Term
    staff: Any
    tina: Any
    omar: Any
    students: list[Student]
    student_users: list[Any]
    room: Room
    other_room: Room
    algebra: Course
    history: Course
    held: dict[str, list[ClassSession]]  # course code -> held sessions, by start
    statuses: dict[tuple[int, int], str | None] = field(default_factory=dict)  # (session, student)


def build_report_school(seed: int = 18) -> ReportSchool:
    forget()  # nothing kept from an earlier test's school
    rng = random.Random(seed)
    now = timezone.now()
    today = timezone.localdate(now)
    term = Term.objects.create(
        name="Autumn", starts_on=today - timedelta(days=70), ends_on=today + timedelta(days=30)
    )
    staff = make_user("registrar", staff=True)
    tina, omar = make_user("tina"), make_user("omar")
    users = [make_user(f"pupil{i}") for i in range(6)]
    students = [
        make_student(f"S20{i:02d}", first_name=f"Pupil{i}", last_name=f"Zed{i}", user=u)
        for i, u in enumerate(users)
    ]
    room = make_room("B-204", capacity=4)
    other = make_room("C-101")
    algebra = make_course("ALGEBRA", teachers=(tina,), students=tuple(students))
    history = make_course("HISTORY", teachers=(omar,), students=tuple(students[:3]))
    school = ReportSchool(now, term, staff, tina, omar, students, users, room, other, algebra,
                          history, {})  # fmt: skip
    first = timezone.make_aware(datetime.combine(term.starts_on, datetime.min.time()))
    school.held["ALGEBRA"] = _weekly(school, algebra, room, first + timedelta(hours=9), 8, rng)
    school.held["HISTORY"] = _weekly(school, history, other, first + timedelta(hours=13), 6, rng)
    cancelled = make_session(algebra, room, first + timedelta(days=8 * 7, hours=9))
    ClassSession.objects.filter(pk=cancelled.pk).update(cancelled=True)
    for weeks in (20, 21):  # in the future: not held yet
        make_session(algebra, room, now + timedelta(days=weeks))
    return school


def _weekly(
    school: ReportSchool,
    course: Course,
    room: Room,
    start: datetime,
    weeks: int,
    rng: random.Random,
) -> list[ClassSession]:
    sessions = [make_session(course, room, start + timedelta(days=7 * w)) for w in range(weeks)]
    statuses, weights = list(WEIGHTS), list(WEIGHTS.values())
    for session in sessions:
        for student in course.students.all():
            status = rng.choices(statuses, weights)[0]
            school.statuses[(session.pk, student.pk)] = status
            if status is not None:
                seen = status in (Status.PRESENT, Status.LATE, Status.LEFT_EARLY)
                AttendanceRecord.objects.create(
                    session=session,
                    student=student,
                    status=status,
                    first_seen=session.starts_at if seen else None,
                    last_seen=session.ends_at if seen else None,
                    minutes_present=50 if seen else 0,
                )
    return sessions


def day(moment: datetime) -> date:
    return timezone.localdate(moment)
