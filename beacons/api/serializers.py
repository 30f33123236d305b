"""Beacons as the school registers them, and a phone's registration answer."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from attendance.api.common import Conflict, NaturalKeySerializer
from attendance.models import Room
from beacons.models import Beacon, BeaconKind

IBEACON_FIELDS = ("uuid", "major", "minor")
EID_FIELDS = ("eid_key", "eid_exponent", "eid_counter_offset")
# The counter offset is "beacon counter minus Unix seconds": generous bounds, but finite.
COUNTER_OFFSET_LIMIT = 2**40


class BeaconSerializer(NaturalKeySerializer):
    room = serializers.SlugRelatedField(slug_field="code", queryset=Room.objects.all())
    kind = serializers.ChoiceField(
        choices=BeaconKind.choices,
        read_only=True,
        help_text="ibeacon when uuid/major/minor are given, eddystone_eid when eid_key is.",
    )
    eid_counter_offset = serializers.IntegerField(
        min_value=-COUNTER_OFFSET_LIMIT,
        max_value=COUNTER_OFFSET_LIMIT,
        required=False,
        allow_null=True,
    )

    class Meta:
        model = Beacon
        fields = [
            "id",
            "room",
            "kind",
            "label",
            "uuid",
            "major",
            "minor",
            "eid_key",
            "eid_exponent",
            "eid_counter_offset",
            "enter_rssi",
            "exit_rssi",
            "battery_pct",
            "last_seen",
        ]
        read_only_fields = ["battery_pct", "last_seen"]
        # The model's unique (uuid, major, minor) would make them required for every kind.
        extra_kwargs = {
            "uuid": {"required": False},
            "major": {"required": False},
            "minor": {"required": False},
            # The beacon's identity secret: whoever holds it can forge its EIDs anywhere.
            # Accepted on create and update, never returned.
            "eid_key": {"write_only": True},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        merged = {f: attrs.get(f, getattr(self.instance, f, None)) for f in self.Meta.fields}
        ibeacon = any(merged[f] not in (None, "") for f in IBEACON_FIELDS)
        eid = any(merged[f] not in (None, "") for f in EID_FIELDS)
        if ibeacon == eid:
            raise serializers.ValidationError(
                "Give either uuid, major and minor (iBeacon) or eid_key, eid_exponent and "
                "eid_counter_offset (Eddystone-EID)."
            )
        needed = IBEACON_FIELDS if ibeacon else EID_FIELDS
        missing = {
            f: ["Required for this kind of beacon."] for f in needed if merged[f] in (None, "")
        }
        if missing:
            raise serializers.ValidationError(missing)
        enter = merged["enter_rssi"] if merged["enter_rssi"] is not None else -75
        leave = merged["exit_rssi"] if merged["exit_rssi"] is not None else -85
        if leave > enter:
            raise serializers.ValidationError({"exit_rssi": ["Must not be above enter_rssi."]})
        attrs["kind"] = BeaconKind.IBEACON if ibeacon else BeaconKind.EDDYSTONE_EID
        if ibeacon:
            attrs["uuid"] = str(merged["uuid"]).lower()
            self._refuse_taken_ibeacon(attrs["uuid"], merged["major"], merged["minor"])
        return attrs

    def get_validators(self) -> list[Any]:
        # The model's (uuid, major, minor) uniqueness would make all three required even for
        # an Eddystone beacon; validate() checks it for iBeacons instead.
        return []

    def _refuse_taken_ibeacon(self, uuid: str, major: Any, minor: Any) -> None:
        taken = Beacon.objects.filter(uuid__iexact=uuid, major=major, minor=minor)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise Conflict({"uuid": ["A beacon with this uuid, major and minor already exists."]})


class PhoneRequestSerializer(serializers.Serializer):
    model_name = serializers.CharField(
        max_length=80, required=False, allow_blank=True, help_text="e.g. Pixel 8"
    )
    student = serializers.CharField(
        max_length=32,
        required=False,
        help_text="Staff only: the student number to register the phone for.",
    )


class PhoneCredentialsSerializer(serializers.Serializer):
    phone_id = serializers.CharField()
    mqtt_username = serializers.CharField()
    mqtt_password = serializers.CharField(help_text="Shown this once; only its hash is kept.")
