"""Ownership and placement in time: the card's owner and the reader's room at the moment of
the tap decide; a card registered after it was tapped counts that day, flagged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from attendance.models import AttendanceRecord, RecordRevision, Visit
from attendance.tests.db_scenario import apply_batch
from attendance.tests.test_staff_changes import drain
from devices.models import Card
from tests.factories import (
    make_card,
    make_course,
    make_raw_event,
    make_reader,
    make_room,
    make_session,
    make_student,
)


@pytest.fixture
def today(db):  # type: ignore[no-untyped-def]
    """A session running now in R-1 (toggle reader door-r1), Ada and Ben enrolled."""
    now = timezone.now()
    room = make_room("R-1")
    reader = make_reader(room, "door-r1", mode="toggle")
    ada = make_student("S2001", first_name="Ada", last_name="Okafor")
    ben = make_student("S2002", first_name="Ben", last_name="Adeyemi")
    course = make_course("RT1", students=(ada, ben))
    session = make_session(course, room, now - timedelta(minutes=40), minutes=80)
    drain()
    return now, reader, session, ada, ben


def tap(uid: str, moment, event_id: str):  # type: ignore[no-untyped-def]
    return make_raw_event("door-r1", event_id, moment, "rfid", uid=uid, save=False)


def record_of(student, session) -> AttendanceRecord:  # type: ignore[no-untyped-def]
    return AttendanceRecord.objects.get(student=student, session=session)


def test_handing_a_card_on_changes_nothing_in_the_first_owners_past(today) -> None:
    now, _, session, ada, ben = today
    card = make_card(ada, "0D000001")
    apply_batch([tap(card.uid, now - timedelta(minutes=35), "a-in")])
    before = record_of(ada, session)
    assert before.status == "present"
    revisions_before = RecordRevision.objects.filter(record=before).count()

    card.student = ben  # the card goes to Ben
    card.save()
    drain()
    after = record_of(ada, session)
    assert (after.status, after.first_seen) == (before.status, before.first_seen)
    assert RecordRevision.objects.filter(record=after).count() == revisions_before
    assert not Visit.objects.filter(student=ben).exists()  # Ada's tap stays Ada's

    answers = apply_batch([tap(card.uid, timezone.now(), "b-in")])
    assert answers["b-in"].startswith("accepted")
    assert Visit.objects.filter(student=ben).count() == 1  # Ben's tap after the change is his


def test_moving_a_reader_changes_nothing_that_happened_before(today) -> None:
    now, reader, session, ada, _ = today
    card = make_card(ada, "0D000002")
    apply_batch([tap(card.uid, now - timedelta(minutes=35), "a-in")])
    assert record_of(ada, session).status == "present"
    elsewhere = make_room("R-9")
    reader.room = elsewhere
    reader.save()
    drain()
    assert record_of(ada, session).status == "present"
    assert Visit.objects.get(student=ada).room.code == "R-1"
    apply_batch([tap(card.uid, timezone.now(), "a-out")])  # toggles out of R-1, into R-9...
    rooms = sorted(Visit.objects.filter(student=ada).values_list("room__code", flat=True))
    assert rooms == ["R-1", "R-9"]  # ...so this tap happened where the reader is now


def test_a_card_registered_after_it_was_tapped_counts_that_day_and_is_flagged(today) -> None:
    now, _, session, ada, _ = today
    answers = apply_batch([tap("0D0000AA", now - timedelta(minutes=30), "u-1")])
    assert answers["u-1"] == "unknown_card"
    assert (
        record_of(ada, session).status == "absent"
        if AttendanceRecord.objects.filter(student=ada).exists()
        else True
    )
    card = Card(uid="0D0000AA", student=ada)
    card.save()  # registered now: it counts from the start of today
    drain()
    record = record_of(ada, session)
    assert record.status == "present" and "registered_after_tap" in record.flags
    last = RecordRevision.objects.filter(record=record).order_by("revision").last()
    assert last is not None and last.cause == ("card 0D0000AA registered by system")
    # A tap on a day before the card existed stays unknown.
    yesterday = apply_batch([tap("0D0000AA", now - timedelta(days=1), "u-0")])
    assert yesterday["u-0"] == "unknown_card"
