"""`attendance/summary/<student>` and `attendance/realtime/<room>`: computed views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from attendance.api.access import (
    is_staff,
    may_watch_room,
    student_of,
    taught_courses,
    teacher_sees_student,
)
from attendance.api.report_schema import CountsSerializer
from attendance.api.schema import ApiDefaults
from attendance.models import AttendanceRecord, ClassSession, Course, Room, Student, Visit
from attendance.reports.rates import count_statuses, ended_sessions


class CourseSummarySerializer(CountsSerializer):
    """A course's counts and rate, as the reports count them (one rate rule)."""

    course = serializers.CharField()


class SummarySerializer(serializers.Serializer):
    student = serializers.CharField()
    courses = CourseSummarySerializer(many=True)


class PresentSerializer(serializers.Serializer):
    student = serializers.CharField()
    name = serializers.CharField()
    since = serializers.DateTimeField()
    source = serializers.ChoiceField(choices=["door", "ble", "manual"])  # type: ignore[assignment]


class CurrentSessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    course = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class RealtimeSerializer(serializers.Serializer):
    room = serializers.CharField()
    count = serializers.IntegerField()
    present = PresentSerializer(many=True)
    session = CurrentSessionSerializer(allow_null=True, help_text="The session running now.")


def course_summaries(student: Student, courses: QuerySet[Course], now: datetime) -> list[dict]:
    """Per course: ended sessions and the student's statuses in them, counted as the
    reports count them (attendance.reports.rates: two grouped queries)."""
    course_codes = dict(courses.values_list("id", "code"))
    ended = ended_sessions(ClassSession.objects.filter(course_id__in=course_codes), now)
    counts = count_statuses(
        ended,
        [(course_id, student.pk) for course_id in course_codes],
        records=AttendanceRecord.objects.filter(student=student),
    )
    return [
        {"course": code, **counts[(course_id, student.pk)].as_dict()}
        for course_id, code in sorted(course_codes.items(), key=lambda item: item[1])
    ]


@extend_schema(tags=["attendance"], responses={200: SummarySerializer})
class SummaryView(ApiDefaults, APIView):
    """Per course the student is enrolled in (a teacher: only the courses they teach)."""

    def get(self, request: Request, student: str) -> Response:
        target = get_object_or_404(Student, number=student)
        courses = Course.objects.filter(enrolments__student=target)
        if is_staff(request.user) or student_of(request.user) == target:
            pass  # every course the student takes
        elif teacher_sees_student(request.user, target):
            courses = courses.filter(pk__in=taught_courses(request.user).values("id"))
        else:
            raise PermissionDenied("You may see only your own summary or your students'.")
        summary = {
            "student": target.number,
            "courses": course_summaries(target, courses, timezone.now()),
        }
        return Response(SummarySerializer(summary).data)


def room_snapshot(room: Room, now: datetime) -> dict[str, Any]:
    """The room now, from the database: open visits and the session running in it."""
    visits = (
        Visit.objects.filter(room=room, left_at__isnull=True, entered_at__lte=now)
        .select_related("student")
        .order_by("entered_at", "id")
    )
    present: dict[int, dict[str, Any]] = {}
    for visit in visits:
        # One entry per student even if two visits are open (a door's and a phone's, or an
        # engine slip): the earliest, except that a door visit outranks the phone's
        # (attendance.live.keeps_held_entry, the live state's rule).
        held = present.get(visit.student_id)
        if held is not None and not (held["source"] == "ble" and visit.source == "door"):
            continue
        present[visit.student_id] = {
            "student": visit.student.number,
            "name": visit.student.full_name,
            "since": visit.entered_at,
            "source": visit.source,
        }
    session = (
        ClassSession.objects.running_at(now)
        .filter(room=room)
        .select_related("course")
        .order_by("starts_at")
        .first()
    )
    return {
        "room": room.code,
        "count": len(present),
        "present": list(present.values()),
        "session": None
        if session is None
        else {
            "id": session.pk,
            "course": session.course.code,
            "starts_at": session.starts_at,
            "ends_at": session.ends_at,
        },
    }


@extend_schema(tags=["attendance"], responses={200: RealtimeSerializer})
class RealtimeView(ApiDefaults, APIView):
    """Who is in the room now: staff always; a teacher while one of their own sessions
    there is running, or within LIVE_ACCESS_MARGIN_MINUTES of its start or end."""

    def get(self, request: Request, room: str) -> Response:
        target = get_object_or_404(Room, code=room)
        now = timezone.now()
        if not may_watch_room(request.user, target, now):
            raise PermissionDenied(
                "Only staff, and a teacher around one of their own sessions in this room, "
                "may watch it."
            )
        return Response(RealtimeSerializer(room_snapshot(target, now)).data)
