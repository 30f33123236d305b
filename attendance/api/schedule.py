"""Provisioning of the school year: terms, holidays, weekly timetable slots and enrolments.

Each is looked up by its natural key, the parts joined by '/' in the URL:
`terms/<name>`, `holidays/<term>/<name>`, `timetable-slots/<term>/<course>/<weekday>/<start>`,
`enrolments/<course>/<student>`. Staff do everything; teachers read the terms and holidays,
and the slots and enrolments of the courses they teach.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django.db.models import QuerySet
from django.utils.dateparse import parse_time
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets

from attendance.api.access import StaffWritesTeachersRead, is_staff, taught_courses
from attendance.api.common import NATURAL_KEY_REGEX, NaturalKeySerializer
from attendance.api.natural_keys import CompositeKeyLookup, as_is, key_path_parameter
from attendance.api.schema import ApiDefaults
from attendance.models import (
    Course,
    Enrolment,
    Holiday,
    Room,
    Student,
    Term,
    TimetableSlot,
    Weekday,
)

WEEKDAY_NAMES = {day.label.lower(): day.value for day in Weekday}


def parse_weekday(value: Any) -> int:
    """'monday', 'Mon' or 0 (Monday) to 6: how a spreadsheet or a client may name a day."""
    text = str(value).strip().lower()
    if text.isdigit() and int(text) in Weekday.values:
        return int(text)
    for name, number in WEEKDAY_NAMES.items():
        if len(text) >= 3 and name.startswith(text):
            return number
    raise ValueError(f"{value!r} is not a weekday (monday to sunday, or 0 to 6).")


def parse_start_time(segment: str) -> time:
    """A slot's start in a URL, parsed as the serializer's TimeField parses it."""
    moment = parse_time(segment)
    if moment is None:
        raise ValueError(f"{segment!r} is not a time")
    return moment


@extend_schema_field(
    {"type": "string", "enum": list(WEEKDAY_NAMES)},
)
class WeekdayField(serializers.Field):
    """A weekday by name ('monday'); also accepts 'Mon' and 0 (Monday) to 6 on input."""

    def to_representation(self, value: int) -> str:
        return Weekday(value).label.lower()

    def to_internal_value(self, data: Any) -> int:
        try:
            return parse_weekday(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


def _check_ends_after_start(
    serializer: serializers.ModelSerializer, attrs: dict[str, Any], start: str, end: str
) -> None:
    starts = attrs.get(start, getattr(serializer.instance, start, None))
    ends = attrs.get(end, getattr(serializer.instance, end, None))
    if starts is not None and ends is not None and ends < starts:
        raise serializers.ValidationError({end: [f"Must not be before {start}."]})


class TermSerializer(NaturalKeySerializer):
    class Meta:
        model = Term
        fields = ["name", "starts_on", "ends_on"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _check_ends_after_start(self, attrs, "starts_on", "ends_on")
        return attrs


class HolidaySerializer(NaturalKeySerializer):
    term = serializers.SlugRelatedField(slug_field="name", queryset=Term.objects.all())

    class Meta:
        model = Holiday
        fields = ["term", "name", "starts_on", "ends_on"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _check_ends_after_start(self, attrs, "starts_on", "ends_on")
        return attrs


class TimetableSlotSerializer(NaturalKeySerializer):
    term = serializers.SlugRelatedField(slug_field="name", queryset=Term.objects.all())
    course = serializers.SlugRelatedField(slug_field="code", queryset=Course.objects.all())
    room = serializers.SlugRelatedField(slug_field="code", queryset=Room.objects.all())
    weekday = WeekdayField()

    class Meta:
        model = TimetableSlot
        fields = ["term", "course", "weekday", "start_time", "end_time", "room"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        starts = attrs.get("start_time", getattr(self.instance, "start_time", None))
        ends = attrs.get("end_time", getattr(self.instance, "end_time", None))
        if starts is not None and ends is not None and ends <= starts:
            raise serializers.ValidationError({"end_time": ["Must be after start_time."]})
        return attrs


class EnrolmentSerializer(NaturalKeySerializer):
    course = serializers.SlugRelatedField(slug_field="code", queryset=Course.objects.all())
    student = serializers.SlugRelatedField(slug_field="number", queryset=Student.objects.all())

    class Meta:
        model = Enrolment
        fields = ["course", "student", "effective_from", "enrolled_at"]
        read_only_fields = ["enrolled_at"]


@extend_schema(tags=["provisioning"])
class TermViewSet(ApiDefaults, viewsets.ModelViewSet):
    """Terms by name; staff write, teachers read."""

    serializer_class = TermSerializer
    permission_classes = [StaffWritesTeachersRead]
    queryset = Term.objects.all()
    lookup_field = "name"
    lookup_value_regex = NATURAL_KEY_REGEX


_KEYED = ["retrieve", "update", "partial_update", "destroy"]


def _keyed_schema(description: str) -> Any:
    return extend_schema_view(
        **{action: extend_schema(parameters=[key_path_parameter(description)]) for action in _KEYED}
    )


@extend_schema(tags=["provisioning"])
@_keyed_schema("<term>/<name>")
class HolidayViewSet(CompositeKeyLookup, ApiDefaults, viewsets.ModelViewSet):
    """Holidays (days without classes) by term and name; staff write, teachers read."""

    serializer_class = HolidaySerializer
    permission_classes = [StaffWritesTeachersRead]
    queryset = Holiday.objects.select_related("term")
    key_parts = (("term__name", as_is), ("name", as_is))


@extend_schema(tags=["provisioning"])
@_keyed_schema("<term>/<course>/<weekday>/<start time>, e.g. Autumn-2026/CS101/monday/09:00")
class TimetableSlotViewSet(CompositeKeyLookup, ApiDefaults, viewsets.ModelViewSet):
    """Weekly timetable slots by term, course, weekday and start time. Sessions are made
    from them by the term's "regenerate sessions" action in the admin."""

    serializer_class = TimetableSlotSerializer
    queryset = TimetableSlot.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [StaffWritesTeachersRead]
    key_parts = (
        ("term__name", as_is),
        ("course__code", as_is),
        ("weekday", parse_weekday),
        ("start_time", parse_start_time),
    )

    def get_queryset(self) -> QuerySet[TimetableSlot]:
        slots = TimetableSlot.objects.select_related("term", "course", "room")
        if is_staff(self.request.user):
            return slots
        return slots.filter(course__in=taught_courses(self.request.user).values("id"))


@extend_schema(tags=["provisioning"])
@_keyed_schema("<course>/<student>, e.g. CS101/S1001")
class EnrolmentViewSet(CompositeKeyLookup, ApiDefaults, viewsets.ModelViewSet):
    """Enrolments by course code and student number; staff write, teachers read their
    courses' enrolments."""

    serializer_class = EnrolmentSerializer
    queryset = Enrolment.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [StaffWritesTeachersRead]
    key_parts = (("course__code", as_is), ("student__number", as_is))

    def get_queryset(self) -> QuerySet[Enrolment]:
        enrolments = Enrolment.objects.select_related("course", "student").order_by("id")
        if is_staff(self.request.user):
            return enrolments
        return enrolments.filter(course__in=taught_courses(self.request.user).values("id"))
