"""Time you can trust: Eddystone-EID scans judged at the server's receipt, through the whole
ingest step (handle_batch) into visits, records and flags, on the real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from attendance import services
from attendance.models import AttendanceRecord, ProxyFlag, Visit
from beacons.eid import compute_eid
from beacons.models import Beacon, Phone
from devices.models import RawEvent
from devices.mqtt.pipeline import IncomingMessage, handle_batch
from tests.factories import (
    make_card,
    make_course,
    make_reader,
    make_room,
    make_session,
    make_student,
)

PREFIX = "zt"
UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
KEY = "00112233445566778899aabbccddeeff"
EXPONENT = 8  # a new EID every 256 s
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; the session runs 09:00-10:00
LATER = START + timedelta(hours=3)


def eid_heard(at: datetime) -> str:
    """The EID room A's beacon broadcast at `at` (its counter runs on Unix seconds)."""
    return compute_eid(bytes.fromhex(KEY), EXPONENT, int(at.timestamp())).hex()


def scans(
    start: datetime, minutes: int, *, heard_from: datetime | None = None, prefix: str = "s"
) -> list[tuple[str, datetime, list[dict]]]:
    """Ada's phone in room A: a report every 12 s naming A's EID beacon strongly and C's
    iBeacon faintly. `heard_from`: the EIDs are those broadcast from then on instead (a
    recording played back under new times)."""
    out, i = [], 0
    while i * 12 < minutes * 60:
        at = start + timedelta(seconds=12 * i, milliseconds=37 * (i % 7))
        heard = (heard_from or start) + timedelta(seconds=12 * i)
        beacons = [
            {"eid": eid_heard(heard), "rssi": -60 - (i % 3), "n": 8},
            {"uuid": UUID, "major": 1, "minor": 3, "rssi": -92, "n": 8},
        ]
        out.append((f"{prefix}-{i}", at, beacons))
        i += 1
    return out


def received(
    reports: list[tuple[str, datetime, list[dict]]], *, at: datetime | None = None
) -> list[IncomingMessage]:
    """As the phone uploads them: a second after each scan, or all at `at`."""
    messages = []
    for event_id, ts, beacons in reports:
        body = {"id": event_id, "ts": int(ts.timestamp() * 1000), "window_s": 10,
                "beacons": beacons}  # fmt: skip
        when = (at or ts + timedelta(seconds=1)).timestamp()
        messages.append(
            IncomingMessage(
                f"{PREFIX}/phones/ph-ada/ble", json.dumps(body).encode(), received_at=when
            )
        )
    return messages


def run(messages: list[IncomingMessage], batch: int = 100) -> None:
    for i in range(0, len(messages), batch):
        handle_batch(messages[i : i + batch], prefix=PREFIX)


@pytest.fixture
def school(db):
    """Room A with an Eddystone-EID beacon, room C (another floor) with an iBeacon, Ada's
    phone, and a class in A from 09:00 to 10:00."""
    room_a = make_room("A", floor=0)
    room_c = make_room("C", floor=2)
    Beacon.objects.create(
        kind="eddystone_eid", room=room_a, eid_key=KEY, eid_exponent=EXPONENT,
        eid_counter_offset=0,
    )  # fmt: skip
    Beacon.objects.create(kind="ibeacon", room=room_c, uuid=UUID, major=1, minor=3)
    ada = make_student("S1001", first_name="Ada", last_name="Okafor")
    Phone.objects.create(phone_id="ph-ada", student=ada)
    course = make_course("MATH", students=(ada,))
    session = make_session(course, room_a, START)
    return {"A": room_a, "ada": ada, "course": course, "session": session}


def record_of(school: dict) -> AttendanceRecord:
    return AttendanceRecord.objects.get(session=school["session"], student=school["ada"])


@time_machine.travel(LATER, tick=False)
def test_eid_scans_sent_as_they_happen_make_ada_present(school):
    """The control for the replays below: the same scans, live, are presence."""
    run(received(scans(START - timedelta(minutes=2), 60)))
    assert list(Visit.objects.values_list("source", "room__code")) == [("ble", "A")]
    record = record_of(school)
    assert record.status == "present" and record.flags == []


@time_machine.travel(LATER, tick=False)
def test_eid_scans_replayed_hours_later_leave_a_finalised_absence_absent_and_flagged(school):
    services.periodic_tick(LATER)  # the session ended at 10:00: finalised, Ada absent
    assert (record_of(school).status, record_of(school).finalised) == ("absent", True)

    recorded = scans(START - timedelta(minutes=2), 60)  # valid EIDs at their own ts
    run(received(recorded, at=LATER))  # uploaded three hours on, original ts kept
    assert RawEvent.objects.filter(sender="ph-ada").count() == len(recorded)  # kept
    assert not Visit.objects.exists()  # but they place nobody
    record = record_of(school)
    assert record.status == "absent" and "late_report" in record.flags
    flag = ProxyFlag.objects.filter(kind="late_report", session=school["session"]).first()
    assert flag is not None and flag.room == school["A"] and flag.evidence["delay_s"] > 3600
    # Only the claimed ts vouches for those EIDs: late, not a replay caught red-handed.
    assert not ProxyFlag.objects.filter(kind="stale_eid").exists()


@time_machine.travel(START + timedelta(minutes=55), tick=False)
def test_old_eids_under_fresh_timestamps_are_stale_and_place_nobody(school):
    """A recording of 09:00-09:10 played back at 09:40 with its times rewritten to 09:40:
    the server got EIDs the beacon stopped sending half an hour before, far past the
    15-minute offline window."""
    replay = scans(START + timedelta(minutes=40), 10, heard_from=START)
    run(received(replay))
    assert not Visit.objects.exists()
    flags = ProxyFlag.objects.filter(kind="stale_eid", student=school["ada"])
    assert flags.count() == len(replay)  # one per report, each with its EID
    flag = flags.earliest("at")
    assert flag.session == school["session"] and flag.room == school["A"]
    assert flag.evidence["periods_off"] <= -(40 * 60 // 256) + 1
    record = record_of(school)
    assert record.status == "absent" and "stale_eid" in record.flags


@time_machine.travel(START + timedelta(minutes=55), tick=False)
def test_a_scan_buffered_ten_minutes_still_counts_though_its_eid_has_rotated(school):
    """Within the offline window the server accepts an EID that is several periods old at
    receipt: an honest phone that lost its connection loses nothing."""
    buffered = scans(START, 30)
    run(received(buffered, at=START + timedelta(minutes=40)))  # 10-40 min after each scan
    late = [ts for _, ts, _ in buffered if START + timedelta(minutes=25) > ts]
    assert Visit.objects.filter(source="ble").exists()  # the last 15 minutes count
    assert ProxyFlag.objects.filter(kind="late_report").count() == len(late)
    assert not ProxyFlag.objects.filter(kind="stale_eid").exists()


@time_machine.travel(LATER, tick=False)
def test_a_door_tap_with_late_ble_evidence_is_present_by_the_tap(school):
    """A late report cannot make anyone present by itself, but it does not undo a tap: the
    tap makes Ada present (even where a tap is required), the late scans are a flag."""
    school["course"].tap_required = True
    school["course"].save()
    reader = make_reader(school["A"], "door-a", mode="entry")
    make_card(school["ada"], "04A1B2C3")
    tap = {"id": "t1", "ts": int((START - timedelta(minutes=1)).timestamp() * 1000),
           "type": "rfid", "uid": "04A1B2C3"}  # fmt: skip
    handle_batch(
        [IncomingMessage(f"{PREFIX}/devices/{reader.device_id}/events", json.dumps(tap).encode(),
                         received_at=START.timestamp())],
        prefix=PREFIX,
    )  # fmt: skip
    run(received(scans(START - timedelta(minutes=2), 60), at=LATER))
    services.periodic_tick(LATER)
    assert list(Visit.objects.values_list("source", flat=True)) == ["door"]
    record = record_of(school)
    assert record.status == "present"
    assert "late_report" in record.flags and "tap_missing" not in record.flags
