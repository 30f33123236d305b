"""Every export read back: CSV parsed, XLSX opened with openpyxl and its cell types checked."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from openpyxl import load_workbook

from attendance.models import AttendanceRecord, FlagKind, ProxyFlag
from attendance.reports import records_export
from attendance.tests.report_school import ReportSchool, build_report_school
from tests.factories import make_reader

pytest_plugins = ["attendance.api.testing"]

REPORTS = [
    "course/ALGEBRA?term=Autumn",
    "student/S2001",
    "below-threshold?pct=100&min_sessions=0",
    "consecutive-absences?n=1",
    "sessions-without-evidence",
    "flags",
    "rooms/B-204?term=Autumn",
]


@pytest.fixture
def rs(db: Any, fast_passwords: None) -> ReportSchool:
    cache.clear()
    school = build_report_school()
    session = school.held["ALGEBRA"][0]
    ProxyFlag.objects.create(
        kind=FlagKind.IMPOSSIBLE_TRAVEL, student=school.students[0], room=school.room,
        session=session, at=session.starts_at, evidence={"gap_s": 40}, detail="two rooms",
    )  # fmt: skip
    make_reader(school.room, "door-b204")  # silent all term: every session lists it
    return school


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def fetch(client, url: str, fmt: str) -> bytes:
    joiner = "&" if "?" in url else "?"
    response = client.get(f"{url}{joiner}format={fmt}")
    assert response.status_code == 200, content(response)
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment") and f".{fmt}" in disposition
    return content(response)


def read_csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode())))


def read_xlsx(body: bytes) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet.freeze_panes == "A3"  # the title and the column names stay in view
    return [tuple(c.value for c in row) for row in sheet.iter_rows()]


@pytest.mark.parametrize("report", REPORTS)
def test_every_report_exports_the_same_rows_as_csv_and_xlsx(rs: ReportSchool, api, report) -> None:
    client = api(rs.staff)
    url = f"/api/v1/reports/{report}"
    rows = read_csv(fetch(client, url, "csv"))
    sheet = read_xlsx(fetch(client, url, "xlsx"))
    assert sheet[1] == tuple(rows[0])  # the same columns
    assert len(sheet) - 2 == len(rows) - 1 > 0  # the same number of rows, and some
    assert isinstance(sheet[0][0], str)  # the title row names the report and its filter
    if "term=" in report:
        assert "term Autumn" in sheet[0][0]


def test_the_register_xlsx_has_typed_cells_and_matches_the_json(rs: ReportSchool, api) -> None:
    client = api(rs.tina)
    body = client.get("/api/v1/reports/course/ALGEBRA?term=Autumn").json()
    raw = fetch(client, "/api/v1/reports/course/ALGEBRA?term=Autumn", "xlsx")
    sheet = read_xlsx(raw)
    title, header, *rows = sheet
    assert "Course register ALGEBRA" in title[0] and "from" in title[0]
    assert header[:2] == ("student", "name") and header[-2:] == ("sessions", "rate")
    by_student = {r[0]: r for r in rows if r[0]}
    letters = {"present": "P", "late": "L", "left_early": "E", "absent": "A", "excused": "X"}
    for student in body["students"]:
        row = by_student[student["student"]]
        cells = row[2 : 2 + len(body["sessions"])]
        assert [c or None for c in cells] == [letters.get(m) for m in student["marks"]]
        assert isinstance(row[-2], int) and row[-2] == student["sessions"]
        assert row[-1] == student["rate"] and (row[-1] is None or isinstance(row[-1], int | float))
        assert isinstance(row[header.index("absent")], int)
    book = load_workbook(io.BytesIO(raw)).active
    column = book.iter_rows(min_row=3, min_col=len(header), max_col=len(header))
    rates = [cell for (cell,) in column if cell.value is not None]
    assert rates and all(c.number_format == "0.0" for c in rates)


def test_dates_are_spreadsheet_dates_in_the_schools_zone(rs: ReportSchool, api) -> None:
    client = api(rs.staff)
    sheet = read_xlsx(
        fetch(client, "/api/v1/reports/below-threshold?pct=100&min_sessions=0", "xlsx")
    )
    header, rows = sheet[1], sheet[2:]
    last = header.index("last_attended")
    values = [r[last] for r in rows if r[last] is not None]
    assert values and all(isinstance(v, datetime) and v.tzinfo is None for v in values)
    json_rows = client.get("/api/v1/reports/below-threshold?pct=100&min_sessions=0").json()
    first = datetime.fromisoformat(json_rows["results"][0]["last_attended"])
    assert rows[0][last] == timezone.localtime(first).replace(tzinfo=None)
    assert isinstance(rows[0][header.index("rate")], int | float)
    assert isinstance(rows[0][header.index("sessions")], int)


def test_records_export_holds_every_filtered_record(rs: ReportSchool, api, monkeypatch) -> None:
    # Small pages, so that page boundaries fall inside sessions (equal starts, ids decide).
    monkeypatch.setattr(records_export, "PAGE", 7)
    monkeypatch.setattr(records_export.keyset_rows, "__defaults__", (7,))
    client = api(rs.tina)
    expected = AttendanceRecord.objects.filter(session__course=rs.algebra)
    rows = read_csv(fetch(client, "/api/v1/attendance/records?course=ALGEBRA", "csv"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["id", "session", "session_start"]
    assert sorted(int(r[0]) for r in body) == sorted(expected.values_list("id", flat=True))
    starts = [datetime.fromisoformat(r[2]) for r in body]
    assert starts == sorted(starts, reverse=True)  # newest session first, as the list
    sheet = read_xlsx(
        fetch(client, "/api/v1/attendance/records?course=ALGEBRA&status=absent", "xlsx")
    )
    assert "course=ALGEBRA" in sheet[0][0] and "status=absent" in sheet[0][0]
    absent = expected.filter(status="absent")
    assert sorted(r[0] for r in sheet[2:]) == sorted(absent.values_list("id", flat=True))
    row = sheet[2]
    assert isinstance(row[0], int) and isinstance(row[2], datetime)
    assert isinstance(row[header.index("minutes_present")], int)
    assert isinstance(row[header.index("manual")], bool)


def test_a_control_character_in_a_filter_still_gives_a_spreadsheet(rs: ReportSchool, api) -> None:
    # XML 1.0 cannot hold most control characters; the filter row shows them as U+FFFD.
    sheet = read_xlsx(fetch(api(rs.staff), "/api/v1/attendance/records?student=%01x%1f", "xlsx"))
    assert "student=\ufffdx\ufffd" in sheet[0][0]
    assert len(sheet) == 2  # the filter row and the header: no student has that number


def test_records_export_is_scoped_like_the_list(rs: ReportSchool, api) -> None:
    me = rs.students[0]
    rows = read_csv(fetch(api(rs.student_users[0]), "/api/v1/attendance/records", "csv"))
    assert {r[5] for r in rows[1:]} == {me.number}
    assert len(rows) - 1 == AttendanceRecord.objects.filter(student=me).count()
    omar = read_csv(fetch(api(rs.omar), "/api/v1/attendance/records", "csv"))
    assert {r[3] for r in omar[1:]} == {"HISTORY"}


def test_an_error_asked_as_a_file_is_answered_as_json(rs: ReportSchool, api) -> None:
    response = api(rs.omar).get("/api/v1/reports/course/ALGEBRA?format=xlsx")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
    bad = api(rs.staff).get("/api/v1/attendance/records?format=csv&session=abc")
    assert bad.status_code == 400 and bad["Content-Type"].startswith("application/json")


def test_the_schema_documents_the_reports_and_their_formats(rs: ReportSchool, api) -> None:
    import yaml

    response = api(rs.staff).get("/api/schema/")
    schema = yaml.safe_load(response.content)
    for path in (
        "course/{code}", "student/{number}", "below-threshold", "consecutive-absences",
        "sessions-without-evidence", "flags", "rooms/{code}",
    ):  # fmt: skip
        operation = schema["paths"][f"/api/v1/reports/{path}/"]["get"]
        assert set(operation["responses"]["200"]["content"]) >= {"application/json", "text/csv"}
        names = {p["name"] for p in operation["parameters"]}
        assert {"from", "to", "term", "format"} <= names
    records = schema["paths"]["/api/v1/attendance/records/"]["get"]
    assert "text/csv" in records["responses"]["200"]["content"]
