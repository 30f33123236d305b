"""Provisioning for the school's information system: rooms, students, courses, sessions.

Staff do everything; teachers may read the rooms, courses and sessions of the courses
they teach. Each resource is looked up by its natural key.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets

from attendance.api.access import (
    IsStaff,
    StaffWritesTeachersRead,
    is_staff,
    taught_courses,
)
from attendance.api.common import (
    NATURAL_KEY_REGEX,
    Conflict,
    DateRangeFilterSet,
    NaturalKeySerializer,
)
from attendance.api.schema import ApiDefaults
from attendance.models import ClassSession, Course, Room, Student, split_email_list

User = get_user_model()


class RoomSerializer(NaturalKeySerializer):
    """The contract's fields, then the room's own BLE thresholds (optional; null: the
    default all rooms share)."""

    class Meta:
        model = Room
        fields = [
            "code",
            "name",
            "capacity",
            "building",
            "floor",
            "ble_margin_db",
            "ble_enter_windows",
            "ble_leave_windows",
        ]


@extend_schema_field(
    {"type": "string", "maxLength": 254, "anyOf": [{"format": "email"}, {"maxLength": 0}]}
)
class OptionalEmailField(serializers.CharField):
    """An email address, or "" for none (the schema says both, so clients accept both)."""

    # Checked here, not as a field validator, which the schema generator would turn into
    # `format: email` and so declare the empty string invalid.
    check = EmailValidator(message="Enter a valid email address.")

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value:
            try:
                self.check(value)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.messages) from None
        return value


class StudentSerializer(NaturalKeySerializer):
    email = OptionalEmailField(max_length=254, required=False, allow_blank=True)
    username = serializers.SlugRelatedField(
        source="user",
        slug_field="username",
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="The login linked to the student (optional).",
    )

    class Meta:
        model = Student
        fields = ["number", "first_name", "last_name", "email", "username", "active"]

    def validate_username(self, user: Any) -> Any:
        taken = Student.objects.filter(user=user)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if user is not None and taken.exists():
            raise Conflict({"username": ["This login is already linked to another student."]})
        return user


class EmailListField(serializers.ListField):
    """A list of addresses in the API, kept as one comma-separated text in the model."""

    child = serializers.EmailField()

    def to_representation(self, data: Any) -> list[str]:
        return split_email_list(data or "")

    def to_internal_value(self, data: Any) -> str:  # type: ignore[override]
        return ", ".join(super().to_internal_value(data))


class CourseSerializer(NaturalKeySerializer):
    warn_extra_emails = EmailListField(
        required=False,
        help_text="Who else gets the course's attendance warnings, besides the student and "
        "the teachers.",
    )
    teachers = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), many=True, required=False
    )
    students = serializers.SlugRelatedField(
        slug_field="number", queryset=Student.objects.all(), many=True, required=False
    )

    class Meta:
        model = Course
        fields = [
            "code",
            "name",
            "teachers",
            "students",
            "grace_minutes",
            "min_presence_pct",
            "early_minutes",
            "tap_required",
            "warn_below_pct",
            "warn_min_sessions",
            "warn_consecutive_absences",
            "warn_extra_emails",
        ]
        extra_kwargs = {
            "warn_below_pct": {"min_value": 1, "max_value": 100},
            "warn_min_sessions": {"min_value": 1},
            "warn_consecutive_absences": {"min_value": 1},
        }

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> Course:
        teachers = validated_data.pop("teachers", [])
        students = validated_data.pop("students", [])
        course = Course.objects.create(**validated_data)
        course.teachers.set(teachers)
        course.students.set(students)
        return course

    @transaction.atomic
    def update(self, instance: Course, validated_data: dict[str, Any]) -> Course:
        teachers = validated_data.pop("teachers", None)
        students = validated_data.pop("students", None)
        course = super().update(instance, validated_data)
        if teachers is not None:
            course.teachers.set(teachers)
        if students is not None:
            course.students.set(students)
        return course


class SessionSerializer(NaturalKeySerializer):
    course = serializers.SlugRelatedField(slug_field="code", queryset=Course.objects.all())
    room = serializers.SlugRelatedField(slug_field="code", queryset=Room.objects.all())

    class Meta:
        model = ClassSession
        fields = ["id", "course", "room", "starts_at", "ends_at", "cancelled", "finalised_at"]
        read_only_fields = ["finalised_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        starts = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        ends = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if starts and ends and ends <= starts:
            raise serializers.ValidationError({"ends_at": ["Must be after starts_at."]})
        return attrs


class SessionFilter(DateRangeFilterSet):
    course = django_filters.CharFilter(field_name="course__code", help_text="Course code.")
    room = django_filters.CharFilter(field_name="room__code", help_text="Room code.")
    date_field = "starts_at"

    class Meta:
        model = ClassSession
        fields = ["cancelled"]


@extend_schema(tags=["provisioning"])
class RoomViewSet(ApiDefaults, viewsets.ModelViewSet):
    """Rooms by code. Teachers read the rooms their courses are held in."""

    serializer_class = RoomSerializer
    queryset = Room.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [StaffWritesTeachersRead]
    lookup_field = "code"
    lookup_value_regex = NATURAL_KEY_REGEX

    def get_queryset(self) -> QuerySet[Room]:
        if is_staff(self.request.user):
            return Room.objects.all()
        held = ClassSession.objects.filter(course__in=taught_courses(self.request.user))
        return Room.objects.filter(pk__in=held.values("room_id"))


@extend_schema(tags=["provisioning"])
class StudentViewSet(ApiDefaults, viewsets.ModelViewSet):
    """Students by number (staff only)."""

    serializer_class = StudentSerializer
    permission_classes = [IsStaff]
    queryset = Student.objects.select_related("user")
    lookup_field = "number"
    lookup_value_regex = NATURAL_KEY_REGEX


@extend_schema(tags=["provisioning"])
class CourseViewSet(ApiDefaults, viewsets.ModelViewSet):
    """Courses by code, with teachers (usernames) and students (numbers)."""

    serializer_class = CourseSerializer
    queryset = Course.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [StaffWritesTeachersRead]
    lookup_field = "code"
    lookup_value_regex = NATURAL_KEY_REGEX

    def get_queryset(self) -> QuerySet[Course]:
        courses = Course.objects.prefetch_related("teachers", "students")
        if is_staff(self.request.user):
            return courses
        return courses.filter(pk__in=taught_courses(self.request.user).values("id"))


@extend_schema(tags=["provisioning"])
class SessionViewSet(ApiDefaults, viewsets.ModelViewSet):
    """Class sessions by id; filter by course, room, cancelled and date range."""

    serializer_class = SessionSerializer
    queryset = ClassSession.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [StaffWritesTeachersRead]
    filterset_class = SessionFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[ClassSession]:
        sessions = ClassSession.objects.select_related("course", "room")
        if is_staff(self.request.user):
            return sessions
        return sessions.filter(course__in=taught_courses(self.request.user).values("id"))
