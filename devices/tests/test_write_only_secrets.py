"""A reader's MQTT password is shown once, in the answer that made it, and never again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.test import Client

from devices.credentials import verify_password
from devices.models import Reader

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

V1 = "/api/v1"


def test_the_password_is_in_the_rotation_answer_only(school: School, api: Any) -> None:
    staff = api(school.staff)
    staff.post(f"{V1}/devices", {"device_id": "door-s", "room": "B-204"}, format="json")
    password = staff.post(f"{V1}/devices/door-s/credentials").json()["mqtt_password"]
    reader = Reader.objects.get(device_id="door-s")
    assert verify_password(password, reader.mqtt_password_hash)
    for answer in [staff.get(f"{V1}/devices/door-s"), staff.get(f"{V1}/devices")]:
        text = answer.content.decode()
        assert password not in text and "mqtt_password" not in text
        assert reader.mqtt_password_hash.split("$")[3] not in text


def test_the_reader_admin_shows_neither_password_nor_hash(school: School, api: Any) -> None:
    api(school.staff).post(f"{V1}/devices", {"device_id": "door-a", "room": "B-204"}, format="json")
    reader = Reader.objects.get(device_id="door-a")
    reader.rotate_password()
    browser = Client()
    browser.force_login(school.staff)
    page = browser.get(f"/admin/devices/reader/{reader.pk}/change/").content.decode()
    assert "MQTT credential" in page
    assert reader.mqtt_password_hash.split("$")[3] not in page
