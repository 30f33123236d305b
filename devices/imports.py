"""Import resources for students (with their card UIDs), cards and door readers.

Cards keep their lifecycle on this path too: every issue, reassignment, revocation and
reactivation an import makes goes into the card's history (devices/cards.py), and every
save is an ordinary ORM save, so a running ingest hears of it through the reference log.
"""

from __future__ import annotations

import contextlib
from typing import Any

from attendance.api.provisioning import StudentSerializer
from devices.api.serializers import CardSerializer, ReaderSerializer
from devices.cards import give_card, save_card
from devices.identifiers import InvalidUid, normalise_uid
from devices.models import Card
from zias.imports.lookups import split_list
from zias.imports.resource import SerializerResource, history_reason


class StudentResource(SerializerResource):
    """Students by number. `cards` (optional) lists card UIDs separated by spaces: each is
    issued to the student, or reassigned from whoever held it. Cards the student has and
    the file does not list are left as they are (revoke them in the cards import), and a
    revoked card stays revoked."""

    serializer_class = StudentSerializer
    key = {"number": "number"}
    extra_columns = ("cards",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._card_rows: dict[str, int] = {}  # uid -> the row that listed it first
        self._cards: dict[str, Card] = {}  # the chunk's listed cards, read and locked

    def read_existing(self, chunk: list[tuple[int, dict[str, str]]]) -> None:
        super().read_existing(chunk)
        uids = set()
        for _, row in chunk:
            for uid in split_list(row.get("cards", "")):
                with contextlib.suppress(InvalidUid):
                    uids.add(normalise_uid(uid))
        cards = Card.objects.select_for_update().filter(uid__in=uids) if uids else []
        self._cards = {card.uid: card for card in cards}

    def extra_errors(self, extras: dict[str, Any], number: int) -> dict[str, list[str]]:
        problems = []
        uids = []
        for uid in extras.get("cards", []):
            try:
                uids.append(normalise_uid(uid))
            except InvalidUid as exc:
                problems.append(str(exc))
                continue
            first = self._card_rows.setdefault(uids[-1], number)
            if first != number:
                problems.append(f"{uids[-1]} is listed on row {first} too: a card has one owner")
        extras["cards"] = uids
        return {"cards": problems} if problems else {}

    def extra_changes(self, instance: Any, extras: dict[str, Any]) -> bool:
        return any(
            uid not in self._cards or self._cards[uid].student_id != instance.pk
            for uid in extras.get("cards", [])
        )

    def save(self, serializer: Any, extras: dict[str, Any], options: dict[str, Any]) -> Any:
        student = serializer.save()
        for uid in extras.get("cards", []):
            give_card(
                uid,
                student,
                by=options.get("user"),
                reason=history_reason(options),
                known=self._cards,
            )
        return student


class CardResource(SerializerResource):
    """Cards by UID (any of the contract's spellings). `active` false revokes a card,
    true reactivates it; a new `student` reassigns it. Each is recorded in its history."""

    serializer_class = CardSerializer
    key = {"uid": "uid"}

    def save(self, serializer: Any, extras: dict[str, Any], options: dict[str, Any]) -> Any:
        return save_card(serializer, by=options.get("user"), reason=history_reason(options))


class ReaderResource(SerializerResource):
    """Door readers by device id. A new reader has no MQTT password until staff make one
    (the admin's action, or POST /api/v1/devices/<id>/credentials)."""

    serializer_class = ReaderSerializer
    key = {"device_id": "device_id"}
