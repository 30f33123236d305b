"""An export of the provisioning API is an import file: importing it back changes nothing,
and importing it into an empty school makes the same rows."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from attendance.models import Holiday, Term, TimetableSlot
from beacons.models import Beacon
from tests.factories import make_card, make_reader
from tests.sheets import csv_from_api, run_import

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

# import_data's name for each resource -> the API's path
API_PATHS = {
    "rooms": "rooms",
    "students": "students",
    "cards": "cards",
    "courses": "courses",
    "enrolments": "enrolments",
    "slots": "timetable-slots",
    "terms": "terms",
    "holidays": "holidays",
    "readers": "devices",
    "beacons": "beacons",
}


@pytest.fixture
def full_school(school: School) -> School:
    term = Term.objects.create(
        name="Autumn", starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 18)
    )
    Holiday.objects.create(
        term=term, name="Half term", starts_on=date(2026, 10, 26), ends_on=date(2026, 10, 30)
    )
    TimetableSlot.objects.create(
        term=term, course=school.math, room=school.b204, weekday=0,
        start_time=time(9), end_time=time(10, 30),
    )  # fmt: skip
    make_card(school.ada, "04A1B2C3")
    make_card(school.ben, "04A1B2C3D4E5F6", active=False)
    make_reader(school.b204, "door-b204", mode="pir")
    Beacon.objects.create(
        kind="ibeacon", room=school.b204, uuid="f7826da6-4fa2-4e98-8024-bc5b71e0893e",
        major=2, minor=204,
    )  # fmt: skip
    Beacon.objects.create(
        kind="eddystone_eid", room=school.c101, eid_key="00112233445566778899aabbccddeeff",
        eid_exponent=10, eid_counter_offset=0,
    )  # fmt: skip
    return school


def _export(api: Any, school: School, path: str) -> list[dict[str, Any]]:
    response = api(school.staff).get(f"/api/v1/{path}/", {"page_size": 500})
    assert response.status_code == 200
    results: list[dict[str, Any]] = response.json()["results"]
    assert results, f"nothing to export at {path}"
    return results


@pytest.mark.parametrize("resource", list(API_PATHS))
def test_an_api_export_imports_back_unchanged(
    resource: str, full_school: School, api: Any, tmp_path: Path
) -> None:
    rows = _export(api, full_school, API_PATHS[resource])
    sheet = csv_from_api(tmp_path, f"{resource}.csv", rows)
    outcome = run_import(resource, sheet)
    assert outcome.errors == []
    assert outcome.counts == {"created": 0, "updated": 0, "unchanged": len(rows), "errors": 0}
