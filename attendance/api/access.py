"""Who may see and do what through the API: the roles, in one place.

Staff (``is_staff``) may do everything. A teacher is a user who teaches at least one
course: they see that course's sessions, records and rooms and may correct its records.
A student is a user linked to a Student row: they see only their own records and
summary, and may register a phone. Everyone else sees nothing.

Watching a room live (the live page, its WebSocket, the realtime API) is narrower for a
teacher: only around one of their own sessions there (`may_watch_room`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Max, Q, QuerySet
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from attendance.models import AttendanceRecord, ClassSession, Course, Room, Student


def is_staff(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_staff)


def taught_courses(user: Any) -> QuerySet[Course]:
    return Course.objects.filter(teachers=user)


def is_teacher(user: Any) -> bool:
    return bool(user and user.is_authenticated) and taught_courses(user).exists()


def student_of(user: Any) -> Student | None:
    """The Student row linked to this login, or None."""
    if not (user and user.is_authenticated):
        return None
    try:
        return user.student  # type: ignore[no-any-return]
    except Student.DoesNotExist:
        return None


def visible_records(user: Any, records: QuerySet[AttendanceRecord]) -> QuerySet[AttendanceRecord]:
    """Staff: all; a teacher: their courses' records; a student: their own.

    The role is worked out first (two small queries) so the records query gets a plain
    condition an index can serve; an OR of both would make the database scan them all.
    """
    if is_staff(user):
        return records
    taught = list(taught_courses(user).values_list("id", flat=True))
    student = student_of(user)
    visible = Q(pk__in=[])
    if taught:
        visible |= Q(session__course_id__in=taught)
    if student is not None:
        visible |= Q(student=student)
    return records.filter(visible)


def may_correct(user: Any, session: ClassSession) -> bool:
    """Staff, and the teachers of the session's course (checked before anything is written)."""
    if is_staff(user):
        return True
    return taught_courses(user).filter(pk=session.course_id).exists()


def live_access_margin() -> timedelta:
    """How long before a session starts and after it ends its teachers may watch the room."""
    return timedelta(minutes=settings.LIVE_ACCESS_MARGIN_MINUTES)


def _sessions_letting_watch(user: Any, now: datetime) -> QuerySet[ClassSession]:
    return ClassSession.objects.watchable_at(now, live_access_margin()).filter(
        course__teachers=user
    )


def may_watch_room(user: Any, room: Room, now: datetime) -> bool:
    """Staff always; a teacher while one of their own sessions in the room is running, or
    within LIVE_ACCESS_MARGIN_MINUTES of its start or end. The one rule for the live page,
    its WebSocket and the realtime API; a course taught there last week lets no one in."""
    if is_staff(user):
        return True
    if not (user and user.is_authenticated):
        return False
    return _sessions_letting_watch(user, now).filter(room=room).exists()


def rooms_teacher_may_watch(user: Any, now: datetime) -> set[int]:
    """The ids of the rooms `may_watch_room` lets this (non-staff) user watch now."""
    if not (user and user.is_authenticated):
        return set()
    return set(_sessions_letting_watch(user, now).values_list("room_id", flat=True))


def teacher_watch_ends_at(user: Any, room: Room, now: datetime) -> datetime | None:
    """When a teacher's watch of the room, allowed now, runs out: the latest end among the
    sessions that let them in, plus the margin (a following session may extend it, so ask
    again then). None when not allowed now; not for staff, whose watch never runs out."""
    sessions = _sessions_letting_watch(user, now).filter(room=room)
    last_end = sessions.aggregate(end=Max("ends_at"))["end"]
    return None if last_end is None else last_end + live_access_margin()


def teacher_sees_student(user: Any, student: Student) -> bool:
    return taught_courses(user).filter(enrolments__student=student).exists()


class IsStaff(BasePermission):
    message = "Only staff may use this endpoint."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_staff(request.user)


class StaffWritesTeachersRead(BasePermission):
    """Staff do anything; teachers may read (their querysets are narrowed by the view)."""

    message = "Only staff may change this, and only staff and teachers may read it."

    def has_permission(self, request: Request, view: Any) -> bool:
        if is_staff(request.user):
            return True
        return request.method in SAFE_METHODS and is_teacher(request.user)
