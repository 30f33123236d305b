"""POST /api/v1/attendance/event: the MQTT pipeline for senders that speak HTTP."""

import base64
import json

import pytest
from rest_framework.test import APIClient

from devices.credentials import mosquitto_hash
from devices.models import RawEvent, Reader, RejectedMessage
from devices.tests.conftest import tap
from tests.factories import make_reader, make_user

PASSWORD = "reader-secret-1"


@pytest.fixture
def reader(door):
    Reader.objects.filter(pk=door.pk).update(mqtt_password_hash=mosquitto_hash(PASSWORD))
    return door


def as_reader(device="door-1", password=PASSWORD):
    client = APIClient()
    token = base64.b64encode(f"{device}:{password}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    return client


def post(client, body, query=""):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(f"/api/v1/attendance/event{query}", data, content_type="application/json")


@pytest.mark.parametrize("path", ["/api/v1/attendance/event", "/api/v1/attendance/event/"])
def test_reader_posts_its_own_tap_and_gets_the_answer(reader, path):
    response = as_reader().post(path, json.dumps(tap("h-1")), content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {
        "answers": [{"id": "h-1", "result": "accepted", "dir": "in", "display": "A. Okafor"}]
    }
    assert RawEvent.objects.get().sender == "door-1"


def test_repeating_the_post_is_answered_duplicate(reader):
    post(as_reader(), tap("h-1"))
    assert post(as_reader(), tap("h-1")).json()["answers"][0]["result"] == "duplicate"
    assert RawEvent.objects.count() == 1


def test_wrong_password_or_unknown_device_is_401(reader):
    assert post(as_reader(password="wrong"), tap("h-1")).status_code == 401
    assert post(as_reader(device="door-404"), tap("h-1")).status_code == 401
    assert post(APIClient(), tap("h-1")).status_code == 401
    assert RawEvent.objects.count() == 0


def test_reader_may_not_post_for_another_reader(reader):
    make_reader(reader.room, "door-2")
    assert post(as_reader(), tap("h-1"), "?device=door-2").status_code == 403


def test_staff_post_for_a_named_reader_and_others_may_not(reader):
    staff, teacher = APIClient(), APIClient()
    staff.force_authenticate(make_user("registrar", staff=True))
    teacher.force_authenticate(make_user("teacher"))
    assert post(staff, tap("h-1"), "?device=door-1").status_code == 200
    assert post(staff, tap("h-2")).status_code == 400  # which reader?
    assert post(teacher, tap("h-3"), "?device=door-1").status_code == 403
    assert list(RawEvent.objects.values_list("event_id", flat=True)) == ["h-1"]


def test_invalid_body_is_400_with_the_reason_and_a_rejected_row(reader):
    response = post(as_reader(), b"{not json")
    assert response.status_code == 400 and "not JSON" in response.json()["detail"]
    row = RejectedMessage.objects.get()
    assert row.topic == "http:door-1" and row.sender == "door-1"


def test_single_invalid_tap_is_400_with_an_invalid_answer(reader):
    response = post(as_reader(), tap("h-1", uid="xyz"))
    assert response.status_code == 400
    assert response.json()["answers"] == [
        {"id": "h-1", "result": "invalid", "reason": response.json()["detail"]}
    ]


def test_array_with_some_invalid_is_200_with_each_answer(reader):
    response = post(as_reader(), [tap("h-1"), tap("h-2", uid="xyz")])
    assert response.status_code == 200
    assert [a["result"] for a in response.json()["answers"]] == ["accepted", "invalid"]


def test_disabled_reader_is_refused(reader):
    Reader.objects.filter(pk=reader.pk).update(enabled=False)
    response = post(as_reader(), tap("h-1"))
    assert response.status_code == 400 and "disabled" in response.json()["detail"]
