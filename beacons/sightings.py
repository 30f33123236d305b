"""From a phone's report (the contract's `ble` payload) to a ScanWindow of registered beacons.

Pure: the directory is built from anything shaped like beacons.models.Beacon, so the ingest,
the engine and calibration share one way of naming beacons. A stale EID gives no presence
(a replay must not place anyone), but it is returned so the caller can flag it.

Given the server's receipt time, the server's clock decides (DESIGN principle 7). An EID is
"current" when the beacon broadcast it within the offline window before the receipt, whatever
`ts` the phone claims. One that only the claimed `ts` vouches for is "late": its sighting is
kept, but the whole report is late (evidence, never presence by itself). One valid only
before both is "stale": no sighting, and a flag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from beacons.eid import EidBeacon, EidResolution, EidResolver, InvalidEid
from beacons.presence import ScanWindow, Sighting
from beacons.spoofing.late import is_late

IBeaconKey = tuple[str, int, int]  # (uuid lower-case, major, minor)


@dataclass(frozen=True)
class ReadReport:
    window: ScanWindow
    eids: list[EidResolution] = field(default_factory=list)
    unregistered: int = 0  # iBeacons nobody registered, unknown or stale EIDs
    malformed: int = 0  # entries that break the contract (the ingest should have refused)
    # When the server received it, and whether that was too long after its `ts` (or any of
    # its EIDs too old at receipt) to count as presence: BeaconDirectory.read with a receipt.
    received_at: datetime | None = None
    late: bool = False


class BeaconDirectory:
    def __init__(self, ibeacons: Mapping[IBeaconKey, int], resolver: EidResolver) -> None:
        self.ibeacons = dict(ibeacons)
        self.resolver = resolver  # at the report's own `ts`
        # At the receipt, one per offline window (in practice one): built when first asked.
        self._at_receipt: dict[int, EidResolver] = {}

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

    def read(
        self,
        payload: Mapping[str, Any],
        at: datetime,
        received_at: datetime | None = None,
        offline_window: timedelta | None = None,
    ) -> ReadReport:
        """The report's window, ending at `at` (the event's ts). With `received_at` and the
        `offline_window`, EIDs are judged at the receipt and the report marked late or not;
        without (calibration over stored reports), at `at` alone."""
        window_s = payload.get("window_s", 10)
        if not isinstance(window_s, int | float) or isinstance(window_s, bool) or window_s <= 0:
            window_s = 10
        judge = (
            self._judge_at_receipt(at, received_at, offline_window)
            if received_at is not None and offline_window is not None
            else lambda eid: self.resolver.resolve(eid, int(at.timestamp()))
        )
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
                    resolution = judge(str(entry["eid"]))
                except InvalidEid:
                    malformed += 1
                    continue
                resolutions.append(resolution)
                counted = resolution.status in ("current", "late")
                beacon_id = resolution.beacon_id if counted else None
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
        read = ReadReport(window, resolutions, unregistered, malformed)
        if received_at is None or offline_window is None:
            return read
        late = is_late(at, received_at, offline_window) or any(
            r.status == "late" for r in resolutions
        )
        return replace(read, received_at=received_at, late=late)

    def _judge_at_receipt(
        self, at: datetime, received_at: datetime, offline_window: timedelta
    ) -> Callable[[str], EidResolution]:
        lookback = int(offline_window.total_seconds())
        at_receipt = self._at_receipt.get(lookback)
        if at_receipt is None:
            at_receipt = self._at_receipt[lookback] = self.resolver.with_lookback(lookback)
        received_s, claimed_s = int(received_at.timestamp()), int(at.timestamp())

        def judge(eid: str) -> EidResolution:
            by_receipt = at_receipt.resolve(eid, received_s)
            if by_receipt.status == "current":
                return by_receipt
            by_claim = self.resolver.resolve(eid, claimed_s)
            if by_claim.status == "current":
                return replace(by_claim, status="late")
            # Stale at either time: say how old it was when the server got it.
            return by_receipt if by_receipt.status == "stale" else by_claim

        return judge


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
