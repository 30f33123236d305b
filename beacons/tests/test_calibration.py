"""Threshold suggestions: the pure method, and calibrate_room on stored reports."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from attendance.models import Room, Visit
from beacons.calibration import (
    NotEnoughData,
    RoomWindow,
    percentile,
    suggest_room_thresholds,
    suggest_thresholds,
)
from beacons.models import Beacon, Phone
from devices.models import RawEvent
from tests.factories import make_room, make_student

UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"


def test_percentile_interpolates_between_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert percentile(values, 0) == 10
    assert percentile(values, 50) == 30
    assert percentile(values, 90) == pytest.approx(46)
    assert percentile(values, 100) == 50


def test_separated_rooms_get_a_threshold_between_them() -> None:
    rng = random.Random(1)
    in_room = [rng.gauss(-70, 3) for _ in range(300)]
    elsewhere = [rng.gauss(-92, 3) for _ in range(300)]
    s = suggest_thresholds(in_room, elsewhere)
    assert s.out_p95 is not None
    assert s.out_p95 < s.enter_rssi < s.in_p10
    assert s.exit_rssi <= s.enter_rssi - 6
    assert not s.overlap
    assert any("halfway" in line for line in s.explain())


def test_overlapping_readings_come_with_a_warning() -> None:
    rng = random.Random(2)
    s = suggest_thresholds(
        [rng.gauss(-80, 4) for _ in range(200)], [rng.gauss(-82, 4) for _ in range(200)]
    )
    assert s.overlap
    assert any("WARNING" in line for line in s.explain())


def test_nothing_heard_elsewhere_still_gives_a_suggestion() -> None:
    s = suggest_thresholds([-70.0 + i % 7 for i in range(50)], [])
    assert s.enter_rssi < s.in_p10 and s.out_p95 is None


def test_too_few_in_room_windows_are_refused() -> None:
    with pytest.raises(NotEnoughData, match="at least 30"):
        suggest_thresholds([-70.0] * 5, [-90.0] * 100)


def test_a_room_gets_a_margin_of_half_the_smaller_lead_it_or_its_neighbour_has() -> None:
    rng = random.Random(4)
    # In the room it leads the room next door by about 12 dB; next door it trails by 10.
    in_room = [RoomWindow(rng.gauss(12, 2), 8, 16) for _ in range(200)]
    elsewhere = [RoomWindow(rng.gauss(-10, 2), -6, 2) for _ in range(200)]
    s = suggest_room_thresholds(in_room, elsewhere, current_margin_db=4)
    assert s.in_lead_p10 is not None and s.out_lead_p95 is not None
    assert s.margin_db == round(min(s.in_lead_p10, -s.out_lead_p95) / 2)
    assert 2 < s.margin_db < 6  # about half of -(-10 + 2 sd)
    assert not any("WARNING" in line for line in s.explain())
    assert (s.enter_windows, s.leave_windows) == (2, 2)  # nothing points the wrong way
    assert any("half the smaller" in line for line in s.explain())


def test_overlapping_rooms_get_the_smallest_margin_and_a_warning() -> None:
    in_room = [RoomWindow(1 + i % 3, 8, 16) for i in range(100)]
    elsewhere = [RoomWindow(-1 + i % 5, -6, 2) for i in range(100)]
    s = suggest_room_thresholds(in_room, elsewhere, current_margin_db=4)
    assert s.margin_db == 2
    assert any("WARNING" in line for line in s.explain())


def test_windows_grow_with_how_often_one_window_points_the_wrong_way() -> None:
    # 30% of in-room windows fall below exit: 0.3**4 < 1% < 0.3**3, so leave after 4.
    in_room = [RoomWindow(math.inf, 5, -1 if i % 10 < 3 else 5) for i in range(100)]
    # 20% of windows elsewhere hear the room clearly: 0.2**3 < 1% < 0.2**2, enter after 3.
    elsewhere = [RoomWindow(math.inf, 2 if i % 5 == 0 else -9, 0) for i in range(100)]
    s = suggest_room_thresholds(in_room, elsewhere, current_margin_db=4)
    assert (s.fail_hold, s.false_lead) == (0.3, 0.2)
    assert (s.enter_windows, s.leave_windows) == (3, 4)
    assert s.margin_db is None  # no other room heard: nothing to set a margin by
    assert "no suggestion" in s.explain()[0]


def test_a_room_without_windows_elsewhere_gets_no_suggestion() -> None:
    with pytest.raises(NotEnoughData, match="elsewhere"):
        suggest_room_thresholds([RoomWindow(1, 1, 1)] * 40, [], current_margin_db=4)


# -- calibrate_room -----------------------------------------------------------------------


def ble_event(phone: str, seq: int, at, rssi: int) -> RawEvent:  # type: ignore[no-untyped-def]
    payload = {
        "id": f"p-{seq}",
        "ts": int(at.timestamp() * 1000),
        "window_s": 10,
        "beacons": [{"uuid": UUID, "major": 1, "minor": 204, "rssi": rssi, "n": 8}],
    }
    return RawEvent.objects.create(
        sender_kind="phone",
        sender=phone,
        event_id=f"p-{seq}",
        type="ble",
        ts=at,
        received_at=at,
        payload=payload,
    )


@pytest.fixture
def recorded_day() -> Beacon:
    """A student spends an hour in B-204 and the next in B-205 next door; the phone (which
    reads 3 dB low) reports every 30 s; a second phone's owner has no door visit at all."""
    here, next_door = make_room("B-204"), make_room("B-205")
    beacon = Beacon.objects.create(kind="ibeacon", room=here, uuid=UUID, major=1, minor=204)
    student = make_student()
    Phone.objects.create(phone_id="a9", student=student, rssi_offset_db=3)
    Phone.objects.create(phone_id="b7", student=make_student())
    start = timezone.now() - timedelta(hours=3)
    Visit.objects.create(
        student=student,
        room=here,
        entered_at=start,
        left_at=start + timedelta(hours=1),
        source="door",
    )
    Visit.objects.create(
        student=student, room=next_door, entered_at=start + timedelta(hours=1), source="door"
    )
    rng = random.Random(3)
    for i in range(240):
        at = start + timedelta(seconds=30 * i + 5)
        rssi = round(rng.gauss(-73, 3) if i < 120 else rng.gauss(-95, 3))
        ble_event("a9", i, at, rssi)
        ble_event("b7", i, at, -60)  # nobody knows where b7's owner was: ignored
    return beacon


@pytest.mark.django_db
def test_calibrate_room_suggests_and_explains(recorded_day: Beacon) -> None:
    out = StringIO()
    call_command("calibrate_room", "B-204", stdout=out)
    text = out.getvalue()
    assert "in the room: 120 windows" in text
    assert "elsewhere: 120 windows" in text
    assert "saved" not in text
    recorded_day.refresh_from_db()
    assert (recorded_day.enter_rssi, recorded_day.exit_rssi) == (-75, -85)  # unchanged


@pytest.mark.django_db
def test_calibrate_room_apply_saves_thresholds_between_the_two(recorded_day: Beacon) -> None:
    call_command("calibrate_room", "B-204", "--apply", stdout=StringIO())
    recorded_day.refresh_from_db()
    # In the room: -73 + 3 dB offset = about -70; next door about -92.
    assert -90 < recorded_day.enter_rssi < -74
    assert recorded_day.exit_rssi <= recorded_day.enter_rssi - 6


@pytest.mark.django_db
def test_calibrate_room_without_data_or_room_says_so() -> None:
    make_room("EMPTY")
    with pytest.raises(CommandError, match="no beacons"):
        call_command("calibrate_room", "EMPTY")
    with pytest.raises(CommandError, match="no room"):
        call_command("calibrate_room", "NOPE")
    room = make_room("QUIET")
    Beacon.objects.create(kind="ibeacon", room=room, uuid=UUID, major=9, minor=9)
    out = StringIO()
    call_command("calibrate_room", "QUIET", stdout=out)
    assert "no suggestion: 0 in-room windows" in out.getvalue()


@pytest.mark.django_db
def test_calibrate_room_apply_saves_the_rooms_windows_and_says_old_and_new(
    recorded_day: Beacon,
) -> None:
    out = StringIO()
    call_command("calibrate_room", "B-204", stdout=out)
    assert "Not applied" in out.getvalue()
    room = Room.objects.get(code="B-204")
    assert (room.ble_margin_db, room.ble_enter_windows, room.ble_leave_windows) == (None,) * 3

    out = StringIO()
    call_command("calibrate_room", "B-204", "--apply", stdout=out)
    text = out.getvalue()
    recorded_day.refresh_from_db()
    room.refresh_from_db()
    assert (
        f"{recorded_day}: saved enter -75 → {recorded_day.enter_rssi} dBm, "
        f"exit -85 → {recorded_day.exit_rssi} dBm"
    ) in text
    # B-205 has no beacon: no window heard two rooms, so the margin stays the default.
    assert room.ble_margin_db is None and "margin: no suggestion" in text
    assert room.ble_enter_windows is not None and room.ble_leave_windows is not None
    assert (
        f"room B-204: saved enter windows default → {room.ble_enter_windows}, "
        f"leave windows default → {room.ble_leave_windows}"
    ) in text

    again = StringIO()
    call_command("calibrate_room", "B-204", "--apply", stdout=again)
    assert f"{recorded_day}: unchanged" in again.getvalue()
    assert "room B-204: unchanged" in again.getvalue()


@pytest.mark.django_db
def test_calibrate_room_sets_a_margin_when_a_neighbours_beacon_is_heard(
    recorded_day: Beacon,
) -> None:
    """Every report also hears B-205's beacon: strongly next door, weakly in B-204."""
    Beacon.objects.create(
        kind="ibeacon", room=Room.objects.get(code="B-205"), uuid=UUID, major=1, minor=205
    )
    rng = random.Random(5)
    for event in RawEvent.objects.filter(sender="a9").order_by("ts"):
        in_204 = int(event.event_id.split("-")[1]) < 120
        heard = round(rng.gauss(-88, 3) if in_204 else rng.gauss(-66, 3))
        event.payload["beacons"].append(
            {"uuid": UUID, "major": 1, "minor": 205, "rssi": heard, "n": 8}
        )
        event.save(update_fields=["payload"])
    out = StringIO()
    call_command("calibrate_room", "B-204", "--apply", stdout=out)
    room = Room.objects.get(code="B-204")
    assert room.ble_margin_db is not None and 2 <= room.ble_margin_db <= 20
    assert f"margin (dB) default → {room.ble_margin_db}" in out.getvalue()
