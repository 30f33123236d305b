"""Import resources for rooms, courses, enrolments, terms, holidays and timetable slots.

Each is the provisioning API's serializer and its natural key (see zias/imports/resource.py);
students, with their cards, are in devices/imports.py, which knows about cards.
"""

from __future__ import annotations

from attendance.api.provisioning import CourseSerializer, RoomSerializer
from attendance.api.schedule import (
    EnrolmentSerializer,
    HolidaySerializer,
    TermSerializer,
    TimetableSlotSerializer,
)
from zias.imports.resource import SerializerResource


class RoomResource(SerializerResource):
    serializer_class = RoomSerializer
    key = {"code": "code"}


class CourseResource(SerializerResource):
    """`teachers` are usernames and `students` numbers, each list separated by spaces. A
    file without a `students` column leaves the enrolments alone; with one, the course's
    students become exactly those listed."""

    serializer_class = CourseSerializer
    key = {"code": "code"}


class EnrolmentResource(SerializerResource):
    """Enrolments by course and student (`effective_from`: the day a late enrolment counts
    from). Saving one is a plain insert, so new ones go in a chunk at a time, each with the
    signals of its own save (a recompute request where sessions have already been held)."""

    serializer_class = EnrolmentSerializer
    key = {"course": "course", "student": "student"}
    create_in_bulk = True


class TermResource(SerializerResource):
    serializer_class = TermSerializer
    key = {"name": "name"}


class HolidayResource(SerializerResource):
    serializer_class = HolidaySerializer
    key = {"term": "term", "name": "name"}


class TimetableSlotResource(SerializerResource):
    """A weekly slot, by term, course, weekday and start time; run the term's "regenerate
    sessions" action afterwards to make its sessions."""

    serializer_class = TimetableSlotSerializer
    key = {"term": "term", "course": "course", "weekday": "weekday", "start_time": "start_time"}
