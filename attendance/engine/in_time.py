"""Ownership and placement in time: whose a card was, and where a reader was, at a moment.

A tap counts for the card's owner at the moment of the tap, and happened in the room its
reader was in then, with the mode it had then: handing a card on or moving a reader changes
nothing that came before. Loaded with the cards and readers (attendance.engine.loading).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from attendance.names import reader_display_name
from devices.models import CardOwnership, ReaderPlacement


@dataclass(frozen=True)
class Ownership:
    student_id: int
    since: datetime
    until: datetime | None
    display: str

    def holds(self, moment: datetime) -> bool:
        return self.since <= moment and (self.until is None or moment < self.until)


@dataclass(frozen=True)
class Placement:
    room: str
    room_id: int
    mode: str
    since: datetime


def ownerships_of_cards(card_ids: Iterable[int]) -> dict[int, list[Ownership]]:
    rows = CardOwnership.objects.filter(card_id__in=set(card_ids)).values_list(
        "card_id", "student_id", "since", "until", "student__first_name", "student__last_name"
    )
    found: dict[int, list[Ownership]] = defaultdict(list)
    for card_id, student_id, since, until, first, last in rows:
        found[card_id].append(Ownership(student_id, since, until, reader_display_name(first, last)))
    return found


def cards_ever_owned_by(student_ids: Iterable[int]) -> set[int]:
    return set(
        CardOwnership.objects.filter(student_id__in=set(student_ids)).values_list(
            "card_id", flat=True
        )
    )


def placements_of_readers(reader_ids: Iterable[int]) -> dict[int, list[Placement]]:
    rows = ReaderPlacement.objects.filter(reader_id__in=set(reader_ids)).values_list(
        "reader_id", "room__code", "room_id", "mode", "since"
    )
    found: dict[int, list[Placement]] = defaultdict(list)
    for reader_id, room, room_id, mode, since in rows:
        found[reader_id].append(Placement(room, room_id, mode, since))
    for placements in found.values():
        placements.sort(key=lambda p: p.since)
    return found
