"""Enrol by tap, inside a door batch: an unknown card tapped on a reader where staff are
waiting to enrol a student (devices.TapEnrolment) becomes that student's card, and the batch
goes on as if the card had been known: the tap is answered `accepted` with the student's
display name and counts like any other tap (the card's evidence from its first tap on).

Two ingest workers may hold taps on the same reader: each claims a request with a
conditional update, and only the one whose update changed the row creates the card.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db.models import Q

from attendance.engine import loading
from attendance.engine.loading import CardInfo
from attendance.engine.reference import forget_kept
from devices.models import Card, CardAction, CardHistory, RawEvent, TapEnrolment

# A reader's clock may be a little behind the server's: a tap stamped this long before the
# request still counts as after it. Older ones (a reader replaying its offline buffer) do not.
CLOCK_SLACK = timedelta(seconds=30)


def enrol_unknown_cards(
    taps: Sequence[RawEvent], cards: dict[str, CardInfo], now: datetime
) -> dict[str, CardInfo]:
    """The cards created for unknown taps claimed by a waiting enrolment, by UID (usually
    none: without an unknown tap this asks the database nothing)."""
    unknown = sorted(
        (e for e in taps if e.uid and e.uid not in cards), key=lambda e: (e.ts, e.event_id)
    )
    if not unknown:
        return {}
    waiting = _waiting_by_reader({e.sender for e in unknown}, now)
    if not waiting:
        return {}
    created: dict[str, int] = {}
    for tap in unknown:
        enrolment = waiting.get(tap.sender)
        if enrolment is None or tap.uid in created or not _after_request(tap, enrolment):
            continue
        if _claim(enrolment, now):
            created[tap.uid] = _issue_card(tap, enrolment, now)
            del waiting[tap.sender]  # one card per request
    return _learn_cards(created) if created else {}


def _waiting_by_reader(device_ids: set[str], now: datetime) -> dict[str, TapEnrolment]:
    """The newest open request per reader."""
    found: dict[str, TapEnrolment] = {}
    for enrolment in (
        TapEnrolment.objects.filter(
            reader__device_id__in=device_ids, claimed_at__isnull=True, expires_at__gt=now
        )
        .select_related("reader", "student")
        .order_by("-requested_at", "-id")
    ):
        found.setdefault(enrolment.reader.device_id, enrolment)
    return found


def _after_request(tap: RawEvent, enrolment: TapEnrolment) -> bool:
    return tap.received_at >= enrolment.requested_at and tap.ts >= (
        enrolment.requested_at - CLOCK_SLACK
    )


def _claim(enrolment: TapEnrolment, now: datetime) -> bool:
    """True for the one batch whose update took the request (the other worker's waits for
    this one's commit, then finds it claimed)."""
    return (
        TapEnrolment.objects.filter(
            pk=enrolment.pk, claimed_at__isnull=True, expires_at__gt=now
        ).update(claimed_at=now)
        == 1
    )


def _issue_card(tap: RawEvent, enrolment: TapEnrolment, now: datetime) -> int:
    card = Card.objects.create(uid=tap.uid, student=enrolment.student)
    # Registered by this tap: the taps before it that day were made while it was unknown
    # (they count, flagged registered_after_tap); this one and the later ones were not.
    Card.objects.filter(pk=card.pk).update(issued_at=tap.ts)
    CardHistory.objects.create(
        card=card,
        action=CardAction.ISSUED,
        student=enrolment.student,
        by=enrolment.requested_by,
        reason=f"enrolled by tap at {tap.sender}",
    )
    TapEnrolment.objects.filter(pk=enrolment.pk).update(card=card)
    return enrolment.student_id


def _learn_cards(created: dict[str, int]) -> dict[str, CardInfo]:
    """Teach this batch's reference memo the new cards. The memo already holds "no such
    card" for their UIDs and may hold the students' other cards, and the change log
    (attendance.engine.reference) retires kept memos only from the next batch on. The
    process also drops what it keeps, so a batch that rolls back leaves no card behind in
    memory either."""
    forget_kept()
    memo = loading._batch_memo.get()
    if memo is not None:
        for student_id in created.values():
            memo["student_cards"].pop(student_id, None)
    # The loader forms the display names and records the cards in the memo.
    return loading._cards(Q(uid__in=list(created)))
