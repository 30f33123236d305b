"""Detectors that hold BLE presence against card taps and the time it takes to walk."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from beacons.presence import PresenceInterval
from beacons.spoofing.flags import (
    CARD_PHONE_MISMATCH,
    IMPOSSIBLE_TRAVEL,
    TAP_MISSING,
    Flag,
    iso,
)

# -- taps versus BLE ----------------------------------------------------------------------


@dataclass(frozen=True)
class Tap:
    room: str
    at: datetime


@dataclass(frozen=True)
class SessionSlot:
    session_id: int
    room: str
    starts_at: datetime
    ends_at: datetime
    tap_required: bool
    early: timedelta = timedelta(minutes=15)


def _overlap(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> timedelta:
    return max(timedelta(0), min(a1, b1) - max(a0, b0))


def tap_missing_flags(
    student: str,
    sessions: Iterable[SessionSlot],
    presence: Sequence[PresenceInterval],
    taps: Sequence[Tap],
    *,
    min_presence: timedelta = timedelta(minutes=5),
) -> list[Flag]:
    """BLE says the student was in a tap-required session's room, but no card was tapped
    at that room's door from the early window before the start to the end."""
    flags = []
    for s in sessions:
        if not s.tap_required:
            continue
        window_from = s.starts_at - s.early
        inside = sum(
            (
                _overlap(p.start, p.end, window_from, s.ends_at)
                for p in presence
                if p.room == s.room
            ),
            timedelta(0),
        )
        if inside < min_presence:
            continue
        if any(t.room == s.room and window_from <= t.at <= s.ends_at for t in taps):
            continue
        flags.append(
            Flag(
                TAP_MISSING,
                s.starts_at,
                student,
                f"in {s.room} for {inside.total_seconds() / 60:.0f} min by BLE only; "
                "this course requires a card tap",
                {"session": s.session_id, "ble_minutes": round(inside.total_seconds() / 60, 1)},
                s.room,
            )
        )
    return flags


def card_phone_mismatch_flags(
    student: str,
    taps: Sequence[Tap],
    presence: Sequence[PresenceInterval],
    *,
    before: timedelta = timedelta(minutes=2),
    after: timedelta = timedelta(minutes=2),
) -> list[Flag]:
    """A tap at room X's door while the phone was in another room Y without a break from
    `before` the tap to `after` it. Walking out of Y to X's door and back would show in
    the phone's presence; holding Y across the whole span says the phone never moved."""
    flags = []
    for tap in taps:
        for p in presence:
            if p.room != tap.room and p.start <= tap.at - before and tap.at + after <= p.end:
                flags.append(
                    Flag(
                        CARD_PHONE_MISMATCH,
                        tap.at,
                        student,
                        f"card tapped at {tap.room} while the phone was in {p.room} "
                        f"from {p.start:%H:%M} to {p.end:%H:%M}",
                        {
                            "tap_room": tap.room,
                            "tap_at": iso(tap.at),
                            "phone_room": p.room,
                            "phone_from": iso(p.start),
                            "phone_to": iso(p.end),
                            "confidence": p.confidence,
                        },
                        tap.room,
                    )
                )
    return flags


# -- impossible travel --------------------------------------------------------------------


@dataclass(frozen=True)
class RoomPlace:
    code: str
    building: str = ""
    floor: int = 0


@dataclass(frozen=True)
class TravelTimes:
    """The least time to get from one room to another: a few seconds along a corridor, more
    per floor, minutes to another building. Conservative: a flag must be beyond doubt."""

    same_floor: timedelta = timedelta(seconds=5)
    per_floor: timedelta = timedelta(seconds=20)
    other_building: timedelta = timedelta(minutes=2)

    def between(self, a: RoomPlace, b: RoomPlace) -> timedelta:
        if a.code == b.code:
            return timedelta(0)
        if a.building != b.building:
            return self.other_building
        return self.same_floor + abs(a.floor - b.floor) * self.per_floor


@dataclass(frozen=True)
class Sighted:
    """A student placed in a room at a moment, give or take `uncertainty`."""

    room: str
    at: datetime
    source: Literal["tap", "ble"]
    uncertainty: timedelta = timedelta(0)


def sightings_from(
    taps: Iterable[Tap],
    presence: Iterable[PresenceInterval],
    ble_uncertainty: timedelta = timedelta(seconds=30),
) -> list[Sighted]:
    """Taps are exact; a BLE stay's edges are known to about a window or two."""
    points = [Sighted(t.room, t.at, "tap") for t in taps]
    for p in presence:
        points.append(Sighted(p.room, p.start, "ble", ble_uncertainty))
        points.append(Sighted(p.room, p.end, "ble", ble_uncertainty))
    return sorted(points, key=lambda s: s.at)


def impossible_travel_flags(
    student: str,
    sightings: Sequence[Sighted],
    places: Mapping[str, RoomPlace],
    travel: TravelTimes | None = None,
) -> list[Flag]:
    travel = travel or TravelTimes()
    flags = []
    ordered = sorted(sightings, key=lambda s: s.at)
    for a, b in itertools.pairwise(ordered):
        if a.room == b.room:
            continue
        place_a = places.get(a.room, RoomPlace(a.room))
        place_b = places.get(b.room, RoomPlace(b.room))
        needed = travel.between(place_a, place_b)
        took = b.at - a.at
        if took + a.uncertainty + b.uncertainty < needed:
            flags.append(
                Flag(
                    IMPOSSIBLE_TRAVEL,
                    b.at,
                    student,
                    f"{a.room} ({a.source}) then {b.room} ({b.source}) "
                    f"{took.total_seconds():.0f} s later; at least "
                    f"{needed.total_seconds():.0f} s needed",
                    {
                        "from": a.room,
                        "from_at": iso(a.at),
                        "from_source": a.source,
                        "to": b.room,
                        "to_at": iso(b.at),
                        "to_source": b.source,
                        "needed_s": needed.total_seconds(),
                    },
                    b.room,
                )
            )
    return flags
