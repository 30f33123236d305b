"""BLE reports through the whole ingest step (handle_batch) into visits, records and flags."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attendance.models import AttendanceRecord, ProxyFlag, Visit
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
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; the session runs 09:00-10:00
LATER = START + timedelta(hours=3)  # "now" for every test: the session has ended


def ibeacon(minor: int, rssi: int) -> dict:
    return {"uuid": UUID, "major": 1, "minor": minor, "rssi": rssi, "n": 8}


def ble_message(
    phone: str, event_id: str, at: datetime, beacons: list[dict], delay_s: float = 1.0
) -> IncomingMessage:
    """A report as the phone sends it at the end of its scan: received `delay_s` later."""
    body = {"id": event_id, "ts": int(at.timestamp() * 1000), "window_s": 10, "beacons": beacons}
    return IncomingMessage(
        f"{PREFIX}/phones/{phone}/ble", json.dumps(body).encode(),
        received_at=at.timestamp() + delay_s,
    )  # fmt: skip


def reports_in(
    phone: str,
    room_minor: int,
    other_minor: int,
    start: datetime,
    minutes: int,
    prefix: str = "r",
    extra: list[dict] | None = None,
) -> list[IncomingMessage]:
    """A phone sitting in one room: a report every ~12 s, with the jitter a real OS has."""
    rng = random.Random(f"{phone}{start}")
    messages, at, i = [], start, 0
    while at < start + timedelta(minutes=minutes):
        beacons = [ibeacon(room_minor, -60 + rng.randint(-2, 2)), ibeacon(other_minor, -92)]
        messages.append(ble_message(phone, f"{prefix}-{i}", at, beacons + (extra or [])))
        at += timedelta(seconds=12, milliseconds=rng.randint(-400, 400))
        i += 1
    return messages


def run(messages: list[IncomingMessage], batch: int = 100) -> None:
    for i in range(0, len(messages), batch):
        handle_batch(messages[i : i + batch], prefix=PREFIX)


def visits() -> list[tuple]:
    return sorted(
        Visit.objects.filter(source="ble").values_list(
            "student__number", "room__code", "entered_at", "left_at", "confidence"
        )
    )


@pytest.fixture
def school(db):
    """Rooms A and C (other floors), an iBeacon in each, Ada's phone, and a class in A."""
    room_a = make_room("A", floor=0)
    room_c = make_room("C", floor=2)
    Beacon.objects.create(kind="ibeacon", room=room_a, uuid=UUID, major=1, minor=1)
    Beacon.objects.create(kind="ibeacon", room=room_c, uuid=UUID, major=1, minor=3)
    ada = make_student("S1001", first_name="Ada", last_name="Okafor")
    Phone.objects.create(phone_id="ph-ada", student=ada)
    course = make_course("MATH", students=(ada,))
    session = make_session(course, room_a, START)
    return {"A": room_a, "C": room_c, "ada": ada, "course": course, "session": session}


@time_machine.travel(LATER, tick=False)
def test_reports_through_the_ingest_give_a_ble_visit_and_a_present_record(school):
    run(reports_in("ph-ada", 1, 3, START - timedelta(minutes=2), 60))
    [(number, room, entered, left, confidence)] = visits()
    assert (number, room) == ("S1001", "A")
    assert entered <= START and left >= START + timedelta(minutes=55)
    assert 0.5 <= confidence <= 1.0
    record = AttendanceRecord.objects.get(session=school["session"], student=school["ada"])
    assert record.status == "present" and record.minutes_present >= 55
    assert record.flags == []
    assert Beacon.objects.get(minor=1).last_seen is not None
    assert Phone.objects.get().last_seen is not None


@time_machine.travel(LATER, tick=False)
def test_door_and_ble_visits_overlapping_are_not_counted_twice(school):
    reader = make_reader(school["A"], "door-a", mode="toggle")
    make_card(school["ada"], "04A1B2C3")
    tap = {"id": "t1", "ts": int((START + timedelta(minutes=1)).timestamp() * 1000),
           "type": "rfid", "uid": "04A1B2C3"}  # fmt: skip
    handle_batch(
        [IncomingMessage(f"{PREFIX}/devices/{reader.device_id}/events", json.dumps(tap).encode())],
        prefix=PREFIX,
    )
    run(reports_in("ph-ada", 1, 3, START - timedelta(minutes=2), 60))
    assert set(Visit.objects.values_list("source", flat=True)) == {"door", "ble"}
    record = AttendanceRecord.objects.get(session=school["session"])
    assert record.status == "present" and record.minutes_present <= 60


@time_machine.travel(LATER, tick=False)
def test_out_of_order_and_repeated_reports_give_identical_visits(school):
    messages = reports_in("ph-ada", 1, 3, START, 30) + reports_in(
        "ph-ada", 3, 1, START + timedelta(minutes=31), 20, "s"
    )
    run(messages)
    in_order = visits()
    assert [v[1] for v in in_order] == ["A", "C"]
    Visit.objects.all().delete()
    RawEvent.objects.all().delete()
    shuffled = messages + messages[::7]
    random.Random(5).shuffle(shuffled)
    run(shuffled, batch=37)
    assert visits() == in_order


@time_machine.travel(LATER, tick=False)
def test_a_cloned_static_ibeacon_replayed_elsewhere_is_flagged_once(school):
    # Room A also has an Eddystone-EID beacon: a phone really in A hears it too.
    Beacon.objects.create(
        kind="eddystone_eid", room=school["A"], eid_key="00" * 16, eid_exponent=8,
        eid_counter_offset=0,
    )  # fmt: skip
    messages = reports_in("ph-ada", 1, 3, START, 20)  # A's iBeacon, copied: no EID with it
    run(messages)
    flags = ProxyFlag.objects.filter(kind="cloned_beacon")
    assert flags.count() == 1
    flag = flags.get()
    assert flag.room == school["A"] and flag.student == school["ada"]
    assert flag.key.startswith("ble:ph-ada:cloned_beacon:")
    assert flag.evidence["reason"] == "ibeacon_without_eid" and flag.session == school["session"]
    run(messages[3:9])  # redelivered: recomputation replaces, never duplicates
    assert ProxyFlag.objects.filter(kind="cloned_beacon").count() == 1
    record = AttendanceRecord.objects.get(session=school["session"])
    assert "cloned_beacon" in record.flags


@time_machine.travel(LATER, tick=False)
def test_ble_only_presence_where_a_tap_is_required_is_flagged_tap_missing(school):
    school["course"].tap_required = True
    school["course"].save()
    run(reports_in("ph-ada", 1, 3, START - timedelta(minutes=2), 60))
    record = AttendanceRecord.objects.get(session=school["session"])
    assert record.status == "present" and record.flags == ["tap_missing"]
    assert ProxyFlag.objects.filter(kind="tap_missing", student=school["ada"]).count() == 1


@time_machine.travel(LATER, tick=False)
def test_card_tapped_in_c_while_the_phone_sits_in_a_is_a_card_phone_mismatch(school):
    reader = make_reader(school["C"], "door-c", mode="entry")
    make_card(school["ada"], "04A1B2C3")
    run(reports_in("ph-ada", 1, 3, START, 40))
    tap_at = START + timedelta(minutes=20)
    tap = {"id": "t1", "ts": int(tap_at.timestamp() * 1000), "type": "rfid", "uid": "04A1B2C3"}
    handle_batch(
        [IncomingMessage(f"{PREFIX}/devices/{reader.device_id}/events", json.dumps(tap).encode())],
        prefix=PREFIX,
    )
    flag = ProxyFlag.objects.get(kind="card_phone_mismatch")
    assert flag.at == tap_at and flag.room == school["C"]
    assert flag.evidence["phone_room"] == "A" and flag.evidence["tap_room"] == "C"
    # The door says C, the phone says A: both kept, neither silently trusted.
    assert set(Visit.objects.values_list("source", "room__code")) == {("ble", "A"), ("door", "C")}


@time_machine.travel(LATER, tick=False)
def test_an_open_ble_visit_shows_in_the_room_now(school):
    with time_machine.travel(START + timedelta(minutes=10, seconds=5), tick=False):
        run(reports_in("ph-ada", 1, 3, START, 10))
        [visit] = Visit.objects.filter(source="ble")
        assert visit.left_at is None  # still reporting: open, so the room shows her
        from attendance.api.reports import room_snapshot

        snapshot = room_snapshot(school["A"], START + timedelta(minutes=10, seconds=5))
        assert [(p["student"], p["source"]) for p in snapshot["present"]] == [("S1001", "ble")]
    from attendance.services import periodic_tick

    Phone.objects.update(last_seen=START + timedelta(minutes=10))
    periodic_tick(START + timedelta(minutes=30))
    visit = Visit.objects.get(source="ble")
    assert visit.left_at is not None and visit.left_at <= START + timedelta(minutes=10)


# -- the permutation property, small ------------------------------------------------------

PATH = [(1, 3, 0, 4), (3, 1, 5, 4)]  # (room beacon, other beacon, from minute, minutes)


def _path_messages() -> list[IncomingMessage]:
    out = []
    for n, (own, other, start, minutes) in enumerate(PATH):
        out += reports_in("ph-ada", own, other, START + timedelta(minutes=start), minutes, f"p{n}")
    return out


@pytest.mark.django_db
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
@time_machine.travel(LATER, tick=False)
def test_any_permutation_or_repetition_of_ble_reports_gives_the_same_visits(data, school):
    messages = _path_messages()
    with transaction.atomic():
        run(messages)
        expected = visits()
        transaction.set_rollback(True)
    order = data.draw(st.permutations(range(len(messages))))
    again = data.draw(st.lists(st.integers(0, len(messages) - 1), max_size=5))
    size = data.draw(st.integers(1, 12))
    with transaction.atomic():
        run([messages[i] for i in [*order, *again]], batch=size)
        got = visits()
        transaction.set_rollback(True)
    assert [v[1] for v in expected] == ["A", "C"]
    assert got == expected


@time_machine.travel(LATER, tick=False)
def test_resuming_from_stored_checkpoints_gives_what_a_full_replay_gives(school):
    from beacons.models import PresenceCheckpoint

    Beacon.objects.create(
        kind="eddystone_eid", room=school["A"], eid_key="00" * 16, eid_exponent=8,
        eid_counter_offset=0,
    )  # fmt: skip
    messages = reports_in("ph-ada", 1, 3, START, 25) + reports_in(
        "ph-ada", 3, 1, START + timedelta(minutes=26), 10, "s"
    )
    run(messages, batch=4)  # in order, a little at a time: each batch resumes a checkpoint
    kept = list(PresenceCheckpoint.objects.order_by("at").values_list("slot", "at"))
    assert 2 <= len(kept) <= 10  # a few slots behind the newest, not one per batch
    assert kept[-1][1] == max(RawEvent.objects.values_list("ts", flat=True))
    incremental = visits()
    flags = sorted(ProxyFlag.objects.values_list("kind", "key", "at"))
    assert [v[1] for v in incremental] == ["A", "C"] and flags
    Visit.objects.all().delete()
    ProxyFlag.objects.all().delete()
    RawEvent.objects.all().delete()
    PresenceCheckpoint.objects.all().delete()
    run(messages, batch=1000)  # all at once: one full replay
    assert visits() == incremental
    assert sorted(ProxyFlag.objects.values_list("kind", "key", "at")) == flags


def replayed_hours_later(messages: list[IncomingMessage], now: datetime) -> list[IncomingMessage]:
    """The same scans (their original ts), uploaded only now: a recording replayed."""
    return [IncomingMessage(m.topic, m.payload, received_at=now.timestamp()) for m in messages]


@time_machine.travel(LATER, tick=False)
def test_a_scan_replayed_hours_later_leaves_a_finalised_absence_absent_and_flagged(school):
    from attendance import services

    services.periodic_tick(LATER)  # the session ended at 10:00: finalised, Ada absent
    record = AttendanceRecord.objects.get(session=school["session"], student=school["ada"])
    assert (record.status, record.finalised) == ("absent", True)

    recorded = reports_in("ph-ada", 1, 3, START - timedelta(minutes=2), 60)
    run(replayed_hours_later(recorded, LATER))
    assert RawEvent.objects.filter(sender="ph-ada").count() == len(recorded)  # kept, as evidence
    assert visits() == []  # but no presence from them
    record.refresh_from_db()
    assert record.status == "absent" and "late_report" in record.flags
    flag = ProxyFlag.objects.filter(kind="late_report", student=school["ada"]).first()
    assert flag is not None and flag.session_id == school["session"].pk
    assert flag.evidence["delay_s"] > 3600


@time_machine.travel(LATER, tick=False)
def test_a_phone_offline_for_a_few_minutes_still_counts(school):
    """Within BLE_OFFLINE_WINDOW_SECONDS a buffered scan is presence like a live one."""
    recorded = reports_in("ph-ada", 1, 3, START - timedelta(minutes=2), 60)
    buffered = [
        IncomingMessage(m.topic, m.payload, received_at=m.received_at + 300) for m in recorded
    ]
    run(buffered)
    record = AttendanceRecord.objects.get(session=school["session"], student=school["ada"])
    assert record.status == "present" and "late_report" not in record.flags


@time_machine.travel(LATER, tick=False)
def test_a_beacon_moved_to_its_real_room_replays_the_presence_it_gave(school):
    from attendance import services
    from attendance.models import RecomputeRequest, RecordRevision

    run(reports_in("ph-ada", 1, 3, START - timedelta(minutes=2), 60))
    record = AttendanceRecord.objects.get(session=school["session"], student=school["ada"])
    assert record.status == "present"
    beacon = Beacon.objects.get(minor=1)
    beacon.room = school["C"]  # it was registered in A, but hangs in C
    beacon.save()
    assert RecomputeRequest.objects.get(subject=f"beacon:{beacon.pk}").cause == (
        f"beacon #{beacon.pk} moved to C by system"
    )
    while services.work_recompute_slice(LATER):
        pass
    assert [v[1] for v in visits()] == ["C"]
    record.refresh_from_db()
    assert record.status == "absent"
    last = RecordRevision.objects.filter(record=record).order_by("revision").last()
    assert last is not None and last.cause == f"beacon #{beacon.pk} moved to C by system"
