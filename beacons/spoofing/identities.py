"""Detectors for copied beacons: a static iBeacon identity can be cloned and replayed
anywhere; an Eddystone-EID cannot without its key, and physics limits what is heard at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from attendance.flag_kinds import CLONED_BEACON, IMPOSSIBLE_TRAVEL
from beacons.presence import ScanWindow
from beacons.spoofing.flags import Flag, iso

# -- cloned static beacons ----------------------------------------------------------------


@dataclass(frozen=True)
class BeaconIdentity:
    beacon_id: int
    room: str
    kind: Literal["ibeacon", "eddystone_eid"]
    enter_rssi: float


def beacon_conflict_flags(
    phone: str,
    windows: Sequence[ScanWindow],
    beacons: Sequence[BeaconIdentity],
    adjacent: Callable[[str, str], bool],
    *,
    rssi_offset_db: float = 0.0,
    min_windows: int = 2,
) -> list[Flag]:
    """Beacons of two rooms that are not neighbours, both at or above their enter threshold
    in the same window, `min_windows` in a row: through two walls or more, no real beacon
    is that loud, so one of them is a copy. A static iBeacon is the suspect over an EID
    beacon (an EID cannot be forged without the key)."""
    by_id = {b.beacon_id: b for b in beacons}
    flags: list[Flag] = []
    run: list[ScanWindow] = []
    for w in sorted(windows, key=lambda w: w.at):
        strong = [
            by_id[s.beacon_id]
            for s in w.sightings
            if s.beacon_id in by_id and s.rssi + rssi_offset_db >= by_id[s.beacon_id].enter_rssi
        ]
        conflict = [
            (a, b)
            for a in strong
            for b in strong
            if a.room < b.room and not adjacent(a.room, b.room)
        ]
        if not conflict:
            run = []
            continue
        run.append(w)
        if len(run) == min_windows:
            flags.append(_conflict_flag(phone, run, conflict[0]))
    return flags


def _conflict_flag(
    phone: str, run: list[ScanWindow], pair: tuple[BeaconIdentity, BeaconIdentity]
) -> Flag:
    a, b = pair
    suspects = [x for x in pair if x.kind == "ibeacon"]
    if len(suspects) == 2:
        suspects = []  # two static beacons: either could be the copy
    suspect = suspects[0] if suspects else None
    return Flag(
        IMPOSSIBLE_TRAVEL,
        run[0].at,
        phone,
        f"heard {a.room} and {b.room} (not neighbours) both strongly, {len(run)} windows "
        "in a row: "
        + (f"{suspect.room}'s iBeacon is likely a copy" if suspect else "one beacon is a copy"),
        {
            "reason": "beacons_in_non_adjacent_rooms",
            "beacons": [a.beacon_id, b.beacon_id],
            "rooms": [a.room, b.room],
            "suspect_beacon": suspect.beacon_id if suspect else None,
            "from": iso(run[0].at),
        },
        suspect.room if suspect else None,
    )


def uncorroborated_ibeacon_flags(
    phone: str,
    windows: Sequence[ScanWindow],
    beacons: Sequence[BeaconIdentity],
    *,
    rssi_offset_db: float = 0.0,
    min_windows: int = 6,
) -> list[Flag]:
    """In a room that has both, a phone really there hears the EID beacon too. A room's
    iBeacon at or above its threshold for `min_windows` windows in a row, with none of that
    room's (current, resolved) EID beacons heard in any of them, is likely a copy of it."""
    eid_rooms = {b.room for b in beacons if b.kind == "eddystone_eid"}
    by_id = {b.beacon_id: b for b in beacons}
    runs: dict[int, list[ScanWindow]] = defaultdict(list)
    flags = []
    for w in sorted(windows, key=lambda w: w.at):
        heard_rooms = {
            by_id[s.beacon_id].room
            for s in w.sightings
            if s.beacon_id in by_id and by_id[s.beacon_id].kind == "eddystone_eid"
        }
        strong_ibeacons = {
            s.beacon_id
            for s in w.sightings
            if s.beacon_id in by_id
            and by_id[s.beacon_id].kind == "ibeacon"
            and by_id[s.beacon_id].room in eid_rooms
            and s.rssi + rssi_offset_db >= by_id[s.beacon_id].enter_rssi
            and by_id[s.beacon_id].room not in heard_rooms
        }
        for beacon_id in list(runs):
            if beacon_id not in strong_ibeacons:
                del runs[beacon_id]
        for beacon_id in strong_ibeacons:
            runs[beacon_id].append(w)
            if len(runs[beacon_id]) == min_windows:
                beacon = by_id[beacon_id]
                flags.append(
                    Flag(
                        CLONED_BEACON,
                        runs[beacon_id][0].at,
                        phone,
                        f"{beacon.room}'s iBeacon heard strongly for {min_windows} windows "
                        f"without {beacon.room}'s EID beacon: likely a copy",
                        {
                            "reason": "ibeacon_without_eid",
                            "beacon": beacon_id,
                            "from": iso(runs[beacon_id][0].at),
                            "windows": min_windows,
                        },
                        beacon.room,
                    )
                )
    return flags
