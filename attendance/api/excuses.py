"""`excuses`: students (for themselves) and staff submit; a course's teacher or staff decide.

The rules of who may do what, and the writes, are in attendance.excusing; this module maps
requests to it and its refusals to 400 and 403.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from attendance import excusing
from attendance.api.access import student_of
from attendance.api.schema import ApiDefaults
from attendance.excuse_models import EXCUSE_REASON_MAX
from attendance.models import ClassSession, Excuse, ExcusedSession, ExcuseState, Student


class CoveredSessionSerializer(serializers.ModelSerializer):
    session = serializers.IntegerField(source="session_id")
    course = serializers.CharField(source="session.course.code")
    room = serializers.CharField(source="session.room.code")
    starts_at = serializers.DateTimeField(source="session.starts_at")
    decided_by = serializers.CharField(source="decided_by.username", default=None)

    class Meta:
        model = ExcusedSession
        fields = ["session", "course", "room", "starts_at", "state", "decided_by", "decided_at",
                  "note"]  # fmt: skip
        read_only_fields = fields


class ExcuseSerializer(serializers.ModelSerializer):
    """`from` and `to` are dates (inclusive, the school's zone); `sessions` chosen session
    ids. Either or both; the excuse covers the chosen sessions and the student's sessions
    in the range, each listed in `covered` with its own decision."""

    student = serializers.SlugRelatedField(
        slug_field="number",
        queryset=Student.objects.all(),
        required=False,
        help_text="Student number; a student may leave it out (their own).",
    )
    from_ = serializers.DateField(source="from_date", required=False, allow_null=True)
    to = serializers.DateField(source="to_date", required=False, allow_null=True)
    sessions = serializers.PrimaryKeyRelatedField(
        queryset=ClassSession.objects.all(), many=True, required=False, write_only=True
    )
    reason = serializers.CharField(max_length=EXCUSE_REASON_MAX)
    document = serializers.FileField(
        required=False, write_only=True, help_text="PDF, JPEG or PNG (multipart upload)."
    )
    document_url = serializers.SerializerMethodField()
    covered = CoveredSessionSerializer(many=True, read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, read_only=True)
    submitted_by = serializers.CharField(
        source="submitted_by.username", default=None, read_only=True
    )

    class Meta:
        model = Excuse
        fields = ["id", "student", "from_", "to", "sessions", "reason", "document",
                  "document_url", "state", "covered", "submitted_by", "submitted_at",
                  "decided_by", "decided_at", "decision_note"]  # fmt: skip
        read_only_fields = ["state", "submitted_at", "decided_at", "decision_note"]

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # a Python keyword, so declared as from_
        return fields

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_document_url(self, excuse: Excuse) -> str | None:
        if not excuse.document:
            return None
        request = self.context.get("request")
        url = reverse("excuse-document", args=[excuse.pk])
        return request.build_absolute_uri(url) if request is not None else url


class DecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=EXCUSE_REASON_MAX,
        required=False,
        allow_blank=True,
        help_text="The note the student sees (required to reject).",
    )


class ExcuseFilter(django_filters.FilterSet):
    student = django_filters.CharFilter(field_name="student__number", help_text="Student number.")
    state = django_filters.ChoiceFilter(choices=ExcuseState.choices)

    class Meta:
        model = Excuse
        fields: list[str] = []


@extend_schema(tags=["excuses"])
class ExcuseViewSet(
    ApiDefaults,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Excuses: staff see all, a teacher those covering their courses' sessions, a student
    their own."""

    serializer_class = ExcuseSerializer
    queryset = Excuse.objects.none()  # for the schema; get_queryset scopes it
    filterset_class = ExcuseFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Excuse]:
        excuses = Excuse.objects.select_related(
            "student", "decided_by", "submitted_by"
        ).prefetch_related("covered__session__course", "covered__session__room",
                           "covered__decided_by")  # fmt: skip
        return excusing.visible_excuses(self.request.user, excuses)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        student = data.get("student") or student_of(request.user)
        if student is None:
            raise ValidationError({"student": ["Required (the student number)."]})
        ask = excusing.ExcuseRequest(
            student=student,
            reason=data["reason"],
            from_date=data.get("from_date"),
            to_date=data.get("to_date"),
            sessions=tuple(data.get("sessions", ())),
            document=data.get("document"),
        )
        try:
            excuse = excusing.submit_excuse(ask, request.user)
        except excusing.ExcuseForbidden as forbidden:
            raise PermissionDenied(str(forbidden)) from None
        except excusing.ExcuseRefused as refused:
            raise ValidationError({"detail": str(refused)}) from None
        shown = self.get_serializer(self.get_queryset().get(pk=excuse.pk))
        return Response(shown.data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DecisionSerializer, responses={200: ExcuseSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve the sessions you may decide (a teacher their courses', staff all): their
        records become `excused` (manual, audited), sessions not yet held included."""
        return self._decide(request, excusing.approve_excuse)

    @extend_schema(request=DecisionSerializer, responses={200: ExcuseSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """Reject the sessions you may decide, with a reason the student sees."""
        return self._decide(request, excusing.reject_excuse)

    def _decide(self, request: Request, decide: Any) -> Response:
        excuse = self.get_object()
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            decide(excuse, request.user, body.validated_data.get("reason", ""))
        except excusing.ExcuseForbidden as forbidden:
            raise PermissionDenied(str(forbidden)) from None
        except excusing.ExcuseRefused as refused:
            raise ValidationError({"detail": str(refused)}) from None
        return Response(self.get_serializer(self.get_queryset().get(pk=excuse.pk)).data)
