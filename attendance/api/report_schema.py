"""The shapes of the report endpoints' JSON answers, for the OpenAPI schema.

The views build plain dicts (a register of 5,000 cells through DRF fields would cost more
than computing it); these serializers only document them.
"""

from __future__ import annotations

from rest_framework import serializers

from attendance.models import Status

STATUS_CHOICES = [s.value for s in Status]


class PeriodSerializer(serializers.Serializer):
    # `from` is a keyword; the field is renamed in the schema below.
    from_ = serializers.DateField(allow_null=True, help_text="First day (inclusive), or null.")
    to = serializers.DateField(allow_null=True, help_text="Last day (inclusive), or null.")
    term = serializers.CharField(allow_null=True)


PeriodSerializer._declared_fields["from"] = PeriodSerializer._declared_fields.pop("from_")  # type: ignore[attr-defined]


class CountsSerializer(serializers.Serializer):
    sessions = serializers.IntegerField(help_text="Held (ended, not cancelled) sessions.")
    present = serializers.IntegerField()
    late = serializers.IntegerField()
    left_early = serializers.IntegerField()
    absent = serializers.IntegerField()
    excused = serializers.IntegerField()
    rate = serializers.FloatField(
        allow_null=True,
        help_text="Percent (one decimal) of held, non-excused sessions attended (present or "
        "late); a session without a record counts as not attended; null when none.",
    )


class RegisterSessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    room = serializers.CharField()
    present = serializers.IntegerField()
    late = serializers.IntegerField()
    left_early = serializers.IntegerField()
    absent = serializers.IntegerField()
    excused = serializers.IntegerField()
    unrecorded = serializers.IntegerField(help_text="Students without a record.")


class RegisterRowSerializer(CountsSerializer):
    student = serializers.CharField()
    name = serializers.CharField()
    marks = serializers.ListField(
        child=serializers.ChoiceField(choices=STATUS_CHOICES, allow_null=True),
        help_text="One per session, in the order of `sessions`; null: no record.",
    )


class CourseRegisterSerializer(serializers.Serializer):
    course = serializers.CharField()
    name = serializers.CharField()
    period = PeriodSerializer()
    sessions = RegisterSessionSerializer(many=True)
    students = RegisterRowSerializer(many=True)


class MissedSerializer(serializers.Serializer):
    session = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    room = serializers.CharField()
    status = serializers.CharField(
        allow_null=True, help_text="absent or left_early; null: no record for the student."
    )


class StudentCourseSerializer(CountsSerializer):
    course = serializers.CharField()
    name = serializers.CharField()
    missed = MissedSerializer(many=True)


class StudentReportSerializer(serializers.Serializer):
    student = serializers.CharField()
    name = serializers.CharField()
    period = PeriodSerializer()
    courses = StudentCourseSerializer(many=True)


class BelowRowSerializer(serializers.Serializer):
    course = serializers.CharField()
    student = serializers.CharField()
    name = serializers.CharField()
    sessions = serializers.IntegerField()
    attended = serializers.IntegerField()
    excused = serializers.IntegerField()
    rate = serializers.FloatField()
    last_attended = serializers.DateTimeField(allow_null=True)


class PageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Rows in all pages.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class BelowThresholdSerializer(PageSerializer):
    pct = serializers.FloatField()
    min_sessions = serializers.IntegerField()
    period = PeriodSerializer()
    results = BelowRowSerializer(many=True)


class AbsenceRunSerializer(serializers.Serializer):
    course = serializers.CharField()
    student = serializers.CharField()
    name = serializers.CharField()
    length = serializers.IntegerField()
    first = serializers.DateTimeField(help_text="Start of the run's first absent session.")
    last = serializers.DateTimeField(help_text="Start of its last absent session.")
    ongoing = serializers.BooleanField(help_text="The run reaches the latest held session.")


class ConsecutiveAbsencesSerializer(PageSerializer):
    n = serializers.IntegerField()
    period = PeriodSerializer()
    results = AbsenceRunSerializer(many=True)


class UnseenSessionSerializer(serializers.Serializer):
    session = serializers.IntegerField()
    course = serializers.CharField()
    room = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    enrolled = serializers.IntegerField()
    readers = serializers.ListField(child=serializers.CharField())
    silent_readers = serializers.ListField(child=serializers.CharField())


class SilentReaderSerializer(serializers.Serializer):
    reader = serializers.CharField()
    room = serializers.CharField()
    session = serializers.IntegerField()
    course = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    online_now = serializers.BooleanField()
    last_seen = serializers.DateTimeField(allow_null=True)


class SessionsWithoutEvidenceSerializer(serializers.Serializer):
    period = PeriodSerializer()
    sessions = UnseenSessionSerializer(many=True, help_text="Held sessions nobody was seen in.")
    silent_readers = SilentReaderSerializer(
        many=True, help_text="A room's reader that stored no event during a held session."
    )


class FlagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    course = serializers.CharField(allow_null=True)
    student = serializers.CharField(allow_null=True)
    room = serializers.CharField(allow_null=True)
    detail = serializers.CharField()
    evidence = serializers.JSONField()


class FlagsReportSerializer(serializers.Serializer):
    period = PeriodSerializer()
    count = serializers.IntegerField()
    by_kind = serializers.DictField(child=serializers.IntegerField())
    by_course = serializers.DictField(child=serializers.IntegerField())
    by_student = serializers.DictField(child=serializers.IntegerField())
    results = FlagSerializer(many=True, help_text="Newest first, at most 500 (exports: all).")


class DayUseSerializer(serializers.Serializer):
    day = serializers.DateField()
    peak = serializers.IntegerField()
    peak_by_hour = serializers.ListField(
        child=serializers.IntegerField(), help_text="24 values: most inside at once per hour."
    )


class SessionUseSerializer(serializers.Serializer):
    session = serializers.IntegerField()
    course = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    enrolled = serializers.IntegerField()
    seen = serializers.IntegerField(help_text="Records present, late or left early.")
    capacity = serializers.IntegerField()
    use_pct = serializers.FloatField(allow_null=True)


class RoomUseSerializer(serializers.Serializer):
    room = serializers.CharField()
    capacity = serializers.IntegerField()
    period = PeriodSerializer()
    mean_peak_by_hour = serializers.ListField(child=serializers.FloatField())
    days = DayUseSerializer(many=True)
    sessions = SessionUseSerializer(many=True)
