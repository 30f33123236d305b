"""Several cards at one door, judged live: by the pass the ingest runs between batches once
the taps have settled, and again when a late event asks for its judged neighbours."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from attendance import services
from attendance.engine import crowd
from attendance.engine.crowd import CURSOR, SETTLE_DELAY, judge_settled_slice
from attendance.models import AttendanceRecord, EngineCursor, ProxyFlag, RejudgeRequest
from attendance.tests.db_scenario import apply_batch, build_timetable, build_world, settle
from attendance.tests.scenario import CARDS, Scenario, SessionSpec, at
from tests.factories import make_raw_event

MATH = Scenario("math", [SessionSpec("MATH", "B-204", "09:00", "10:00")], [], {})
START = at("08:58:00")


def tap(event_id: str, moment: datetime, student: str):  # type: ignore[no-untyped-def]
    return make_raw_event("door-b204", event_id, moment, "rfid", uid=CARDS[student], save=False)


def motion(event_id: str, moment: datetime):  # type: ignore[no-untyped-def]
    return make_raw_event("door-b204", event_id, moment, "pir", save=False, sensor="outer", state=1)


def flagged() -> list[str]:
    return sorted(
        ProxyFlag.objects.filter(kind="multi_card_one_motion").values_list(
            "student__number", flat=True
        )
    )


def one_person_two_cards() -> list:
    return [
        motion("m1", START),
        tap("t1", START + timedelta(seconds=1), "S1001"),
        tap("t2", START + timedelta(seconds=2), "S1002"),
    ]


@pytest.fixture
def math() -> None:
    build_world()
    build_timetable(MATH)


@pytest.mark.django_db
def test_live_taps_are_judged_by_the_pass_once_they_have_settled(math: None) -> None:
    with time_machine.travel(START + timedelta(seconds=3), tick=False):
        assert apply_batch(one_person_two_cards()) == {"t1": "accepted in", "t2": "accepted in"}
        assert flagged() == []  # the door may still see more people: not judged yet
    settle(START + timedelta(seconds=20))
    assert flagged() == []
    settle(START + SETTLE_DELAY + timedelta(seconds=3))
    assert flagged() == ["S1001", "S1002"]
    assert AttendanceRecord.objects.get(student__number="S1001").flags == ["multi_card_one_motion"]
    with CaptureQueriesContext(connection) as later:
        settle(START + SETTLE_DELAY + timedelta(seconds=8))
    assert flagged() == ["S1001", "S1002"]
    assert not any("proxyflag" in q["sql"] for q in later.captured_queries)  # judged once


@pytest.mark.django_db
def test_motion_arriving_before_the_pass_clears_the_suspicion(math: None) -> None:
    with time_machine.travel(START + timedelta(seconds=3), tick=False):
        apply_batch(one_person_two_cards())
    with time_machine.travel(START + timedelta(seconds=9), tick=False):
        apply_batch([motion("m2", START + timedelta(seconds=4))])  # the second person
    settle(START + SETTLE_DELAY + timedelta(seconds=3))
    assert flagged() == []


@pytest.mark.django_db
def test_a_late_tap_has_its_judged_neighbours_judged_again(math: None) -> None:
    with time_machine.travel(START + timedelta(seconds=3), tick=False):
        apply_batch(one_person_two_cards()[:2])  # one card, one person: nothing to flag
    settle(START + SETTLE_DELAY + timedelta(seconds=3))
    assert flagged() == []
    # A reader's buffer replayed a minute later holds a second card at the same moment.
    with time_machine.travel(START + timedelta(seconds=90), tick=False):
        apply_batch([tap("t2", START + timedelta(seconds=2), "S1002")])  # and a slice
        assert flagged() == ["S1001", "S1002"]
        assert not RejudgeRequest.objects.exists()  # taken by the slice


@pytest.mark.django_db
def test_a_slice_judges_a_few_taps_and_the_next_slices_the_rest(
    math: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crowd, "SLICE_TAPS", 2)
    with time_machine.travel(START + timedelta(seconds=3), tick=False):
        apply_batch([*one_person_two_cards(), tap("t3", START + timedelta(seconds=3), "S1003")])
    EngineCursor.objects.update_or_create(
        name=CURSOR, defaults={"position": START - timedelta(minutes=1)}
    )
    now = START + SETTLE_DELAY + timedelta(seconds=5)
    assert services.settle_door_taps(now) is True  # t1 and t2 judged, t3 waits
    assert EngineCursor.objects.get().position == START + timedelta(seconds=2)
    assert flagged() == ["S1001", "S1002"]
    assert services.settle_door_taps(now) is False
    assert EngineCursor.objects.get().position == now - SETTLE_DELAY
    assert flagged() == ["S1001", "S1002", "S1003"]  # three cards, one person
    assert services.settle_door_taps(now) is False


@pytest.mark.django_db(transaction=True)
def test_a_pass_skips_its_turn_while_another_worker_holds_the_cursor(math: None) -> None:
    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("the database cannot skip locked rows (SQLite has one writer anyway)")
    with time_machine.travel(START + timedelta(seconds=3), tick=False):
        apply_batch(one_person_two_cards())
    EngineCursor.objects.update_or_create(
        name=CURSOR, defaults={"position": START - timedelta(minutes=1)}
    )
    held, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                EngineCursor.objects.select_for_update().get(name=CURSOR)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(10)
        with transaction.atomic():
            judged = judge_settled_slice(START + SETTLE_DELAY + timedelta(seconds=3))
            assert judged.pairs == set() and not judged.behind
        assert flagged() == []
        assert EngineCursor.objects.get().position == START - timedelta(minutes=1)
    finally:
        release.set()
        thread.join(10)
    with transaction.atomic():
        assert judge_settled_slice(START + SETTLE_DELAY + timedelta(seconds=3)).pairs
    assert flagged() == ["S1001", "S1002"]


@pytest.mark.django_db
def test_only_late_events_ask_for_a_rejudging_one_window_per_reader_stretch(math: None) -> None:
    now = START + timedelta(minutes=5)
    live = [("door-b204", now - timedelta(seconds=2))]
    assert crowd.ask_to_rejudge(live, now) == 0
    late = [
        ("door-b204", START),
        ("door-b204", START + timedelta(seconds=3)),  # overlaps the first: one window
        ("door-b204", START + timedelta(minutes=2)),
        ("pir-b210", START),
    ]
    assert crowd.ask_to_rejudge(late, now) == 3
    windows = sorted(RejudgeRequest.objects.values_list("reader", "lo", "hi"))
    reach = 2 * crowd.MULTI_CARD_WINDOW
    assert windows == [
        ("door-b204", START - reach, START + timedelta(seconds=3) + reach),
        ("door-b204", START + timedelta(minutes=2) - reach, START + timedelta(minutes=2) + reach),
        ("pir-b210", START - reach, START + reach),
    ]


@pytest.mark.django_db
def test_a_request_wholly_after_the_cursor_is_dropped_unjudged(math: None) -> None:
    EngineCursor.objects.create(name=CURSOR, position=START)
    RejudgeRequest.objects.create(reader="door-b204", lo=START + timedelta(seconds=1),
                                  hi=START + timedelta(seconds=20))  # fmt: skip
    kept = RejudgeRequest.objects.create(reader="door-b204", lo=START - timedelta(seconds=5),
                                         hi=START + timedelta(seconds=5))  # fmt: skip
    with transaction.atomic():
        judge_settled_slice(START + SETTLE_DELAY)  # caught up: this slice takes requests
    assert not RejudgeRequest.objects.exists()
    assert kept.pk is not None


@pytest.mark.django_db
def test_requests_and_the_cursor_take_turns(math: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crowd, "SLICE_REQUESTS", 1)
    EngineCursor.objects.create(name=CURSOR, position=START - timedelta(minutes=5))
    for n in range(4):
        moment = START - timedelta(minutes=10 + n)
        RejudgeRequest.objects.create(reader="door-b204", lo=moment, hi=moment)
    for _ in range(2):
        with transaction.atomic():
            assert judge_settled_slice(START + SETTLE_DELAY).behind
    # One slice took a request, the other moved the cursor, whichever went first.
    assert EngineCursor.objects.get().position == START
    assert RejudgeRequest.objects.count() == 3
