"""beacons (staff) and phone registration (a student, once per phone)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from beacons.models import Beacon, Phone
from devices.credentials import verify_password
from devices.identifiers import SENDER_ID_RE

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

V1 = "/api/v1"
UUID = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E"
IBEACON = {"room": "B-204", "uuid": UUID, "major": 2, "minor": 204}
EID = {"room": "C-101", "eid_key": "00" * 16, "eid_exponent": 10, "eid_counter_offset": -1000}


def test_staff_register_an_ibeacon(school: School, api) -> None:
    response = api(school.staff).post(f"{V1}/beacons", IBEACON, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["uuid"], body["room"]) == ("ibeacon", UUID.lower(), "B-204")
    assert api(school.staff).get(f"{V1}/beacons/{body['id']}").json()["minor"] == 204


def test_staff_register_an_eddystone_eid_beacon(school: School, api) -> None:
    response = api(school.staff).post(f"{V1}/beacons/", EID, format="json")
    assert response.status_code == 201, response.json()
    assert Beacon.objects.get().kind == "eddystone_eid"


def test_the_same_ibeacon_twice_is_409(school: School, api) -> None:
    api(school.staff).post(f"{V1}/beacons", IBEACON, format="json")
    again = api(school.staff).post(f"{V1}/beacons", {**IBEACON, "uuid": UUID.lower()})
    assert again.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"room": "B-204"},
        {**IBEACON, "eid_key": "00" * 16},
        {**IBEACON, "minor": None},
        {**IBEACON, "major": 70000},
        {**IBEACON, "uuid": "not-a-uuid"},
        {**EID, "eid_exponent": 16},
        {**EID, "eid_key": "abc"},
        {**IBEACON, "enter_rssi": -90, "exit_rssi": -80},
    ],
)
def test_incomplete_or_mixed_identities_are_400(school: School, api, body) -> None:
    response = api(school.staff).post(f"{V1}/beacons", body, format="json")
    assert response.status_code == 400, response.json()
    assert Beacon.objects.count() == 0


@pytest.mark.parametrize("who", ["tina", "ada_user"])
def test_only_staff_reach_beacons(school: School, api, who) -> None:
    assert api(getattr(school, who)).get(f"{V1}/beacons").status_code == 403


# Phones -------------------------------------------------------------------------------------


def register(client, **body):
    return client.post(f"{V1}/phones/", body, format="json")


def test_a_student_registers_a_phone_and_sees_the_password_once(school: School, api) -> None:
    response = register(api(school.ada_user), model_name="Pixel 8")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"phone_id", "mqtt_username", "mqtt_password"}
    assert SENDER_ID_RE.match(body["phone_id"]) and body["mqtt_username"] == body["phone_id"]
    phone = Phone.objects.get(phone_id=body["phone_id"])
    assert phone.student == school.ada and phone.active and phone.model_name == "Pixel 8"
    assert body["mqtt_password"] not in phone.mqtt_password_hash
    assert verify_password(body["mqtt_password"], phone.mqtt_password_hash)


def test_registering_again_revokes_the_previous_phone(school: School, api) -> None:
    first = register(api(school.ada_user)).json()["phone_id"]
    second = register(api(school.ada_user)).json()["phone_id"]
    assert first != second
    old, new = Phone.objects.get(phone_id=first), Phone.objects.get(phone_id=second)
    assert (old.active, old.revoked_at is not None) == (False, True)
    assert new.active
    assert Phone.objects.filter(student=school.ada, active=True).count() == 1


def test_a_student_may_not_register_for_another_student(school: School, api) -> None:
    assert register(api(school.ben_user), student="S1001").status_code == 403
    assert not Phone.objects.exists()


@pytest.mark.parametrize("who", ["tina", "nobody"])
def test_a_login_without_a_student_may_not_register(school: School, api, who) -> None:
    response = register(api(getattr(school, who)))
    assert response.status_code == 403
    assert "student" in response.json()["detail"]


def test_staff_may_register_for_a_student(school: School, api) -> None:
    assert register(api(school.staff), student="S1002").status_code == 201
    assert Phone.objects.get().student == school.ben
    assert register(api(school.staff), student="S404").status_code == 404


def test_anonymous_may_not_register(school: School, api) -> None:
    assert register(api(None)).status_code == 401


def test_listing_phones_is_405(school: School, api) -> None:
    assert api(school.ada_user).get(f"{V1}/phones").status_code == 405
