"""Readers, cards and students kept between batches: reused while nothing changed, retired
by any save or delete, and by reference_changed() after a change made around the ORM; the
change log behind it never makes one staff transaction wait for another."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from attendance.engine import reference
from attendance.models import ReferenceChange
from devices.models import Card, Reader
from devices.mqtt.pipeline import handle_batch
from devices.tests.conftest import PREFIX, events_message, tap
from tests.factories import make_reader, make_student


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


def test_a_change_committed_late_with_a_lower_id_still_retires_the_memo(door):
    # Two transactions add changes; the one that began first commits last, after a batch
    # has read the log: its row's id is below the highest, and the change still counts.
    assert answer("1")["result"] == "accepted"
    reference.reference_changed()
    earlier = ReferenceChange.objects.latest("id")
    reference.reference_changed()
    earlier.delete()  # as if its transaction had not committed when "2" was read...
    assert answer("2")["result"] == "repeat"
    Card.objects.update(active=False)
    ReferenceChange.objects.create(id=earlier.id)  # ...and committed now, below the highest
    assert answer("3")["result"] == "revoked_card"


def test_pruning_keeps_the_newest_changes_and_retires_every_memo(door, monkeypatch):
    monkeypatch.setattr(reference, "PRUNE_ABOVE", 5)
    monkeypatch.setattr(reference, "KEEP", 2)
    ReferenceChange.objects.all().delete()
    for _ in range(5):
        reference.reference_changed()
    assert reference.prune_changes() == 0  # not above the threshold yet
    reference.reference_changed()
    newest = sorted(ReferenceChange.objects.order_by("-id").values_list("id", flat=True)[:2])
    assert answer("1")["result"] == "accepted"
    Card.objects.update(active=False)  # around the ORM: only the prune can announce it
    before, _ = reference._current_stamp()
    assert reference.prune_changes() == 4
    assert reference._current_stamp()[0] == before + 1  # a prune counts as one more change
    ids = sorted(ReferenceChange.objects.values_list("id", flat=True))
    assert ids[:2] == newest and len(ids) == 3 and ids[2] > newest[1]
    assert answer("2")["result"] == "revoked_card"


@pytest.mark.django_db(transaction=True)
def test_a_staff_transaction_left_open_holds_up_no_other_save(door):
    """Every save of a watched model writes to the change log; an open transaction must
    not make another staff member's save wait (a long import, an admin page mid-save)."""
    if connection.vendor != "mysql":
        pytest.skip("SQLite has one writer at a time anyway")
    other = make_reader(door.room, "door-2")
    saved, release = threading.Event(), threading.Event()

    def long_import() -> None:
        try:
            with transaction.atomic():
                make_student(first_name="Imported", last_name="Student")
                saved.set()
                release.wait(15)
        finally:
            connection.close()

    thread = threading.Thread(target=long_import)
    thread.start()
    try:
        assert saved.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 2")
        started = time.monotonic()
        with transaction.atomic():
            other.enabled = False
            other.save()
        assert time.monotonic() - started < 1.5
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = DEFAULT")
        release.set()
        thread.join(15)
    assert answer("1", device="door-2") == {"rejected": "device 'door-2' is disabled"}
