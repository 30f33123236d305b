"""Cards, readers and the stored evidence, as the API shows them."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from attendance.api.common import NaturalKeySerializer
from attendance.models import Room, Student
from devices.identifiers import InvalidUid, normalise_uid
from devices.models import Card, RawEvent, Reader, RejectedMessage


class UidField(serializers.CharField):
    """A card UID in any of the contract's spellings, normalised before it is checked."""

    def to_internal_value(self, data: Any) -> str:
        raw = super().to_internal_value(data)
        try:
            return normalise_uid(raw)
        except InvalidUid as exc:
            raise serializers.ValidationError(str(exc)) from None


class CardSerializer(NaturalKeySerializer):
    student = serializers.SlugRelatedField(slug_field="number", queryset=Student.objects.all())

    class Meta:
        model = Card
        fields = ["uid", "student", "active", "issued_at", "revoked_at", "note"]
        read_only_fields = ["issued_at", "revoked_at"]

    def build_standard_field(self, field_name: str, model_field: Any) -> tuple[Any, dict]:
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if field_name == "uid":
            field_class = UidField
            kwargs["help_text"] = "Hex, 4, 7 or 10 bytes; ':', '-' and spaces are dropped."
        return field_class, kwargs


class ReaderSerializer(NaturalKeySerializer):
    room = serializers.SlugRelatedField(slug_field="code", queryset=Room.objects.all())
    debounce_s = serializers.IntegerField(min_value=0, max_value=3600, required=False)
    heartbeat_s = serializers.IntegerField(min_value=5, max_value=32767, required=False)

    class Meta:
        model = Reader
        fields = [
            "device_id",
            "room",
            "mode",
            "debounce_s",
            "heartbeat_s",
            "enabled",
            "online",
            "last_seen",
            "firmware",
            "ip",
            "wifi_rssi",
            "uptime_s",
            "queued",
        ]
        read_only_fields = list(Reader.HEALTH_FIELDS)


class CredentialsSerializer(serializers.Serializer):
    device_id = serializers.CharField()
    mqtt_username = serializers.CharField()
    mqtt_password = serializers.CharField(help_text="Shown this once; only its hash is kept.")


class EventSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="event_id", help_text="The sender's event id.")
    sender_kind = serializers.ChoiceField(choices=["device", "phone"])
    payload = serializers.JSONField()

    class Meta:
        model = RawEvent
        fields = ["sender", "sender_kind", "id", "type", "ts", "received_at", "payload"]
        read_only_fields = fields


class RejectedSerializer(serializers.ModelSerializer):
    class Meta:
        model = RejectedMessage
        fields = ["topic", "reason", "received_at", "sender", "event_id", "payload"]
        read_only_fields = fields
