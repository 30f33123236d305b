"""What BLE presence needs of the database, loaded once per batch: the beacon directory,
each beacon's room and thresholds, and the rooms (for travel times, flag rows and the
presence thresholds some rooms have of their own)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from attendance.engine.saving import save_changed
from attendance.models import Room
from attendance.rules.proxy import Place
from beacons.models import Beacon
from beacons.presence import BeaconPlace, RoomThresholds
from beacons.sightings import BeaconDirectory
from beacons.spoofing import BeaconIdentity

# A room's own BLE presence thresholds, in RoomThresholds' order.
THRESHOLD_FIELDS = ("ble_margin_db", "ble_enter_windows", "ble_leave_windows")


@dataclass
class BeaconBook:
    directory: BeaconDirectory
    places: list[BeaconPlace]
    identities: list[BeaconIdentity]
    beacons: dict[int, Beacon]
    beacon_rooms: dict[int, str]
    room_ids: dict[str, int]
    room_places: dict[str, Place]
    # Rooms with a margin or windows of their own (PresenceConfig.rooms); configuration,
    # never tracker state.
    room_thresholds: dict[str, RoomThresholds] = field(default_factory=dict)
    setup: tuple = ()  # everything a replay's result depends on: a checkpoint must match it

    @functools.cached_property
    def setup_digest(self) -> str:
        return hashlib.blake2b(repr(self.setup).encode(), digest_size=16).hexdigest()

    def adjacent(self, a: str, b: str) -> bool:
        """Conservative: rooms on one floor of one building may be heard through a wall;
        strong beacons of two floors or two buildings at once are not physics."""
        pa, pb = self.room_places.get(a), self.room_places.get(b)
        if pa is None or pb is None:
            return True
        return pa.building == pb.building and pa.floor == pb.floor


def load_beacon_book() -> BeaconBook:
    beacons = {b.pk: b for b in Beacon.objects.select_related("room")}
    rooms = list(Room.objects.values_list("code", "id", "building", "floor", *THRESHOLD_FIELDS))
    thresholds = room_thresholds(rooms)
    return BeaconBook(
        directory=BeaconDirectory.from_beacons(beacons.values()),
        places=[
            BeaconPlace(b.pk, b.room.code, float(b.enter_rssi), float(b.exit_rssi))
            for b in beacons.values()
        ],
        identities=[
            BeaconIdentity(b.pk, b.room.code, b.kind, float(b.enter_rssi))  # type: ignore[arg-type]
            for b in beacons.values()
        ],
        beacons=beacons,
        beacon_rooms={b.pk: b.room.code for b in beacons.values()},
        room_ids={code: pk for code, pk, *_ in rooms},
        room_places={code: Place(building, floor) for code, _, building, floor, *_ in rooms},
        room_thresholds=thresholds,
        setup=_rooms_setup(thresholds)
        + tuple(
            (
                b.pk,
                b.kind,
                b.room.code,
                b.enter_rssi,
                b.exit_rssi,
                b.uuid.lower(),
                b.major,
                b.minor,
                b.eid_key.lower(),
                b.eid_exponent,
                b.eid_counter_offset,
            )
            for b in sorted(beacons.values(), key=lambda b: b.pk)
        ),
    )


def room_thresholds(rooms: Iterable[tuple]) -> dict[str, RoomThresholds]:
    """From (code, id, building, floor, *THRESHOLD_FIELDS) rows: the rooms that have a BLE
    margin or windows of their own; the rest use the default every room shares."""
    return {
        code: RoomThresholds(
            margin_db=None if margin is None else float(margin),
            enter_windows=enter,
            leave_windows=leave,
        )
        for code, _, _, _, margin, enter, leave in rooms
        if (margin, enter, leave) != (None, None, None)
    }


def _rooms_setup(thresholds: dict[str, RoomThresholds]) -> tuple:
    """The room thresholds as part of the setup a cached replay must match."""
    return tuple(
        (code, t.margin_db, t.enter_windows, t.leave_windows)
        for code, t in sorted(thresholds.items())
    )


def update_beacon_health(
    book: BeaconBook,
    seen: dict[int, datetime],
    reports: Iterable[Iterable[tuple[datetime, str, dict, datetime]]],
) -> None:
    """Beacon.last_seen from the latest report hearing it; battery_pct when a phone relays
    one (an optional integer `battery` 0..100 beside an iBeacon's identity)."""
    battery: dict[int, tuple[datetime, int]] = {}
    for rows in reports:
        for ts, _, payload, _received in rows:
            for entry in payload.get("beacons") or []:
                level = entry.get("battery") if isinstance(entry, dict) else None
                if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 100:
                    continue
                key = (str(entry.get("uuid", "")).lower(), entry.get("major"), entry.get("minor"))
                beacon_id = book.directory.ibeacons.get(key)  # type: ignore[arg-type]
                if beacon_id is not None and ts >= battery.get(beacon_id, (ts, 0))[0]:
                    battery[beacon_id] = (ts, level)
    changed = []
    for beacon_id, at in seen.items():
        beacon = book.beacons.get(beacon_id)
        if beacon is None:
            continue
        fresher = beacon.last_seen is None or at > beacon.last_seen
        level = battery.get(beacon_id)
        if fresher:
            beacon.last_seen = at
        if level is not None and fresher:
            beacon.battery_pct = level[1]
        if fresher:
            changed.append(beacon)
    save_changed(Beacon, changed, ["last_seen", "battery_pct"])
