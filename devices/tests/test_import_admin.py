"""The admin's import page: upload, a preview that writes nothing, then the confirmed import,
with the card history naming the member of staff."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.test import Client

from attendance.models import Student
from devices.models import CardHistory
from tests.sheets import count_every_table, write_csv, write_xlsx

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

IMPORT_URL = "/admin/attendance/student/import/"
CONFIRM_URL = "/admin/attendance/student/process_import/"
CSV, XLSX = "0", "1"  # the admin's format choices, in SheetImportMixin.import_formats order


@pytest.fixture
def staff_client(school: School) -> Client:
    client = Client()
    client.force_login(school.staff)
    return client


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden {name} in the page"
    return found.group(1)


def test_every_imported_model_has_an_import_page(staff_client: Client) -> None:
    for path in [
        "attendance/room", "attendance/student", "attendance/course", "attendance/enrolment",
        "attendance/timetableslot", "attendance/term", "attendance/holiday", "devices/card",
        "devices/reader", "beacons/beacon",
    ]:  # fmt: skip
        listing = staff_client.get(f"/admin/{path}/")
        assert f"/admin/{path}/import/" in listing.content.decode(), path
        assert staff_client.get(f"/admin/{path}/import/").status_code == 200, path


def test_preview_then_confirm(staff_client: Client, school: School, tmp_path: Path) -> None:
    sheet = write_xlsx(
        tmp_path, "students.xlsx", ["number", "first_name", "last_name", "cards"],
        ["S2001", "Chidi", "Eze", "04A1B2C3"],
        ["S1001", "Ada", "Okafor-Eze", ""],
    )  # fmt: skip
    before = count_every_table()
    with sheet.open("rb") as upload:
        preview = staff_client.post(IMPORT_URL, {"import_file": upload, "format": XLSX})
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "Confirm import" in page and "Chidi" in page and "Okafor-Eze" in page
    assert count_every_table() == before  # the preview is a dry run

    confirmed = staff_client.post(
        CONFIRM_URL,
        {
            "import_file_name": _hidden(page, "import_file_name"),
            "original_file_name": _hidden(page, "original_file_name"),
            "format": XLSX,
            "resource": "",
        },
    )
    assert confirmed.status_code == 302
    assert Student.objects.get(number="S1001").last_name == "Okafor-Eze"
    issued = CardHistory.objects.get(card__uid="04A1B2C3")
    assert (issued.action, issued.by, issued.reason) == (
        "issued",
        school.staff,
        "import of students.xlsx",
    )


def test_a_file_with_bad_rows_is_shown_and_not_offered(
    staff_client: Client, school: School, tmp_path: Path
) -> None:
    sheet = write_csv(
        tmp_path, "students.csv", ["number", "first_name", "last_name", "cards"],
        ["S2001", "Chidi", "Eze", "zz"],
        ["S2002", "Dana", "Ilic", ""],
    )  # fmt: skip
    with sheet.open("rb") as upload:
        preview = staff_client.post(IMPORT_URL, {"import_file": upload, "format": CSV})
    page = preview.content.decode()
    assert "Confirm import" not in page
    assert "uid must be 4, 7 or 10 bytes of hex" in page
    assert re.search(r"<td>2 </td>", page)  # the spreadsheet's row number
    assert not Student.objects.filter(number__in=["S2001", "S2002"]).exists()


def test_import_needs_add_and_change_permission(school: School) -> None:
    client = Client()
    school.tina.is_staff = True
    school.tina.save()
    client.force_login(school.tina)
    assert client.get(IMPORT_URL).status_code == 403
