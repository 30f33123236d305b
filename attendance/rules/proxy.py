"""Anti-proxy suspicions, each with its evidence. Flags, never silent acceptance.

Every finding has a key derived from the evidence (the tap it is about, or the session), so
a recomputation replaces the findings it derives instead of adding duplicates.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from attendance.flag_kinds import IMPOSSIBLE_TRAVEL, MULTI_CARD
from attendance.rules.door import Motion
from attendance.rules.evidence import EventKey, Finding, Key, Tap

# Cards tapped on one reader this close together count as one group at the door.
MULTI_CARD_WINDOW = timedelta(seconds=5)


@dataclass(frozen=True)
class ReaderTap:
    key: EventKey
    uid: str
    student: Key


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def multi_card_findings(
    reader: str,
    room: Key,
    taps: Sequence[ReaderTap],
    motions: Sequence[Motion],
    about: Iterable[EventKey],
    window: timedelta = MULTI_CARD_WINDOW,
) -> list[Finding]:
    """Several different cards within `window` of a tap, but fewer people at the door.

    People are counted from the motion sensors: the larger of the outer and inner motion
    counts around the group. No motion at all is no evidence either way (no flag).
    `about` names the taps to judge; `taps` must cover `window` around them and `motions`
    `2 * window`.
    """
    findings = []
    # Sorted once, then each tap's group and the motion around it are bisected slices:
    # linear in the taps judged, however busy the door.
    by_key: dict[EventKey, ReaderTap] = {}
    for t in taps:
        by_key.setdefault(t.key, t)
    ordered = sorted(taps, key=lambda t: t.key.ts)
    tap_times = [t.key.ts for t in ordered]
    motions = sorted(motions, key=lambda m: m.at)
    motion_times = [m.at for m in motions]
    for key in sorted(set(about)):
        tap = by_key.get(key)
        if tap is None:
            continue
        group = ordered[
            bisect_left(tap_times, key.ts - window) : bisect_right(tap_times, key.ts + window)
        ]
        cards = sorted({t.uid for t in group})
        if len(cards) < 2:
            continue
        lo = group[0].key.ts - window
        hi = group[-1].key.ts + window
        near = motions[bisect_left(motion_times, lo) : bisect_right(motion_times, hi)]
        people = max(sum(m.sensor == "outer" for m in near), sum(m.sensor == "inner" for m in near))
        if not 1 <= people < len(cards):
            continue
        findings.append(
            Finding(
                kind=MULTI_CARD,
                key=f"{MULTI_CARD}:{key.label()}",
                student=tap.student,
                room=room,
                at=key.ts,
                detail=f"{len(cards)} cards on {reader} within {window.seconds}s, "
                f"motion sensors saw {people}",
                evidence={
                    "reader": reader,
                    "tap": key.label(),
                    "cards": cards,
                    "taps": [
                        {"event": t.key.label(), "uid": t.uid, "at": _iso(t.key.ts)}
                        for t in sorted(group, key=lambda t: t.key)
                    ],
                    "motions": [
                        {"sensor": m.sensor, "at": _iso(m.at)}
                        for m in sorted(near, key=lambda m: (m.at, m.sensor))
                    ],
                },
            )
        )
    return findings


@dataclass(frozen=True)
class Place:
    """Where a room is, as far as walking time is concerned."""

    building: str = ""
    floor: int = 0


@dataclass(frozen=True)
class TravelModel:
    """Minimum believable walking time between two rooms: the one model, for door taps and
    for BLE sightings alike (the engine builds it from the TRAVEL_* settings).

    Same floor: `same_floor_s`; each floor up or down adds `per_floor_s`; another building
    adds `other_building_s`. Deliberately generous: a flag should mean something physically
    impossible, not a brisk walk.
    """

    same_floor_s: int = 20
    per_floor_s: int = 15
    other_building_s: int = 120

    def minimum(self, a: Place, b: Place) -> timedelta:
        seconds = self.same_floor_s + self.per_floor_s * abs(a.floor - b.floor)
        if a.building != b.building:
            seconds += self.other_building_s
        return timedelta(seconds=seconds)


def impossible_travel_findings(
    accepted_taps: Iterable[Tap],
    places: Mapping[Key, Place],
    model: TravelModel,
) -> list[Finding]:
    """Consecutive accepted taps of one student in two rooms closer in time than walkable."""
    ordered = sorted(accepted_taps, key=lambda t: t.key)
    findings = []
    for before, after in pairwise(ordered):
        if before.room == after.room:
            continue
        needed = model.minimum(places.get(before.room, Place()), places.get(after.room, Place()))
        took = after.ts - before.ts
        if took >= needed:
            continue
        findings.append(
            Finding(
                kind=IMPOSSIBLE_TRAVEL,
                key=f"{IMPOSSIBLE_TRAVEL}:{after.key.label()}",
                student=after.student,
                room=after.room,
                at=after.ts,
                detail=f"{before.room} to {after.room} in {took.total_seconds():.0f}s, "
                f"at least {needed.total_seconds():.0f}s needed",
                evidence={
                    "from": {
                        "room": str(before.room),
                        "event": before.key.label(),
                        "at": _iso(before.ts),
                    },
                    "to": {
                        "room": str(after.room),
                        "event": after.key.label(),
                        "at": _iso(after.ts),
                    },
                    "seconds": took.total_seconds(),
                    "minimum_seconds": needed.total_seconds(),
                },
            )
        )
    return findings
