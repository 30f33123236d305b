"""Two batches in flight at once at a PIR door (two ingest workers, or MQTT and HTTP): the
motion of one can turn a tap together with the motion of the other, though neither turns it
alone. The second batch holds off reading the door until the first has committed."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
from django.db import connection, transaction

from attendance import services
from attendance.models import Visit
from attendance.tests.db_scenario import apply_batch, build_timetable, build_world
from attendance.tests.scenario import CARDS, Scenario, SessionSpec, at
from devices.models import RawEvent
from tests.factories import make_raw_event

SCIENCE = Scenario("science", [SessionSpec("SCI", "B-210", "09:00", "10:00")], [], {})


def motion(event_id: str, clock: str, sensor: str) -> RawEvent:
    return make_raw_event(
        "pir-b210", event_id, at(clock), "pir", save=False, sensor=sensor, state=1
    )


def visits_in_b210() -> int:
    return Visit.objects.filter(student__number="S1001", room__code="B-210").count()


def batch_in_thread(events: Sequence[RawEvent], hold: threading.Event | None = None):  # type: ignore[no-untyped-def]
    """Store and apply `events` in a transaction of their own on another connection,
    holding it open until `hold` is set; returns (thread, applied, committed at)."""
    applied, committed = threading.Event(), []

    def run() -> None:
        try:
            with transaction.atomic():
                RawEvent.objects.bulk_create(events)
                services.apply_new_events(events)
                applied.set()
                if hold is not None:
                    assert hold.wait(10)
            committed.append(time.monotonic())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, applied, committed


@pytest.mark.django_db(transaction=True)
def test_motion_split_across_two_open_batches_still_turns_the_tap() -> None:
    if connection.vendor != "mysql":
        pytest.skip("SQLite has one writer: its batches never overlap")
    build_world()
    build_timetable(SCIENCE)
    tap = make_raw_event("pir-b210", "p1", at("09:00:02"), "rfid", uid=CARDS["S1001"], save=False)
    # No motion yet: unclear, so by presence: S1001 was outside, this is "in".
    assert apply_batch([tap]) == {"p1": "accepted in"}
    assert visits_in_b210() == 1

    release = threading.Event()
    # Inner alone gives no order: nothing to replay. This batch stays open...
    first, first_applied, first_committed = batch_in_thread(
        [motion("i1", "09:00:00", "inner")], hold=release
    )
    assert first_applied.wait(10)
    # ...while outer arrives in another. Outer alone gives no order either.
    second, second_applied, second_committed = batch_in_thread([motion("o1", "09:00:01", "outer")])
    try:
        # It waits for the door rather than read it without the inner motion.
        assert not second_applied.wait(1)
    finally:
        release.set()
        first.join(10)
        second.join(10)
    assert first_committed and second_committed and first_committed[0] <= second_committed[0]
    # Inner, then outer: the tap was "out", and S1001 never went in.
    assert visits_in_b210() == 0


@pytest.mark.django_db(transaction=True)
def test_batches_at_toggle_doors_do_not_wait_for_each_other() -> None:
    if connection.vendor != "mysql":
        pytest.skip("SQLite has one writer: its batches never overlap")
    build_world()
    build_timetable(SCIENCE)
    release = threading.Event()
    tap = make_raw_event  # two students at one toggle door: no lock is shared
    first, first_applied, _ = batch_in_thread(
        [tap("door-b204", "a1", at("09:00:00"), "rfid", uid=CARDS["S1001"], save=False)],
        hold=release,
    )
    assert first_applied.wait(10)
    second, second_applied, _ = batch_in_thread(
        [tap("door-b204", "b1", at("09:00:05"), "rfid", uid=CARDS["S1002"], save=False)]
    )
    try:
        assert second_applied.wait(5)
    finally:
        release.set()
        first.join(10)
        second.join(10)
