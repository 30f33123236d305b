"""Anti-proxy detectors for BLE evidence. Pure: plain data in, flags with evidence out.

Each detector answers one question and says why, so a teacher can judge the flag:
- stale_eid: an Eddystone-EID that was valid only in the past (recorded and replayed).
- cloned_rssi: two phones reporting identical windows, run after run (one report, two phones).
- no_jitter: report intervals without any timing jitter (a script, not a phone's scanner).
- card_phone_mismatch: the card tapped at one room's door while the phone sat in another.
- impossible_travel: two rooms in less time than it takes to walk between them, including
  a phone that hears two non-adjacent rooms' beacons strongly at once (a cloned beacon).
- cloned_beacon: a room's static iBeacon heard strongly, run after run, while that room's
  Eddystone-EID beacon (which cannot be cloned without its key) is never heard.
BLE-only presence in a course that requires a tap (tap_missing) is judged with the record,
in attendance.rules.records; the kinds themselves are listed in attendance.flag_kinds.
Flags are suspicions, never verdicts: nothing here changes presence or attendance.
"""

from beacons.spoofing.flags import Flag
from beacons.spoofing.identities import (
    BeaconIdentity,
    beacon_conflict_flags,
    uncorroborated_ibeacon_flags,
)
from beacons.spoofing.reports import cloned_report_flags, no_jitter_flags, stale_eid_flags
from beacons.spoofing.taps import (
    Sighted,
    Tap,
    card_phone_mismatch_flags,
    impossible_travel_flags,
    sightings_from,
)

__all__ = [
    "BeaconIdentity",
    "Flag",
    "Sighted",
    "Tap",
    "beacon_conflict_flags",
    "card_phone_mismatch_flags",
    "cloned_report_flags",
    "impossible_travel_flags",
    "no_jitter_flags",
    "sightings_from",
    "stale_eid_flags",
    "uncorroborated_ibeacon_flags",
]
