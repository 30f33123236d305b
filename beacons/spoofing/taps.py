"""Detectors that hold BLE presence against card taps and the time it takes to walk."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from attendance.flag_kinds import CARD_PHONE_MISMATCH, IMPOSSIBLE_TRAVEL
from attendance.rules.proxy import Place, TravelModel
from beacons.presence import PresenceInterval
from beacons.spoofing.flags import Flag, iso

# -- taps versus BLE ----------------------------------------------------------------------


@dataclass(frozen=True)
class Tap:
    room: str
    at: datetime


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
    places: Mapping[str, Place],
    travel: TravelModel,
) -> list[Flag]:
    """Consecutive sightings in two rooms closer in time than `travel` allows, each end's
    uncertainty given to the student. The same walking model as the door taps' findings."""
    flags = []
    ordered = sorted(sightings, key=lambda s: s.at)
    for a, b in itertools.pairwise(ordered):
        if a.room == b.room:
            continue
        needed = travel.minimum(places.get(a.room, Place()), places.get(b.room, Place()))
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
