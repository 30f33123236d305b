"""Beacon EID keys and phones' MQTT credentials are accepted, never shown back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.test import Client

from beacons.models import Beacon, Phone
from devices.credentials import mosquitto_hash

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

V1 = "/api/v1"
KEY = "0123456789abcdef0123456789abcdef"
EID = {"room": "C-101", "eid_key": KEY, "eid_exponent": 10, "eid_counter_offset": -1000}


def test_the_api_takes_an_eid_key_and_never_returns_it(school: School, api: Any) -> None:
    staff = api(school.staff)
    created = staff.post(f"{V1}/beacons", EID, format="json")
    assert created.status_code == 201, created.json()
    beacon_id = created.json()["id"]
    answers = [
        created,
        staff.get(f"{V1}/beacons/{beacon_id}"),
        staff.get(f"{V1}/beacons"),
        staff.patch(f"{V1}/beacons/{beacon_id}", {"eid_key": "f" * 32}, format="json"),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201)
        assert "eid_key" not in answer.content.decode()
        assert KEY not in answer.content.decode() and "f" * 32 not in answer.content.decode()
    assert Beacon.objects.get(pk=beacon_id).eid_key == "f" * 32  # the update took
    # An update that leaves the key out keeps it.
    staff.patch(f"{V1}/beacons/{beacon_id}", {"label": "front"}, format="json")
    assert Beacon.objects.get(pk=beacon_id).eid_key == "f" * 32


def test_the_schema_marks_the_eid_key_write_only(school: School, api: Any) -> None:
    schema = api(school.staff).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    beacon = schema["components"]["schemas"]["Beacon"]["properties"]["eid_key"]
    assert beacon.get("writeOnly") is True


def staff_browser(school: School) -> Client:
    browser = Client()
    browser.force_login(school.staff)
    return browser


def test_the_admin_never_shows_an_eid_key_and_blank_keeps_it(school: School) -> None:
    beacon = Beacon.objects.create(
        kind="eddystone_eid", room=school.c101, eid_key=KEY, eid_exponent=10, eid_counter_offset=0
    )
    browser = staff_browser(school)
    page = browser.get(f"/admin/beacons/beacon/{beacon.pk}/change/")
    assert page.status_code == 200 and KEY not in page.content.decode()

    form = {
        "room": school.c101.pk,
        "kind": "eddystone_eid",
        "label": "renamed",
        "eid_key": "",
        "eid_exponent": 10,
        "eid_counter_offset": 0,
        "enter_rssi": -75,
        "exit_rssi": -85,
    }
    saved = browser.post(f"/admin/beacons/beacon/{beacon.pk}/change/", form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    beacon.refresh_from_db()
    assert (beacon.label, beacon.eid_key) == ("renamed", KEY)

    browser.post(f"/admin/beacons/beacon/{beacon.pk}/change/", {**form, "eid_key": "A" * 32})
    beacon.refresh_from_db()
    assert beacon.eid_key == "a" * 32


def test_the_phone_admin_shows_whether_it_has_a_credential_not_its_hash(school: School) -> None:
    stored = mosquitto_hash("phone-password")
    phone = Phone.objects.create(phone_id="ph-1", student=school.ada, mqtt_password_hash=stored)
    page = staff_browser(school).get(f"/admin/beacons/phone/{phone.pk}/change/").content.decode()
    assert "MQTT credential" in page
    assert stored not in page and stored.split("$")[3] not in page
