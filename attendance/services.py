"""Applying stored evidence to visits and records: the engine's Django side.

The ingest (MQTT or HTTP) inserts new RawEvent rows and then, inside the same
transaction, calls `apply_new_events`; whatever it returns is published to the readers
only after commit. Decisions come from attendance.rules; this module loads and saves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from attendance.models import Visit, VisitSource
from attendance.rules.door import decide_direction, is_repeat
from devices.models import Card, RawEvent, Reader


@dataclass(frozen=True)
class TapAnswer:
    """What a reader is told about one of its card taps (CONTRACT `.../ack`)."""

    event_id: str
    result: str  # accepted, repeat, unknown_card, revoked_card
    dir: str | None = None
    display: str | None = None

    def payload(self) -> dict[str, str]:
        body = {"id": self.event_id, "result": self.result}
        if self.dir:
            body["dir"] = self.dir
        if self.display:
            body["display"] = self.display
        return body


def apply_new_events(events: Sequence[RawEvent]) -> dict[tuple[str, str], TapAnswer]:
    """Apply newly stored reader events; answers keyed by (device id, event id) for taps."""
    taps = sorted((e for e in events if e.type == "rfid"), key=lambda e: (e.ts, e.pk or 0))
    if not taps:
        return {}
    readers = Reader.objects.in_bulk({e.sender for e in taps}, field_name="device_id")
    cards = Card.objects.select_related("student").in_bulk({e.uid for e in taps}, field_name="uid")
    answers: dict[tuple[str, str], TapAnswer] = {}
    for event in taps:
        answers[(event.sender, event.event_id)] = _apply_tap(
            event, readers[event.sender], cards.get(event.uid)
        )
    return answers


def _apply_tap(event: RawEvent, reader: Reader, card: Card | None) -> TapAnswer:
    if card is None:
        return TapAnswer(event.event_id, "unknown_card")
    if not card.active:
        return TapAnswer(event.event_id, "revoked_card")
    display = card.student.display_name
    if is_repeat(_previous_tap_at(event), event.ts, timedelta(seconds=reader.debounce_s)):
        return TapAnswer(event.event_id, "repeat", display=display)
    open_here = Visit.objects.filter(
        student=card.student, room_id=reader.room_id, left_at__isnull=True
    ).first()
    direction = decide_direction(
        reader.mode,  # type: ignore[arg-type]
        event.payload.get("dir"),
        inside_now=open_here is not None,
    )
    if direction == "in":
        _enter(card.student_id, reader.room_id, event.ts)
    elif open_here is not None:
        open_here.left_at = event.ts
        open_here.save(update_fields=["left_at"])
    return TapAnswer(event.event_id, "accepted", dir=direction, display=display)


def _previous_tap_at(event: RawEvent) -> datetime | None:
    return (
        RawEvent.objects.filter(sender=event.sender, uid=event.uid, type="rfid", ts__lte=event.ts)
        .exclude(pk=event.pk)
        .order_by("-ts")
        .values_list("ts", flat=True)
        .first()
    )


def _enter(student_id: int, room_id: int, at: datetime) -> None:
    """Entering a room closes whatever visit was still open elsewhere, at that moment."""
    Visit.objects.filter(student_id=student_id, left_at__isnull=True, entered_at__lte=at).exclude(
        room_id=room_id
    ).update(left_at=at)
    if not Visit.objects.filter(student_id=student_id, room_id=room_id, left_at__isnull=True):
        Visit.objects.create(
            student_id=student_id, room_id=room_id, entered_at=at, source=VisitSource.DOOR
        )


def periodic_tick(now: datetime | None = None) -> None:
    """Time-driven work the ingest loop runs every few seconds (session finalisation)."""
    _ = now or timezone.now()
