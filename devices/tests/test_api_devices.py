"""cards, devices (with credentials), and the evidence lists: staff only."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from devices.credentials import verify_password
from devices.models import Card, CardHistory, RawEvent, Reader, RejectedMessage
from tests.factories import make_card, make_reader

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

V1 = "/api/v1"


def test_staff_issue_a_card_in_any_uid_spelling(school: School, api) -> None:
    client = api(school.staff)
    response = client.post(f"{V1}/cards", {"uid": "04:a1:b2:c3", "student": "S1001"})
    assert response.status_code == 201, response.json()
    assert response.json()["uid"] == "04A1B2C3"
    assert client.get(f"{V1}/cards/04-a1-b2-c3").json()["student"] == "S1001"
    assert CardHistory.objects.get().action == "issued"


def test_the_same_card_spelled_differently_is_409(school: School, api) -> None:
    make_card(school.ada, uid="04A1B2C3")
    response = api(school.staff).post(f"{V1}/cards", {"uid": "04 a1 b2 c3", "student": "S1002"})
    assert response.status_code == 409
    assert "uid" in response.json()


@pytest.mark.parametrize("uid", ["04A1B2", "ZZZZZZZZ", "", "04A1B2C3D4E5F60718293A4B"])
def test_a_malformed_uid_is_400(school: School, api, uid: str) -> None:
    response = api(school.staff).post(f"{V1}/cards", {"uid": uid, "student": "S1001"})
    assert response.status_code == 400
    assert "uid" in response.json()


def test_an_unknown_student_is_400(school: School, api) -> None:
    response = api(school.staff).post(f"{V1}/cards", {"uid": "04A1B2C3", "student": "S9"})
    assert response.status_code == 400 and "student" in response.json()


def test_revoking_a_card_is_recorded(school: School, api) -> None:
    make_card(school.ada, uid="04A1B2C3")
    response = api(school.staff).patch(f"{V1}/cards/04a1b2c3", {"active": False})
    assert response.status_code == 200
    card = Card.objects.get(uid="04A1B2C3")
    assert not card.active and card.revoked_at is not None
    assert CardHistory.objects.get().action == "revoked"


def test_a_malformed_uid_in_the_path_is_404(school: School, api) -> None:
    assert api(school.staff).get(f"{V1}/cards/not-hex").status_code == 404


@pytest.mark.parametrize("who", ["tina", "ada_user", "nobody"])
def test_only_staff_reach_cards_devices_and_evidence(school: School, api, who) -> None:
    client = api(getattr(school, who))
    for name in ["cards", "devices", "events", "rejected"]:
        assert client.get(f"{V1}/{name}").status_code == 403, name


def test_staff_register_a_device(school: School, api) -> None:
    body = {"device_id": "door-b204", "room": "B-204", "mode": "pir"}
    response = api(school.staff).post(f"{V1}/devices/", body)
    assert response.status_code == 201, response.json()
    reader = Reader.objects.get(device_id="door-b204")
    assert (reader.room.code, reader.mode, reader.mqtt_password_hash) == ("B-204", "pir", "")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"device_id": "Door_1", "room": "B-204"}, "device_id"),
        ({"device_id": "door-1", "room": "Z-9"}, "room"),
        ({"device_id": "door-1", "room": "B-204", "mode": "magic"}, "mode"),
        ({"device_id": "door-1", "room": "B-204", "heartbeat_s": 1}, "heartbeat_s"),
        ({"device_id": "door-1", "room": "B-204", "debounce_s": 99999}, "debounce_s"),
    ],
)
def test_bad_device_fields_are_400(school: School, api, body, field) -> None:
    response = api(school.staff).post(f"{V1}/devices", body)
    assert response.status_code == 400
    assert field in response.json()


def test_a_taken_device_id_is_409(school: School, api) -> None:
    make_reader(school.b204, device_id="door-1")
    response = api(school.staff).post(f"{V1}/devices", {"device_id": "door-1", "room": "B-204"})
    assert response.status_code == 409


def test_credentials_are_shown_once_and_only_the_hash_is_kept(school: School, api) -> None:
    make_reader(school.b204, device_id="door-1")
    client = api(school.staff)
    first = client.post(f"{V1}/devices/door-1/credentials")
    assert first.status_code == 201
    body = first.json()
    assert body["device_id"] == body["mqtt_username"] == "door-1"
    stored = Reader.objects.get(device_id="door-1").mqtt_password_hash
    assert stored.startswith("$7$") and body["mqtt_password"] not in stored
    assert verify_password(body["mqtt_password"], stored)
    assert "mqtt_password" not in client.get(f"{V1}/devices/door-1").json()
    second = client.post(f"{V1}/devices/door-1/credentials").json()
    renewed = Reader.objects.get(device_id="door-1").mqtt_password_hash
    assert not verify_password(body["mqtt_password"], renewed)
    assert verify_password(second["mqtt_password"], renewed)


def test_credentials_for_a_missing_device_are_404(school: School, api) -> None:
    assert api(school.staff).post(f"{V1}/devices/ghost/credentials").status_code == 404


def test_a_teacher_may_not_get_credentials(school: School, api) -> None:
    make_reader(school.b204, device_id="door-1")
    assert api(school.tina).post(f"{V1}/devices/door-1/credentials").status_code == 403


# Evidence -----------------------------------------------------------------------------------


def store_event(sender: str, event_id: str, kind: str = "device", type_: str = "rfid", ts=None):
    return RawEvent.objects.create(
        sender_kind=kind, sender=sender, event_id=event_id, type=type_, ts=ts,
        received_at=ts, payload={"id": event_id, "type": type_},
    )  # fmt: skip


def test_events_in_the_contract_shape_filtered_by_sender_and_type(school: School, api) -> None:
    store_event("door-1", "1-1", ts=school.now)
    store_event("door-2", "1-1", ts=school.now)
    store_event("ph-1", "a-1", kind="phone", type_="ble", ts=school.now)
    client = api(school.staff)
    (event,) = client.get(f"{V1}/events", {"device": "door-1"}).json()["results"]
    assert {"sender", "id", "type", "ts", "received_at", "payload"} <= set(event)
    assert (event["sender"], event["id"], event["type"]) == ("door-1", "1-1", "rfid")
    phones = client.get(f"{V1}/events", {"phone": "ph-1"}).json()["results"]
    assert [e["sender"] for e in phones] == ["ph-1"]
    assert client.get(f"{V1}/events", {"type": "ble"}).json()["count"] == 1
    assert client.get(f"{V1}/events", {"type": "nfc"}).status_code == 400


def test_events_date_range(school: School, api) -> None:
    store_event("door-1", "old", ts=school.now - timedelta(days=10))
    store_event("door-1", "new", ts=school.now)
    client = api(school.staff)
    since = (school.now - timedelta(days=2)).date().isoformat()
    assert [e["id"] for e in client.get(f"{V1}/events", {"from": since}).json()["results"]] == [
        "new"
    ]
    assert client.get(f"{V1}/events", {"to": since}).json()["count"] == 1


def test_rejected_messages_for_staff(school: School, api) -> None:
    RejectedMessage.objects.create(
        topic="zias/devices/x/events", reason="not JSON", received_at=school.now
    )
    (row,) = api(school.staff).get(f"{V1}/rejected/").json()["results"]
    assert (row["topic"], row["reason"]) == ("zias/devices/x/events", "not JSON")
    assert "received_at" in row


@pytest.mark.parametrize("name", ["cards", "devices", "events", "rejected"])
def test_list_queries_are_fixed(school: School, api, django_assert_max_num_queries, name) -> None:
    for i in range(15):
        make_card(school.ada)
        make_reader(school.b204)
        store_event("door-1", f"e-{i}", ts=school.now)
        RejectedMessage.objects.create(topic="t", reason="r", received_at=school.now)
    client = api(school.staff)
    with django_assert_max_num_queries(3):
        small = client.get(f"{V1}/{name}", {"page_size": 1})
    with django_assert_max_num_queries(3):
        large = client.get(f"{V1}/{name}", {"page_size": 100})
    assert len(small.json()["results"]) == 1
    assert len(large.json()["results"]) == 15
