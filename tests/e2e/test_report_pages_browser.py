"""The course register page in Chromium: a screenshot under artifacts/e2e/, checked for
the figures a teacher reads on it (every student's rate, recomputed from the seed)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from attendance.tests.report_school import build_report_school

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = settings.BASE_DIR / "artifacts" / "e2e"


def expected_rate(marks: list[str | None]) -> str:
    counted = len(marks) - marks.count("excused")
    attended = sum(1 for m in marks if m in ("present", "late"))
    return "" if counted <= 0 else f"{round(100 * attended / counted, 1):.1f}%"


def test_course_register_page_shows_each_students_rate(
    browser: Any, live_server: Any, settings: Any
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    school = build_report_school()
    client = Client()
    client.force_login(school.staff)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/reports/course/ALGEBRA/?term=Autumn")
    page.wait_for_selector("#report-table")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-course-register.png"), full_page=True)
    assert "Course register ALGEBRA" in page.inner_text("h1, .report-title")
    for student in school.students:
        marks = [school.statuses[(s.pk, student.pk)] for s in school.held["ALGEBRA"]]
        row = page.locator("#report-table tbody tr", has_text=student.number)
        cells = row.locator("td").all_inner_texts()
        assert cells[-1] == expected_rate(marks), student.number
        assert cells[-2] == str(len(marks))
    context.close()
