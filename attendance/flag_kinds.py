"""Every kind of anti-proxy flag, with the label people see: the one list.

The door rules (attendance.rules.proxy), the BLE detectors (beacons.spoofing) and the
ProxyFlag model's choices all take their kinds from here, so a new detector adds its kind
once and the admin, the live page and the reports know its name. Pure like the rules, and
below both them and the models (which the layer contract keeps from importing the rules).
"""

from __future__ import annotations

MULTI_CARD = "multi_card_one_motion"
IMPOSSIBLE_TRAVEL = "impossible_travel"
TAP_MISSING = "tap_missing"
CARD_PHONE_MISMATCH = "card_phone_mismatch"
STALE_EID = "stale_eid"
CLONED_RSSI = "cloned_rssi"
NO_JITTER = "no_jitter"
CLONED_BEACON = "cloned_beacon"
REGISTERED_AFTER_TAP = "registered_after_tap"
LATE_REPORT = "late_report"

# In the order the admin's filter lists them.
LABELS: dict[str, str] = {
    MULTI_CARD: "Several cards, one person at the door",
    IMPOSSIBLE_TRAVEL: "Two rooms too far apart in time",
    TAP_MISSING: "Presence without the required tap",
    CARD_PHONE_MISMATCH: "Card in one room, phone in another",
    STALE_EID: "Stale or replayed Eddystone-EID",
    CLONED_RSSI: "Identical signal readings from different phones",
    NO_JITTER: "Report intervals without any jitter",
    CLONED_BEACON: "A room's static beacon heard without its rotating one",
    REGISTERED_AFTER_TAP: "Card registered after it was tapped",
    LATE_REPORT: "Scan uploaded long after it was dated",
}
