"""Constraints the database itself enforces: card UIDs and stored events."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from devices.identifiers import InvalidUid, normalise_uid
from devices.models import Card, RawEvent
from tests.factories import make_card, make_student


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("04:a1:b2:c3", "04A1B2C3"),
        ("04-A1-B2-C3", "04A1B2C3"),
        ("04 a1 b2 c3 d4 e5 f6", "04A1B2C3D4E5F6"),
        ("0102030405060708090a", "0102030405060708090A"),
    ],
)
def test_uids_normalise_to_upper_hex_without_separators(raw: str, normal: str) -> None:
    assert normalise_uid(raw) == normal


@pytest.mark.parametrize(
    "raw", ["", "04A1B2", "04A1B2C3D4", "04A1B2CZ", "04A1B2C3D4E5F6A7B8C9D0E1"]
)
def test_uids_of_the_wrong_length_or_not_hex_are_refused(raw: str) -> None:
    with pytest.raises(InvalidUid):
        normalise_uid(raw)


@pytest.mark.django_db
def test_the_same_card_in_another_spelling_is_refused_by_the_database() -> None:
    student = make_student()
    make_card(student, uid="04:a1:b2:c3")
    assert Card.objects.get().uid == "04A1B2C3"
    with pytest.raises(IntegrityError), transaction.atomic():
        make_card(make_student(), uid="04-A1-B2-C3")


@pytest.mark.django_db
def test_a_non_normal_uid_written_around_the_model_is_refused_by_the_database() -> None:
    student = make_student()
    with pytest.raises(IntegrityError), transaction.atomic():
        Card.objects.bulk_create([Card(uid="04:A1:B2:C3", student=student)])


def _event(sender: str, event_id: str, kind: str = "device") -> RawEvent:
    now = timezone.now()
    return RawEvent(
        sender_kind=kind,
        sender=sender,
        event_id=event_id,
        type="rfid",
        ts=now,
        received_at=now,
        payload={},
    )


@pytest.mark.django_db
def test_one_event_per_sender_and_id() -> None:
    _event("door-1", "1-1").save()
    _event("door-2", "1-1").save()  # another sender may reuse the id
    _event("door-1", "1-1", kind="phone").save()  # a phone is another sender
    with pytest.raises(IntegrityError), transaction.atomic():
        _event("door-1", "1-1").save()
    assert RawEvent.objects.count() == 3
