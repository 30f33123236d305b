"""The plain data the rules work on: taps, motions, visits, sessions and policies.

Keys (students, rooms, sessions) are whatever the caller uses to name them (database ids in
the services, short strings in the tests); the rules only compare them for equality.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from attendance.rules.door import Direction, Mode

# Any hashable name: database ids in the services, short strings in tests. (Any, not
# Hashable, because Mapping keys are invariant: a dict[str, ...] must fit.)
Key = Any


@dataclass(frozen=True, order=True)
class EventKey:
    """Event-time order: (ts, sender, event id) is total and the same on every worker."""

    ts: datetime
    sender: str
    event_id: str

    def label(self) -> str:
        return f"{self.sender}/{self.event_id}"


@dataclass(frozen=True)
class Tap:
    """One stored card tap, resolved to its student and its reader's room and settings."""

    key: EventKey
    uid: str
    student: Key
    room: Key
    mode: Mode
    debounce_s: int
    reported_dir: Direction | None = None

    @property
    def ts(self) -> datetime:
        return self.key.ts

    @property
    def sender(self) -> str:
        return self.key.sender


@dataclass(frozen=True)
class TapVerdict:
    """What the engine made of one tap: `accepted` with a direction, or a `repeat`."""

    key: EventKey
    result: str
    dir: Direction | None = None


@dataclass(frozen=True)
class VisitSpan:
    """A stay in a room; `left_at` None while the person is still inside."""

    room: Key
    entered_at: datetime
    left_at: datetime | None
    source: str = "door"
    closed_by_system: bool = False
    close_reason: str = ""


@dataclass(frozen=True)
class Policy:
    """A course's attendance policy; the defaults are DESIGN's."""

    grace_minutes: int = 10
    min_presence_pct: int = 75
    early_minutes: int = 15
    tap_required: bool = False


@dataclass(frozen=True)
class SessionInfo:
    key: Key
    room: Key
    starts_at: datetime
    ends_at: datetime
    policy: Policy = Policy()


@dataclass(frozen=True)
class RecordOutcome:
    """What the evidence says about one student in one session."""

    status: str
    first_seen: datetime | None
    last_seen: datetime | None
    minutes_present: int
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """An anti-proxy suspicion. `key` names it uniquely, so recomputing replaces it."""

    kind: str
    key: str
    student: Key
    room: Key | None
    at: datetime
    detail: str
    evidence: dict[str, object]
