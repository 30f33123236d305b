"""`attendance/records`: the list with the CONTRACT filters, and teachers' corrections."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from attendance import services
from attendance.api.access import may_correct, visible_records
from attendance.api.common import (
    DateRangeFilterSet,
    IdsFirstPagination,
)
from attendance.api.exports import FORMAT_PARAMETER, ExportMixin, export_responses
from attendance.api.schema import ApiDefaults
from attendance.models import AttendanceRecord, Status
from attendance.reports.export import export_response
from attendance.reports.records_export import records_table

MAX_ID = 2**63 - 1


class RecordSerializer(serializers.ModelSerializer):
    session = serializers.IntegerField(source="session_id", read_only=True)
    course = serializers.CharField(source="session.course.code", read_only=True)
    room = serializers.CharField(source="session.room.code", read_only=True)
    student = serializers.CharField(source="student.number", read_only=True)
    flags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = AttendanceRecord
        fields = [
            "id",
            "session",
            "course",
            "room",
            "student",
            "status",
            "first_seen",
            "last_seen",
            "minutes_present",
            "flags",
            "manual",
            "manual_reason",
        ]
        read_only_fields = fields


class CorrectionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)
    reason = serializers.CharField(
        max_length=services.REASON_MAX, help_text="Why; kept in the audit."
    )


class StableOrderingFilter(django_filters.OrderingFilter):
    """An order page boundaries can rely on: the chosen keys, then the record's id (a key
    that repeats, such as a status, would let rows move between pages or be skipped). Nothing
    chosen, or only empty keys (`?ordering=,`), keeps the view's own order."""

    def filter(self, qs: QuerySet, value: list[str] | None) -> QuerySet:
        chosen = [key for key in value or [] if key]
        if not chosen:
            return qs
        ordered = super().filter(qs, chosen)
        return ordered.order_by(*ordered.query.order_by, "id")


class RecordFilter(DateRangeFilterSet):
    student = django_filters.CharFilter(field_name="student__number", help_text="Student number.")
    room = django_filters.CharFilter(field_name="session__room__code", help_text="Room code.")
    course = django_filters.CharFilter(field_name="session__course__code", help_text="Course code.")
    session = django_filters.NumberFilter(field_name="session_id", min_value=1, max_value=MAX_ID)
    status = django_filters.ChoiceFilter(choices=Status.choices)
    date_field = "session_starts_at"
    ordering = StableOrderingFilter(
        fields=(
            ("session_starts_at", "starts_at"),
            ("student__number", "student"),
            ("status", "status"),
            ("minutes_present", "minutes_present"),
        ),
        help_text="starts_at (default: newest first), student, status or minutes_present; "
        "prefix '-' to reverse.",
    )

    class Meta:
        model = AttendanceRecord
        fields: list[str] = []


@extend_schema(tags=["attendance"])
class RecordViewSet(ExportMixin, ApiDefaults, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Attendance records: staff see all, a teacher their courses', a student their own."""

    serializer_class = RecordSerializer
    pagination_class = IdsFirstPagination
    # The filterset's own `ordering` (with named keys) replaces DRF's OrderingFilter here.
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    queryset = AttendanceRecord.objects.none()  # for the schema; get_queryset scopes it
    filterset_class = RecordFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[AttendanceRecord]:
        # Newest sessions first by default; the id keeps pages stable between equal starts.
        records = AttendanceRecord.objects.select_related(
            "session__course", "session__room", "student"
        ).order_by("-session_starts_at", "id")
        return visible_records(self.request.user, records)

    @extend_schema(
        parameters=[FORMAT_PARAMETER], responses=export_responses(RecordSerializer(many=True))
    )
    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        """The records, a page at a time; with `?format=csv` or `xlsx` all of those the
        filters select, newest session first, streamed."""
        fmt = self.export_format(request)
        if fmt is None:
            return super().list(request, *args, **kwargs)
        records = self.filter_queryset(self.get_queryset())
        return export_response(records_table(records, request.query_params), fmt)  # type: ignore[return-value]

    @extend_schema(request=CorrectionSerializer, responses={200: RecordSerializer})
    @action(detail=True, methods=["post"])
    def correct(self, request: Request, pk: str | None = None) -> Response:
        """Excuse or correct one record, with a reason (audited). Staff, or the course's
        teacher; the evidence's own verdict stays visible beside it."""
        record = get_object_or_404(
            AttendanceRecord.objects.select_related("session__room", "student"), pk=pk
        )
        if not may_correct(request.user, record.session):
            raise PermissionDenied("Only staff and the course's teachers may correct this record.")
        body = CorrectionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.correct_attendance(
                record.session,
                record.student,
                body.validated_data["status"],
                request.user,
                body.validated_data["reason"],
            )
        except services.CorrectionRefused as refused:
            raise ValidationError({"status": [str(refused)]}) from refused
        return Response(RecordSerializer(self.get_queryset().get(pk=record.pk)).data)
