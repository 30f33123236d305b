"""Readers, cards and students kept between batches: reused while nothing changed, retired
by any save or delete, and by reference_changed() after a change made around the ORM."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from attendance.engine import reference
from devices.models import Card, Reader
from devices.mqtt.pipeline import handle_batch
from devices.tests.conftest import PREFIX, events_message, tap


def answer(event_id: str, device: str = "door-1") -> dict:
    outcome = handle_batch([events_message(device, tap(event_id))], prefix=PREFIX)
    if outcome.acks:
        return outcome.acks[0].body
    return {"rejected": outcome.rejections[0].reason}


def queries_for(event_id: str) -> list[str]:
    """The batch's SQL, without quotes around names (MySQL and SQLite quote differently)."""
    with CaptureQueriesContext(connection) as captured:
        answer(event_id)
    return [q["sql"].replace("`", "").replace('"', "") for q in captured.captured_queries]


def test_a_later_batch_reads_no_reader_or_card_again_while_nothing_changed(door):
    first = queries_for("1")
    second = queries_for("2")

    def reads_readers(q: str) -> bool:
        return "devices_reader.debounce_s" in q

    def reads_cards(q: str) -> bool:
        return "devices_card.revoked_at" in q and "devices_card.uid IN" in q

    assert any(map(reads_readers, first)) and any(map(reads_cards, first))
    assert not any(map(reads_readers, second)) and not any(map(reads_cards, second))
    assert len(second) < len(first)


def test_a_reader_disabled_in_the_admin_is_refused_from_the_next_batch(door):
    assert answer("1")["result"] == "accepted"
    door.enabled = False
    door.save()
    assert answer("2") == {"rejected": "device 'door-1' is disabled"}


def test_a_card_revoked_in_the_admin_is_answered_revoked_from_the_next_batch(door):
    assert answer("1")["result"] == "accepted"
    card = Card.objects.get()
    card.active = False
    card.save()
    assert answer("2")["result"] == "revoked_card"


def test_a_deleted_reader_is_unknown_from_the_next_batch(door):
    assert answer("1")["result"] == "accepted"
    Reader.objects.get().delete()
    assert answer("2") == {"rejected": "unknown device 'door-1'"}


def test_a_change_around_the_orm_is_seen_once_announced(door):
    assert answer("1")["result"] == "accepted"
    Card.objects.update(active=False)  # a queryset update sends no signal
    reference.reference_changed()
    assert answer("2")["result"] == "revoked_card"
