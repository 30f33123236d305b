"""The flag every detector returns, and the kinds it can have."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# attendance.models.FlagKind values, except CLONED_BEACON which FlagKind does not have yet.
STALE_EID = "stale_eid"
CLONED_RSSI = "cloned_rssi"
NO_JITTER = "no_jitter"
TAP_MISSING = "tap_missing"
CARD_PHONE_MISMATCH = "card_phone_mismatch"
IMPOSSIBLE_TRAVEL = "impossible_travel"
CLONED_BEACON = "cloned_beacon"


@dataclass(frozen=True)
class Flag:
    kind: str
    at: datetime
    subject: str  # a phone id or a student number
    detail: str  # one line for a person
    evidence: dict[str, object] = field(default_factory=dict)  # JSON-able
    room: str | None = None


def iso(at: datetime) -> str:
    return at.isoformat()
