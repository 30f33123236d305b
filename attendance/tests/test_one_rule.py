"""One definition per rule: door taps and BLE sightings judge travel with one model built
from settings; the flag kinds people see come from one pure list; one helper
each for a student's displayed name and for the school's local day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings

from attendance import flag_kinds, names
from attendance.api.common import start_of_day
from attendance.days import day_bounds, local_day
from attendance.engine.travel import travel_model
from attendance.models import FlagKind, ProxyFlag, Student
from attendance.rules.evidence import EventKey, Tap
from attendance.rules.proxy import Place, TravelModel, impossible_travel_findings
from beacons import spoofing
from tests.factories import make_course, make_room, make_session, make_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PLACES = {
    "A-101": Place("A", 1),
    "A-104": Place("A", 1),
    "A-301": Place("A", 3),
    "B-1": Place("B", 1),
}


def door_flags(room_a: str, room_b: str, gap_s: int, model: TravelModel) -> bool:
    later = T0 + timedelta(seconds=gap_s)
    taps = [
        Tap(EventKey(T0, "door-1", "1"), "04A1B2C3", "S1", room_a, "toggle", 5),
        Tap(EventKey(later, "door-2", "2"), "04A1B2C3", "S1", room_b, "toggle", 5),
    ]
    return bool(impossible_travel_findings(taps, PLACES, model))


def ble_flags(room_a: str, room_b: str, gap_s: int, model: TravelModel) -> bool:
    taps = [spoofing.Tap(room_a, T0), spoofing.Tap(room_b, T0 + timedelta(seconds=gap_s))]
    sightings = spoofing.sightings_from(taps, [])
    return bool(spoofing.impossible_travel_flags("S1", sightings, PLACES, model))


@pytest.mark.parametrize(
    ("room_b", "gap_s", "flagged"),
    [
        ("A-104", 19, True),  # same floor: 20 s
        ("A-104", 20, False),
        ("A-301", 49, True),  # two floors up: 20 + 2 x 15 s
        ("A-301", 50, False),
        ("B-1", 139, True),  # another building: 20 + 120 s
        ("B-1", 140, False),
    ],
)
def test_door_taps_and_ble_sightings_agree_on_what_is_walkable(room_b, gap_s, flagged) -> None:  # type: ignore[no-untyped-def]
    model = TravelModel()
    assert door_flags("A-101", room_b, gap_s, model) is flagged
    assert ble_flags("A-101", room_b, gap_s, model) is flagged


def test_the_engine_builds_the_model_from_settings() -> None:
    # The settings' defaults are the rule's defaults: one set of numbers a school changes.
    assert travel_model() == TravelModel()
    school = {"TRAVEL_SAME_FLOOR_S": 5, "TRAVEL_PER_FLOOR_S": 30, "TRAVEL_OTHER_BUILDING_S": 600}
    with override_settings(**school):
        model = travel_model()
    assert model == TravelModel(same_floor_s=5, per_floor_s=30, other_building_s=600)
    # Both detectors follow a changed model alike: 55 s to two floors up is now too quick,
    # 10 s along a floor now enough.
    assert (
        door_flags("A-101", "A-301", 55, TravelModel()),
        door_flags("A-101", "A-301", 55, model),
    ) == (False, True)
    assert (
        ble_flags("A-101", "A-301", 55, TravelModel()),
        ble_flags("A-101", "A-301", 55, model),
    ) == (False, True)
    assert (door_flags("A-101", "A-104", 10, model), ble_flags("A-101", "A-104", 10, model)) == (
        False,
        False,
    )


def test_flag_kinds_come_from_the_one_pure_list() -> None:
    assert ProxyFlag._meta.get_field("kind").choices == list(flag_kinds.LABELS.items())
    assert FlagKind.IMPOSSIBLE_TRAVEL == flag_kinds.IMPOSSIBLE_TRAVEL
    assert FlagKind(flag_kinds.CLONED_BEACON).label == flag_kinds.LABELS[flag_kinds.CLONED_BEACON]
    assert list(FlagKind.values) == list(flag_kinds.LABELS)


def test_one_display_name_helper_for_readers_and_pages() -> None:
    assert names.reader_display_name("Ada", "Okafor") == "A. Okafor"
    assert names.reader_display_name("", "Okafor") == "Okafor"
    assert len(names.reader_display_name("Bartholomew", "X" * 40)) == 32
    assert Student(first_name="Ada", last_name="Okafor").full_name == "Ada Okafor"
    assert Student(first_name="", last_name="Okafor").full_name == "Okafor"


@pytest.mark.django_db
def test_the_home_page_and_the_api_share_the_schools_local_day(settings, client) -> None:  # type: ignore[no-untyped-def]
    # 00:15 on 2 June in London is 23:15 UTC on 1 June: the session belongs to 2 June.
    settings.TIME_ZONE = "Europe/London"
    teacher = make_user("tess")
    course = make_course("BIO101", teachers=(teacher,), name="Biology")
    session = make_session(course, make_room("B-204"), datetime(2026, 6, 1, 23, 15, tzinfo=UTC))
    assert local_day(session.starts_at) == date(2026, 6, 2)
    assert day_bounds(date(2026, 6, 2))[0] == datetime(2026, 6, 1, 23, 0, tzinfo=UTC)
    assert start_of_day(date(2026, 6, 2)) == day_bounds(date(2026, 6, 2))[0]
    client.force_login(teacher)
    with time_machine.travel(datetime(2026, 6, 2, 8, 0, tzinfo=UTC), tick=False):
        assert "BIO101" in client.get("/").content.decode()
    with time_machine.travel(datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False):
        assert "BIO101" not in client.get("/").content.decode()
