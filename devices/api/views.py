"""Staff resources for readers and cards, reader credentials, and the stored evidence."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from attendance.api.access import IsStaff
from attendance.api.common import (
    NATURAL_KEY_REGEX,
    DateRangeFilterSet,
)
from attendance.api.schema import ApiDefaults
from devices.api.serializers import (
    CardSerializer,
    CredentialsSerializer,
    EventSerializer,
    ReaderSerializer,
    RejectedSerializer,
)
from devices.cards import save_card
from devices.identifiers import InvalidUid, normalise_uid
from devices.models import Card, RawEvent, Reader, RejectedMessage


@extend_schema(tags=["provisioning"])
class CardViewSet(ApiDefaults, viewsets.ModelViewSet):
    """RFID cards by UID (any contract spelling). Issue, revoke and reassign are recorded."""

    serializer_class = CardSerializer
    permission_classes = [IsStaff]
    queryset = Card.objects.select_related("student")
    lookup_field = "uid"
    lookup_value_regex = NATURAL_KEY_REGEX

    def get_object(self) -> Card:
        try:
            self.kwargs["uid"] = normalise_uid(self.kwargs["uid"])
        except InvalidUid:
            raise Http404("No card has that UID.") from None
        return super().get_object()  # type: ignore[no-any-return]

    def perform_create(self, serializer: Any) -> None:
        save_card(serializer, by=self.request.user, reason="via the API")

    def perform_update(self, serializer: Any) -> None:
        save_card(serializer, by=self.request.user, reason="via the API")


@extend_schema(tags=["provisioning"])
class ReaderViewSet(ApiDefaults, viewsets.ModelViewSet):
    """Door readers by device id; `credentials` issues a new MQTT password."""

    serializer_class = ReaderSerializer
    permission_classes = [IsStaff]
    queryset = Reader.objects.select_related("room")
    lookup_field = "device_id"
    lookup_value_regex = NATURAL_KEY_REGEX

    @extend_schema(request=None, responses={201: CredentialsSerializer})
    @action(detail=True, methods=["post"])
    def credentials(self, request: Request, device_id: str | None = None) -> Response:
        """A new MQTT password for the reader, shown once; the old one stops working."""
        reader = self.get_object()
        password = reader.rotate_password()
        body = {
            "device_id": reader.device_id,
            "mqtt_username": reader.device_id,
            "mqtt_password": password,
        }
        return Response(CredentialsSerializer(body).data, status=status.HTTP_201_CREATED)


class EventFilter(DateRangeFilterSet):
    device = django_filters.CharFilter(method="filter_device", help_text="A reader's device id.")
    phone = django_filters.CharFilter(method="filter_phone", help_text="A phone id.")
    type = django_filters.ChoiceFilter(choices=[("rfid", "rfid"), ("pir", "pir"), ("ble", "ble")])
    date_field = "ts"

    class Meta:
        model = RawEvent
        fields: list[str] = []

    def filter_device(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(sender_kind="device", sender=value)

    def filter_phone(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(sender_kind="phone", sender=value)


@extend_schema(tags=["evidence"])
class EventViewSet(ApiDefaults, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Staff: every stored event, newest first (by when it happened)."""

    serializer_class = EventSerializer
    permission_classes = [IsStaff]
    filterset_class = EventFilter
    queryset = RawEvent.objects.order_by("-ts", "-id")


@extend_schema(tags=["evidence"])
class RejectedViewSet(ApiDefaults, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Staff: messages that broke the contract, with the reason, newest first."""

    serializer_class = RejectedSerializer
    permission_classes = [IsStaff]
    queryset = RejectedMessage.objects.order_by("-received_at", "-id")
