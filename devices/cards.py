"""A card's lifecycle as one set of rules: issue, reassign, revoke, reactivate, each written
to the card's history with who did it. The API and the imports both save cards through here.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from attendance.models import Student
from devices.models import Card, CardAction, CardHistory


def record_card_change(card: Card, action: str, by: Any, reason: str) -> None:
    CardHistory.objects.create(
        card=card,
        action=action,
        student_id=card.student_id,
        by=by if by is not None and by.is_authenticated else None,
        reason=reason[:200],
    )


# savepoint=False: one transaction of its own when called alone (the API), part of the
# caller's otherwise (an import row, which has its savepoint already).
@transaction.atomic(savepoint=False)
def save_card(serializer: Any, *, by: Any, reason: str) -> Card:
    """Save a validated CardSerializer (create or update): a revoked card gets its
    revocation time, a reactivated one loses it, and each change goes into the history."""
    if serializer.instance is None:
        card = serializer.save()
        record_card_change(card, CardAction.ISSUED, by, reason)
        return card  # type: ignore[no-any-return]
    was_student, was_active = serializer.instance.student_id, serializer.instance.active
    changes: dict[str, Any] = {}
    if was_active and serializer.validated_data.get("active") is False:
        changes["revoked_at"] = timezone.now()
    elif not was_active and serializer.validated_data.get("active") is True:
        changes["revoked_at"] = None
    card = serializer.save(**changes)
    if card.student_id != was_student:
        record_card_change(card, CardAction.REASSIGNED, by, reason)
    if card.active != was_active:
        action = CardAction.REACTIVATED if card.active else CardAction.REVOKED
        record_card_change(card, action, by, reason)
    return card  # type: ignore[no-any-return]


@transaction.atomic(savepoint=False)
def give_card(
    uid: str,
    student: Student,
    *,
    by: Any,
    reason: str,
    known: dict[str, Card] | None = None,
) -> Card:
    """The card with this (normalised) UID belongs to `student` from now on: issued if it
    is new, reassigned if someone else held it. Whether it is active is left as it was, so
    a card staff revoked is not brought back by a spreadsheet that still lists it.

    `known`: the cards by UID that the caller has read (and locked) for this, and that this
    keeps up to date; without it the card is read here, under a lock."""
    if known is None:
        card = Card.objects.select_for_update().filter(uid=uid).first()
    else:
        card = known.get(uid)
    if card is None:
        card = Card.objects.create(uid=uid, student=student)
        record_card_change(card, CardAction.ISSUED, by, reason)
    elif card.student_id != student.pk:
        card.student = student
        card.save(update_fields=["student"])
        record_card_change(card, CardAction.REASSIGNED, by, reason)
    if known is not None:
        known[uid] = card
    return card
