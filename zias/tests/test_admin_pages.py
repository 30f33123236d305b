"""Every admin list and add page renders for staff on the demo school (the staff UI works)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from attendance.demo import seed_demo
from tests.factories import make_user


@pytest.fixture
def staff_client(db) -> Client:  # type: ignore[no-untyped-def]
    seed_demo(students=12)
    client = Client()
    client.force_login(make_user("registrar", staff=True))  # type: ignore[arg-type]
    return client


def test_every_changelist_and_add_page_renders(staff_client: Client) -> None:
    pages = []
    for model in admin.site._registry:
        meta = model._meta
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    assert len(pages) >= 15
    for url in pages:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        searched = staff_client.get(url, {"q": "04:a1"})
        assert searched.status_code == 200, url


def test_a_student_page_shows_cards_and_enrolments_inline(staff_client: Client) -> None:
    from attendance.models import Student

    student = Student.objects.first()
    assert student is not None
    page = staff_client.get(reverse("admin:attendance_student_change", args=[student.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Cards" in body and "Enrolments" in body
    assert student.cards.first().uid in body  # type: ignore[union-attr]


def test_records_export_as_csv(staff_client: Client) -> None:
    from attendance.models import AttendanceRecord, ClassSession, Student

    session = ClassSession.objects.first()
    student = Student.objects.first()
    assert session is not None and student is not None
    AttendanceRecord.objects.create(
        session=session, student=student, status="late", minutes_present=40
    )
    response = staff_client.post(
        reverse("admin:attendance_attendancerecord_changelist"),
        {
            "action": "export_attendance-records_csv",
            "_selected_action": [r.pk for r in AttendanceRecord.objects.all()],
        },
    )
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    header, row = text.splitlines()[:2]
    assert header.startswith("session_start,course,room,student")
    assert f",{student.number}," in row and ",late," in row
