"""The seven reports by name: how each is built from request parameters and turned into
a table. The API, the admin pages and the teachers' pages all go through here, so the
parameters mean the same everywhere."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import Http404

from attendance.models import Course, FlagKind, Room, Student
from attendance.reports import (
    below_threshold,
    consecutive,
    course_register,
    flags,
    no_evidence,
    rooms,
    student,
)
from attendance.reports.period import Period, ReportParamError, parse_int, parse_pct
from attendance.reports.scope import Scope
from attendance.reports.tables import Table

Params = Mapping[str, str]


def optional_course(params: Params) -> Course | None:
    code = (params.get("course") or "").strip()
    if not code:
        return None
    course = Course.objects.filter(code=code).first()
    if course is None:
        raise ReportParamError(f"course: there is no course {code!r}.")
    return course


def _found(model: Any, **lookup: str) -> Any:
    row = model.objects.filter(**lookup).first()
    if row is None:
        raise Http404(f"No {model._meta.verbose_name} {next(iter(lookup.values()))!r}.")
    return row


def build_register(params: Params, scope: Scope, period: Period, now: datetime, key: str) -> Any:
    course = _found(Course, code=key)
    return course_register.course_register(course, period, scope, now)


def build_student(params: Params, scope: Scope, period: Period, now: datetime, key: str) -> Any:
    return student.student_report(_found(Student, number=key), period, scope, now)


def build_below(params: Params, scope: Scope, period: Period, now: datetime, key: str) -> Any:
    least = parse_int(params, "min_sessions", below_threshold.DEFAULT_MIN_SESSIONS, 0, 10_000)
    pct = parse_pct(params, "pct", below_threshold.DEFAULT_PCT)
    return below_threshold.below_threshold(scope, period, now, pct, least, optional_course(params))


def build_runs(params: Params, scope: Scope, period: Period, now: datetime, key: str) -> Any:
    n = parse_int(params, "n", consecutive.DEFAULT_RUN, 1, 10_000)
    return consecutive.consecutive_absences(scope, period, now, n, optional_course(params))


def build_unseen(params: Params, scope: Scope, period: Period, now: datetime, key: str) -> Any:
    return no_evidence.sessions_without_evidence(scope, period, now, optional_course(params))


def build_flags(params: Params, scope: Scope, period: Period, now: datetime, key: str) -> Any:
    kind = (params.get("kind") or "").strip()
    if kind and kind not in FlagKind.values:
        raise ReportParamError(f"kind: {kind!r} is not one of {', '.join(FlagKind.values)}.")
    number = (params.get("student") or "").strip()
    target = Student.objects.filter(number=number).first() if number else None
    if number and target is None:
        raise ReportParamError(f"student: there is no student {number!r}.")
    return flags.flags_report(scope, period, kind, optional_course(params), target)


def build_room(params: Params, scope: Scope, period: Period, now: datetime, key: str) -> Any:
    return rooms.room_use(_found(Room, code=key), period, scope, now)


@dataclass(frozen=True)
class Entry:
    name: str  # as in the API path and the pages' url names
    title: str
    about: str
    build: Callable[[Params, Scope, Period, datetime, str], Any]
    as_table: Callable[[Any], Table]
    key: str = ""  # the path argument it needs: "course", "student" or "room"
    extra: tuple[str, ...] = ()  # its own parameters besides the period
    staff_or_teacher: bool = False  # students do not get it


REPORTS = {
    e.name: e
    for e in [
        Entry(
            "course",
            "Course register",
            "Students by sessions, a mark per cell, counts, rate.",
            build_register,
            course_register.as_table,
            key="course",
        ),
        Entry(
            "student",
            "Student",
            "Every course of one student: counts, rate, sessions missed.",
            build_student,
            student.as_table,
            key="student",
        ),
        Entry(
            "below-threshold",
            "Below threshold",
            "Students under a rate after a number of held sessions, with their last attendance.",
            build_below,
            below_threshold.as_table,
            extra=("pct", "min_sessions", "course"),
        ),
        Entry(
            "consecutive-absences",
            "Consecutive absences",
            "Students absent a number of sessions in a row in a course.",
            build_runs,
            consecutive.as_table,
            extra=("n", "course"),
        ),
        Entry(
            "sessions-without-evidence",
            "Sessions without evidence",
            "Held sessions nobody was seen in, and readers silent during sessions.",
            build_unseen,
            no_evidence.as_table,
            extra=("course",),
            staff_or_teacher=True,
        ),
        Entry(
            "flags",
            "Flags",
            "Anti-proxy flags by kind, course and student, with evidence.",
            build_flags,
            flags.as_table,
            extra=("kind", "course", "student"),
        ),
        Entry(
            "rooms",
            "Room use",
            "Occupancy over the day, and sessions against capacity.",
            build_room,
            rooms.as_table,
            key="room",
            staff_or_teacher=True,
        ),
    ]
}
