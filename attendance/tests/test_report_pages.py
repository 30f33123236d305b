"""The report pages: the admin's for staff, the teachers' site for a teacher's courses."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from attendance.reports.catalogue import REPORTS
from attendance.tests.report_school import ReportSchool, build_report_school

pytest_plugins = ["attendance.api.testing"]


@pytest.fixture
def rs(db: Any, fast_passwords: None) -> ReportSchool:
    cache.clear()
    return build_report_school()


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_index_lists_every_report(rs: ReportSchool) -> None:
    assert reverse("report-index") == "/admin/reports/"
    page = logged_in(rs.staff).get("/admin/reports/")
    assert page.status_code == 200
    html = page.content.decode()
    for entry in REPORTS.values():
        assert entry.title in html and reverse(f"report-{entry.name}") in html
    assert "ALGEBRA" in html and "B-204" in html and "Autumn" in html


def test_the_admin_pages_need_a_staff_login(rs: ReportSchool) -> None:
    page = logged_in(rs.tina).get("/admin/reports/below-threshold/")
    assert page.status_code == 302 and "/admin/login/" in page["Location"]


def test_the_register_page_shows_every_mark_and_links_its_exports(rs: ReportSchool) -> None:
    client = logged_in(rs.staff)
    picked = client.get("/admin/reports/course/?key=ALGEBRA&term=Autumn")
    assert picked.status_code == 302
    assert picked["Location"] == "/admin/reports/course/ALGEBRA/?term=Autumn"
    page = client.get(picked["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    rows = page.context["rows"]
    student = rs.students[0]
    mine = next(r for r in rows if r[0] == student.number)
    letters = {"present": "P", "late": "L", "left_early": "E", "absent": "A", "excused": "X"}
    expected = [letters.get(rs.statuses[(s.pk, student.pk)] or "", "") for s in rs.held["ALGEBRA"]]
    assert mine[2 : 2 + len(expected)] == expected
    assert "term=Autumn&amp;format=csv" in html and "format=xlsx" in html
    exported = client.get("/admin/reports/course/ALGEBRA/?term=Autumn&format=csv")
    lines = list(csv.reader(io.StringIO(body(exported).decode())))
    assert lines[1 + [r[0] for r in rows].index(student.number)][2 : 2 + len(expected)] == expected
    xlsx = client.get("/admin/reports/course/ALGEBRA/?term=Autumn&format=xlsx")
    sheet = load_workbook(io.BytesIO(body(xlsx))).active
    assert "term Autumn" in sheet["A1"].value


def test_a_bad_filter_on_a_page_says_what_is_wrong(rs: ReportSchool) -> None:
    page = logged_in(rs.staff).get("/admin/reports/below-threshold/?pct=abc")
    assert page.status_code == 400 and "pct: expected a percentage" in page.content.decode()


def test_the_teachers_site_shows_only_their_courses(rs: ReportSchool) -> None:
    client = logged_in(rs.tina)
    index = client.get("/reports/")
    assert index.status_code == 200
    assert [code for code, _ in index.context["courses"]] == ["ALGEBRA"]
    below = client.get("/reports/below-threshold/?pct=100&min_sessions=0")
    assert below.status_code == 200
    assert {r[0] for r in below.context["rows"]} == {"ALGEBRA"}
    assert client.get("/reports/course/HISTORY/").status_code == 403
    assert client.get("/reports/course/ALGEBRA/?format=csv").status_code == 200
    assert reverse("teacher-report-index") in client.get("/").content.decode()


def test_students_have_no_report_pages(rs: ReportSchool) -> None:
    assert logged_in(rs.student_users[0]).get("/reports/").status_code == 403
    assert logged_in(rs.student_users[0]).get("/reports/flags/").status_code == 403
