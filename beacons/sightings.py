"""From a phone's report (the contract's `ble` payload) to a ScanWindow of registered beacons.

Pure: the directory is built from anything shaped like beacons.models.Beacon, so the ingest,
the engine and calibration share one way of naming beacons. A stale EID gives no presence
(a replay must not place anyone), but it is returned so the caller can flag it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from beacons.eid import EidBeacon, EidResolution, EidResolver, InvalidEid
from beacons.presence import ScanWindow, Sighting

IBeaconKey = tuple[str, int, int]  # (uuid lower-case, major, minor)


@dataclass(frozen=True)
class ReadReport:
    window: ScanWindow
    eids: list[EidResolution] = field(default_factory=list)
    unregistered: int = 0  # iBeacons nobody registered, unknown or stale EIDs
    malformed: int = 0  # entries that break the contract (the ingest should have refused)
    # When the server received it, and whether that was too long after its `ts` to count as
    # presence (beacons.spoofing.late): set by the engine, which knows the receipt.
    received_at: datetime | None = None
    late: bool = False


class BeaconDirectory:
    def __init__(self, ibeacons: Mapping[IBeaconKey, int], resolver: EidResolver) -> None:
        self.ibeacons = dict(ibeacons)
        self.resolver = resolver

    @classmethod
    def from_beacons(cls, beacons: Iterable[Any], **resolver_options: int) -> BeaconDirectory:
        """From Beacon rows (or anything with the same attributes)."""
        ibeacons: dict[IBeaconKey, int] = {}
        eids = []
        for b in beacons:
            if b.kind == "ibeacon":
                ibeacons[(b.uuid.lower(), b.major, b.minor)] = b.pk
            elif b.kind == "eddystone_eid":
                eids.append(
                    EidBeacon.from_hex(b.pk, b.eid_key, b.eid_exponent, b.eid_counter_offset)
                )
        return cls(ibeacons, EidResolver(eids, **resolver_options))

    def read(self, payload: Mapping[str, Any], at: datetime) -> ReadReport:
        """The report's window, ending at `at` (the event's ts)."""
        window_s = payload.get("window_s", 10)
        if not isinstance(window_s, int | float) or isinstance(window_s, bool) or window_s <= 0:
            window_s = 10
        sightings: list[Sighting] = []
        resolutions: list[EidResolution] = []
        unregistered = malformed = 0
        entries = payload.get("beacons")
        for entry in entries if isinstance(entries, list) else []:
            rssi, n = _reading(entry)
            if rssi is None:
                malformed += 1
                continue
            if "eid" in entry:
                try:
                    resolution = self.resolver.resolve(str(entry["eid"]), int(at.timestamp()))
                except InvalidEid:
                    malformed += 1
                    continue
                resolutions.append(resolution)
                beacon_id = resolution.beacon_id if resolution.status == "current" else None
            else:
                key = _ibeacon_key(entry)
                if key is None:
                    malformed += 1
                    continue
                beacon_id = self.ibeacons.get(key)
            if beacon_id is None:
                unregistered += 1
            else:
                sightings.append(Sighting(beacon_id, rssi, n))
        window = ScanWindow(at, tuple(sightings), float(window_s))
        return ReadReport(window, resolutions, unregistered, malformed)


def _reading(entry: object) -> tuple[float | None, int]:
    if not isinstance(entry, dict):
        return None, 0
    rssi, n = entry.get("rssi"), entry.get("n", 1)
    if not isinstance(rssi, int | float) or isinstance(rssi, bool) or not -127 <= rssi <= 20:
        return None, 0
    return float(rssi), n if isinstance(n, int) and n > 0 else 1


def _ibeacon_key(entry: Mapping[str, Any]) -> IBeaconKey | None:
    uuid, major, minor = entry.get("uuid"), entry.get("major"), entry.get("minor")
    if not isinstance(uuid, str) or not isinstance(major, int) or not isinstance(minor, int):
        return None
    return (uuid.lower(), major, minor)
