"""Enrol by tap: staff choose a student and a reader; the next unknown card tapped there
within the minute becomes the student's card, answered `accepted` with their name.

The first tests run the pipeline in process; the last one runs the ingest loop against the
machine's Mosquitto, with a reader client that publishes taps and reads its acks.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from attendance.engine.enrol_by_tap import _claim
from attendance.models import Visit
from devices.enrolment import request_enrolment
from devices.models import Card, CardHistory, TapEnrolment
from devices.mqtt.client import BrokerAddress, MqttClient
from devices.mqtt.loop import IngestLoop, LoopConfig, contract_topics
from devices.mqtt.pipeline import handle_batch
from devices.tests.conftest import PREFIX, events_message, tap
from tests.factories import make_reader, make_room, make_student, make_user

NEW_UID = "04C0FFEE"


@pytest.fixture
def desk(door):
    """door-1 (toggle, B-204, Ada's card 04A1B2C3 known), Ben without a card, staff."""
    ben = make_student("S7001", first_name="Ben", last_name="Ruiz")
    return {"reader": door, "ben": ben, "staff": make_user("registrar", staff=True)}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _tap(device: str, event_id: str, uid: str, ts_ms: int | None = None) -> list[dict]:
    outcome = handle_batch(
        [events_message(device, tap(event_id, uid=uid, ts=ts_ms or _now_ms()))], prefix=PREFIX
    )
    return [a.body for a in outcome.acks]


def test_the_next_unknown_card_is_the_chosen_students(desk):
    request_enrolment(desk["ben"], desk["reader"], desk["staff"])
    assert _tap("door-1", "e-1", NEW_UID) == [
        {"id": "e-1", "result": "accepted", "dir": "in", "display": "B. Ruiz"}
    ]
    card = Card.objects.get(uid=NEW_UID)
    assert card.student == desk["ben"] and card.active
    history = CardHistory.objects.get(card=card)
    assert (history.action, history.by, history.student) == ("issued", desk["staff"], desk["ben"])
    assert "door-1" in history.reason
    enrolment = TapEnrolment.objects.get()
    assert enrolment.card == card and enrolment.claimed_at is not None
    # The tap counts like any other: Ben is in the room.
    assert Visit.objects.filter(student=desk["ben"], left_at__isnull=True).exists()
    # One card per request: the next unknown card is unknown again.
    assert _tap("door-1", "e-2", "04BADBAD")[0]["result"] == "unknown_card"


def test_a_known_card_does_not_take_the_request(desk):
    request_enrolment(desk["ben"], desk["reader"], desk["staff"])
    assert _tap("door-1", "e-1", "04A1B2C3")[0]["display"] == "A. Okafor"
    assert TapEnrolment.objects.get().claimed_at is None


def test_an_expired_request_another_reader_or_an_old_tap_enrol_nothing(desk, settings):
    other = make_reader(make_room("C-101"), "door-2")
    now = timezone.now()
    request_enrolment(desk["ben"], desk["reader"], desk["staff"], now - timedelta(seconds=61))
    assert _tap("door-1", "x-1", NEW_UID)[0]["result"] == "unknown_card"
    request_enrolment(desk["ben"], other, desk["staff"])
    assert _tap("door-1", "x-2", NEW_UID)[0]["result"] == "unknown_card"
    # A reader replaying its offline buffer: a tap from before the request.
    request_enrolment(desk["ben"], desk["reader"], desk["staff"])
    assert _tap("door-1", "x-3", NEW_UID, _now_ms() - 120_000)[0]["result"] == "unknown_card"
    assert not Card.objects.filter(uid=NEW_UID).exists()


def test_a_student_whose_cards_the_memo_holds_gets_the_new_card_in_the_same_batch(desk):
    """Ada's first card is in the kept reference memo; her second, enrolled by tap, must be
    seen by the replay of her day in the batch that creates it."""
    ada = Card.objects.get(uid="04A1B2C3").student
    assert _tap("door-1", "m-1", "04A1B2C3")[0]["dir"] == "in"
    request_enrolment(ada, desk["reader"], desk["staff"])
    assert _tap("door-1", "m-2", NEW_UID, _now_ms() + 6000) == [
        {"id": "m-2", "result": "accepted", "dir": "out", "display": "A. Okafor"}
    ]
    assert _tap("door-1", "m-3", NEW_UID, _now_ms() + 12_000)[0]["dir"] == "in"


def test_a_newer_choice_at_a_reader_replaces_the_open_one(desk):
    ada = Card.objects.get(uid="04A1B2C3").student
    request_enrolment(ada, desk["reader"], desk["staff"])
    request_enrolment(desk["ben"], desk["reader"], desk["staff"])
    assert _tap("door-1", "n-1", NEW_UID)[0]["display"] == "B. Ruiz"


def test_only_one_claim_of_a_request_wins(desk):
    enrolment = request_enrolment(desk["ben"], desk["reader"], desk["staff"])
    now = timezone.now()
    assert [_claim(enrolment, now), _claim(enrolment, now)] == [True, False]


@pytest.mark.django_db(transaction=True)
def test_enrol_by_tap_end_to_end_over_mqtt(client):
    """Unknown card, then staff choose the student in the admin, then the tap, then the ack
    with the name, through the ingest loop and the machine's Mosquitto."""
    if not settings.MQTT_URL:
        pytest.skip("MQTT_URL is unset")
    run = uuid.uuid4().hex[:8]
    prefix = f"zt-enrol-{run}"
    # The office's enrolment desk: an entry reader, so every accepted tap is "in".
    reader = make_reader(make_room(f"D-{run}"), f"desk-{run}", mode="entry")
    ben = make_student(f"S{run}", first_name="Ben", last_name="Ruiz")
    staff = make_user(f"registrar-{run}", staff=True)
    address = BrokerAddress.from_url(settings.MQTT_URL)

    ingest = MqttClient(address, f"zt-enrol-ingest-{run}", manual_ack=True)
    loop = IngestLoop(ingest, LoopConfig(prefix, batch_size=50, batch_ms=5, tick_s=60))
    acks: list[dict] = []
    got = threading.Condition()

    def on_ack(message) -> None:  # type: ignore[no-untyped-def]
        with got:
            acks.append(json.loads(message.payload))
            got.notify_all()

    device = MqttClient(address, f"zt-enrol-reader-{run}", on_message=on_ack)
    try:
        ingest.connect()
        ingest.subscribe(contract_topics(prefix), qos=1)
        device.connect()
        device.subscribe([f"{prefix}/devices/{reader.device_id}/ack"], qos=1)
        time.sleep(0.3)  # both SUBACKs

        def tap_and_wait(event_id: str, uid: str, ago_ms: int = 0) -> dict:
            body = {"id": event_id, "ts": _now_ms() - ago_ms, "type": "rfid", "uid": uid}
            device.publish(f"{prefix}/devices/{reader.device_id}/events", json.dumps(body))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                loop.run_once(wait_s=0.1)
                with got:
                    if any(a["id"] == event_id for a in acks):
                        return next(a for a in acks if a["id"] == event_id)
            raise AssertionError(f"no ack for {event_id}: {acks}")

        # Staff take longer to choose than the reader's 5 s debounce (the unknown tap is
        # the card's evidence too, once the card is known).
        assert tap_and_wait("t-1", NEW_UID, ago_ms=20_000) == {
            "id": "t-1", "result": "unknown_card",
        }  # fmt: skip

        client.force_login(staff)
        chosen = client.post(
            "/admin/devices/tapenrolment/add/", {"student": ben.pk, "reader": reader.pk}
        )
        assert chosen.status_code == 302, chosen.content.decode()[:1000]

        assert tap_and_wait("t-2", NEW_UID) == {
            "id": "t-2", "result": "accepted", "dir": "in", "display": "B. Ruiz",
        }  # fmt: skip
        card = Card.objects.get(uid=NEW_UID)
        assert card.student == ben
        assert CardHistory.objects.get(card=card).by == staff
    finally:
        device.disconnect()
        ingest.disconnect()


def test_the_students_list_leads_to_the_enrolment_page_with_the_student_chosen(desk, client):
    client.force_login(desk["staff"])
    answer = client.post(
        "/admin/attendance/student/",
        {"action": "enrol_card_by_tap", "_selected_action": [desk["ben"].pk]},
    )
    assert answer.status_code == 302
    page = client.get(answer.url)
    assert page.status_code == 200
    assert f'<option value="{desk["ben"].pk}" selected>' in page.content.decode()
    listed = client.get("/admin/devices/tapenrolment/")
    assert listed.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_workers_with_unknown_taps_at_one_reader_enrol_one_card():
    """Worker A has claimed the request and not yet committed; worker B's batch, with
    another unknown card at the same reader, waits for A and then finds it claimed."""
    if connection.vendor != "mysql":
        pytest.skip("two writers at once need MariaDB: SQLite has one writer")
    reader = make_reader(make_room("E-1"), "desk-1")
    ben = make_student("S7002", first_name="Ben", last_name="Ruiz")
    request_enrolment(ben, reader, make_user("registrar", staff=True))
    answers: dict[str, list[dict]] = {}
    a_done, release = threading.Event(), threading.Event()

    def worker(name: str, uid: str, hold: bool) -> None:
        try:
            with transaction.atomic():
                answers[name] = _tap("desk-1", f"{name}-1", uid)
                if hold:
                    a_done.set()
                    release.wait(10)
        finally:
            connection.close()

    a = threading.Thread(target=worker, args=("a", NEW_UID, True))
    a.start()
    assert a_done.wait(10)
    b = threading.Thread(target=worker, args=("b", "04BEEF00", False))
    b.start()
    b.join(1.0)
    assert b.is_alive(), "worker B should wait for A's claim to commit"
    release.set()
    a.join(10)
    b.join(10)
    assert answers["a"][0]["result"] == "accepted" and answers["a"][0]["display"] == "B. Ruiz"
    assert answers["b"][0]["result"] == "unknown_card"
    assert list(Card.objects.values_list("uid", flat=True)) == [NEW_UID]
