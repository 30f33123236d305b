"""import_data for beacons: matched by id, else by their identity on the air."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from beacons.models import Beacon
from tests.sheets import run_import, write_csv

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
KEY = "00112233445566778899aabbccddeeff"
COLUMNS = ["id", "room", "label", "uuid", "major", "minor", "eid_key", "eid_exponent"]
COLUMNS += ["eid_counter_offset"]


def test_beacons_import_and_reimport_without_ids(school: School, tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path, "beacons.csv", COLUMNS,
        ["", "B-204", "front", UUID.upper(), "2", "204", "", "", ""],
        ["", "C-101", "eid", "", "", "", KEY, "10", "-1000"],
        ["", "C-101", "both", UUID, "2", "205", KEY, "10", "0"],
        ["", "C-101", "neither", "", "", "", "", "", ""],
        ["", "X-1", "nowhere", UUID, "2", "206", "", "", ""],
        ["", "B-204", "again", UUID, "2", "204", "", "", ""],
    )  # fmt: skip
    outcome = run_import("beacons", sheet)
    assert [e.split(": ")[:2] for e in outcome.errors] == [
        ["row 4", "id"],
        ["row 5", "id"],
        ["row 6", "room"],
        ["row 7", "id"],
    ]
    assert "either uuid, major and minor" in outcome.errors[0]
    assert outcome.errors[3] == "row 7: id: the same beacon as row 2: a beacon may appear once"
    assert outcome.last == "created=2 updated=0 unchanged=0 errors=4"
    front = Beacon.objects.get(label="front")
    assert (front.kind, front.uuid, front.room) == ("ibeacon", UUID, school.b204)
    assert Beacon.objects.get(label="eid").eid_counter_offset == -1000
    assert run_import("beacons", sheet).last == "created=0 updated=0 unchanged=2 errors=4"
    assert Beacon.objects.count() == 2


def test_a_beacon_row_with_an_id_updates_that_beacon(school: School, tmp_path: Path) -> None:
    beacon = Beacon.objects.create(
        kind="ibeacon", room=school.b204, uuid=UUID, major=1, minor=1, label="old"
    )
    sheet = write_csv(
        tmp_path, "beacons.csv", ["id", "room", "label", "enter_rssi", "exit_rssi"],
        [str(beacon.pk), "C-101", "moved", "-70", "-80"],
        [str(beacon.pk + 1000), "C-101", "ghost", "", ""],
        ["b1", "C-101", "typo", "", ""],
        [str(beacon.pk), "C-101", "twice", "", ""],
    )  # fmt: skip
    outcome = run_import("beacons", sheet)
    assert outcome.errors == [
        "row 3: id: no beacon has this id (leave id empty to add a beacon)",
        "row 4: id: a beacon id is a whole number",
        "row 5: id: the same beacon as row 2: a beacon may appear once",
    ]
    beacon.refresh_from_db()
    assert (beacon.room, beacon.label, beacon.enter_rssi) == (school.c101, "moved", -70)
