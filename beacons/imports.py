"""Import resource for BLE beacons.

A beacon's key in the API is its `id`, which the server hands out. A row with an `id`
updates that beacon; a row without one is matched by what identifies the beacon on the
air (uuid, major and minor for an iBeacon; eid_key for Eddystone-EID), so a sheet the
school keeps without ids can still be imported again without making duplicates.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models

from beacons.api.serializers import BeaconSerializer
from beacons.models import Beacon
from zias.imports.resource import SerializerResource
from zias.imports.results import RowInvalid


class BeaconResource(SerializerResource):
    serializer_class = BeaconSerializer
    key: ClassVar[dict[str, str]] = {}  # see existing(): id, else the identity on the air

    @property
    def whole_row(self) -> str:
        return "id"

    def row_data(self, row: dict[str, str]) -> dict[str, Any]:
        data = super().row_data(row)
        if row.get("id"):
            data["id"] = row["id"]  # read-only in the API, but it names the beacon
        return data

    def existing(self, data: dict[str, Any], number: int) -> models.Model | None:
        beacon, key = self._match(data)
        first = self._seen_keys.setdefault(key, number) if key else number
        if first != number:
            raise RowInvalid({"id": [f"the same beacon as row {first}: a beacon may appear once"]})
        return beacon

    def _match(self, data: dict[str, Any]) -> tuple[Beacon | None, tuple[Any, ...] | None]:
        if data.get("id"):
            try:
                pk = int(data["id"])
            except ValueError:
                raise RowInvalid({"id": ["a beacon id is a whole number"]}) from None
            beacon = Beacon.objects.filter(pk=pk).first()
            if beacon is None:
                message = "no beacon has this id (leave id empty to add a beacon)"
                raise RowInvalid({"id": [message]})
            return beacon, ("id", pk)
        if data.get("uuid") and data.get("major") and data.get("minor"):
            key = (str(data["uuid"]).lower(), str(data["major"]), str(data["minor"]))
            found = Beacon.objects.filter(
                uuid__iexact=key[0], major=_int_or_none(key[1]), minor=_int_or_none(key[2])
            ).first()
            return found, ("ibeacon", *key)
        if data.get("eid_key"):
            key_text = str(data["eid_key"]).lower()
            return Beacon.objects.filter(eid_key__iexact=key_text).first(), ("eid", key_text)
        return None, None


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
