"""Who sees what in a report, decided once per request (like the records API).

Staff see everything. A teacher sees the whole of the courses they teach. A student sees
their own rows in the courses they take. A login with none of these roles sees nothing.
A teacher who is also a student sees both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from attendance.api.access import is_staff
from attendance.models import AttendanceRecord, Course, Enrolment, ProxyFlag

SessionRow = TypeVar("SessionRow", AttendanceRecord, ProxyFlag)


class NotAllowed(PermissionError):
    """The user may not see this report (or this part of it); the message says why."""


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    taught: frozenset[int] = frozenset()  # course ids seen whole
    student_id: int | None = None  # the user's own Student row

    @property
    def sees_anything(self) -> bool:
        return self.everything or bool(self.taught) or self.student_id is not None

    @property
    def is_staff_or_teacher(self) -> bool:
        return self.everything or bool(self.taught)

    def sees_course_whole(self, course_id: int) -> bool:
        return self.everything or course_id in self.taught

    def courses(self, courses: QuerySet[Course] | None = None) -> QuerySet[Course]:
        """The courses of which the user sees at least a row."""
        courses = Course.objects.all() if courses is None else courses
        if self.everything:
            return courses
        visible = Q(pk__in=self.taught)
        if self.student_id is not None:
            visible |= Q(enrolments__student_id=self.student_id)
        return courses.filter(visible).distinct()

    def enrolments(self, course_ids: list[int]) -> list[tuple[int, int]]:
        """(course id, student id) pairs the user may see, among these courses."""
        rows = Enrolment.objects.filter(course_id__in=course_ids)
        if not self.everything:
            visible = Q(course_id__in=self.taught)
            if self.student_id is not None:
                visible |= Q(student_id=self.student_id)
            rows = rows.filter(visible)
        return list(rows.values_list("course_id", "student_id"))

    def of_sessions(self, rows: QuerySet[SessionRow]) -> QuerySet[SessionRow]:
        """Rows of a session and a student (records, flags) the user may see: those of the
        courses they teach, and their own."""
        if self.everything:
            return rows
        visible = Q(pk__in=[])
        if self.taught:
            visible |= Q(session__course_id__in=self.taught)
        if self.student_id is not None:
            visible |= Q(student_id=self.student_id)
        return rows.filter(visible)

    def require_staff_or_teacher(self) -> None:
        if not self.is_staff_or_teacher:
            raise NotAllowed("Only staff and teachers may see this report.")


def scope_for(user: Any) -> Scope:
    if is_staff(user):
        return Scope(everything=True)
    if not (user and user.is_authenticated):
        return Scope()
    # The courses taught and the linked Student row in one query (a row per course taught,
    # or one row of NULLs): each query a report spares is a few milliseconds on a busy
    # machine, where every round trip waits for the database to be scheduled.
    rows = get_user_model().objects.filter(pk=user.pk).values_list("taught_courses", "student")
    taught = frozenset(course for course, _ in rows if course is not None)
    students = {student for _, student in rows if student is not None}
    return Scope(taught=taught, student_id=next(iter(students), None))
