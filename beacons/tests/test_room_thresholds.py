"""A room's own BLE margin and windows: loaded for the tracker, and a change of them (or of
a beacon's thresholds) is a staff change that replays the presence they decide."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from attendance import services
from attendance.engine.ble.evidence import load_beacon_book
from attendance.models import AttendanceRecord, RecomputeRequest, RecordRevision, Visit
from beacons.models import Beacon, Phone
from beacons.presence import RoomThresholds
from devices.mqtt.pipeline import IncomingMessage, handle_batch
from tests.factories import make_course, make_room, make_session, make_student

PREFIX = "zt"
UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; the session runs 09:00-10:00
LATER = START + timedelta(hours=3)


def reports(a_rssi: int, b_rssi: int, minutes: int = 60) -> list[IncomingMessage]:
    """Ada's phone every 12 s from two minutes before the start, hearing A and B steadily."""
    messages: list[IncomingMessage] = []
    at = START - timedelta(minutes=2)
    while at < START + timedelta(minutes=minutes):
        beacons = [
            {"uuid": UUID, "major": 1, "minor": 1, "rssi": a_rssi, "n": 8},
            {"uuid": UUID, "major": 1, "minor": 2, "rssi": b_rssi, "n": 8},
        ]
        body = {"id": f"r-{len(messages)}", "ts": int(at.timestamp() * 1000), "window_s": 10,
                "beacons": beacons}  # fmt: skip
        messages.append(
            IncomingMessage(
                f"{PREFIX}/phones/ph-ada/ble",
                json.dumps(body).encode(),
                received_at=at.timestamp() + 1,
            )
        )
        at += timedelta(seconds=12)
    return messages


def run(messages: list[IncomingMessage]) -> None:
    for i in range(0, len(messages), 100):
        handle_batch(messages[i : i + 100], prefix=PREFIX)


def work_off_recomputes() -> None:
    while services.work_recompute_slice(LATER):
        pass


def ble_rooms() -> list[str]:
    return list(Visit.objects.filter(source="ble").values_list("room__code", flat=True))


@pytest.fixture
def school(db):
    """Rooms A and B side by side (one floor), an iBeacon in each (enter -75 dBm), Ada's
    phone, and her class in A."""
    room_a = make_room("A", building="Main", floor=1)
    room_b = make_room("B", building="Main", floor=1)
    Beacon.objects.create(kind="ibeacon", room=room_a, uuid=UUID, major=1, minor=1)
    Beacon.objects.create(kind="ibeacon", room=room_b, uuid=UUID, major=1, minor=2)
    ada = make_student("S1001", first_name="Ada", last_name="Okafor")
    Phone.objects.create(phone_id="ph-ada", student=ada)
    session = make_session(make_course("MATH", students=(ada,)), room_a, START)
    return {"A": room_a, "B": room_b, "ada": ada, "session": session}


def record_of(school: dict) -> AttendanceRecord:
    return AttendanceRecord.objects.get(session=school["session"], student=school["ada"])


def test_the_book_carries_only_the_rooms_with_thresholds_of_their_own(school) -> None:
    plain = load_beacon_book()
    assert plain.room_thresholds == {}
    school["A"].ble_margin_db = 8
    school["A"].ble_leave_windows = 5
    school["A"].save()
    book = load_beacon_book()
    assert book.room_thresholds == {"A": RoomThresholds(margin_db=8.0, leave_windows=5)}
    assert book.setup != plain.setup  # a cached replay with the old thresholds is not resumed


@time_machine.travel(LATER, tick=False)
def test_a_rooms_own_margin_replays_todays_presence_with_a_revision(school) -> None:
    run(reports(a_rssi=-70, b_rssi=-75))  # A leads B by 5 dB: above the default 4 dB margin
    assert ble_rooms() == ["A"]
    assert record_of(school).status == "present"

    school["A"].ble_margin_db = 8  # a neighbour this close needs a clearer lead
    school["A"].save()
    request = RecomputeRequest.objects.get(subject="room:A")
    assert request.cause == "room A BLE margin default→8 dB by system"
    work_off_recomputes()
    assert ble_rooms() == []
    record = record_of(school)
    assert record.status == "absent"
    revision = RecordRevision.objects.filter(record=record).order_by("revision").last()
    assert revision is not None and revision.cause == request.cause
    assert revision.status == "present"  # what it was before

    school["A"].ble_margin_db = None  # back to the default: present again
    school["A"].save()
    back = RecomputeRequest.objects.filter(subject="room:A").order_by("id").last()
    assert back is not None and back.cause == "room A BLE margin 8→default dB by system"
    work_off_recomputes()
    assert ble_rooms() == ["A"]
    assert record_of(school).status == "present"


@time_machine.travel(LATER, tick=False)
def test_a_room_may_be_entered_by_its_phones_only_after_a_change(school) -> None:
    """Thresholds that let a phone in reach students who had no visit: the session's."""
    school["A"].ble_margin_db = 8
    school["A"].save()
    run(reports(a_rssi=-70, b_rssi=-75))
    assert ble_rooms() == []
    assert not AttendanceRecord.objects.exists()  # no evidence, so no record before the end
    school["A"].ble_margin_db = 3
    school["A"].save()
    work_off_recomputes()
    assert ble_rooms() == ["A"] and record_of(school).status == "present"


@time_machine.travel(LATER, tick=False)
def test_a_beacons_new_thresholds_replay_the_presence_of_its_room(school) -> None:
    run(reports(a_rssi=-70, b_rssi=-90))
    assert ble_rooms() == ["A"]
    beacon = Beacon.objects.get(minor=1)
    beacon.enter_rssi, beacon.exit_rssi = -65, -68  # the phone's -70 is now below both
    beacon.save()
    request = RecomputeRequest.objects.get(subject=f"beacon:{beacon.pk}")
    assert request.cause == f"beacon #{beacon.pk} enter -75→-65 dBm, exit -85→-68 dBm by system"
    work_off_recomputes()
    assert ble_rooms() == []
    assert record_of(school).status == "absent"


def test_saving_a_room_without_changing_its_thresholds_asks_for_nothing(school) -> None:
    RecomputeRequest.objects.all().delete()  # the fixture's session, added in the past
    school["A"].name = "Seminar room"
    school["A"].capacity = 12
    school["A"].save()
    assert not RecomputeRequest.objects.exists()


@time_machine.travel(LATER, tick=False)
def test_staff_set_a_rooms_thresholds_in_the_admin_and_the_change_names_them(
    school, admin_client
) -> None:
    run(reports(a_rssi=-70, b_rssi=-75))
    url = f"/admin/attendance/room/{school['A'].pk}/change/"
    page = admin_client.get(url).content.decode()
    assert "BLE presence" in page and 'name="ble_margin_db"' in page
    form = {"code": "A", "name": "", "capacity": 30, "building": "Main", "floor": 1,
            "ble_margin_db": 8, "ble_enter_windows": "", "ble_leave_windows": 4}  # fmt: skip
    for prefix in re.findall(r'name="([^"]+)-TOTAL_FORMS"', page):  # the inlines: left alone
        form |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    assert admin_client.post(url, form).status_code == 302
    request = RecomputeRequest.objects.get(subject="room:A")
    assert request.cause == "room A BLE margin default→8 dB, leave windows default→4 by admin"
