"""The report endpoints' scenarios for bench_api (not a command of its own).

Each scenario picks its parameters at random per request, as a registrar or a teacher
would: a course's register, a student, the school below a threshold, and so on. The
school-wide ones (SCHOOL_WIDE) read every record of the term unless their counts were
kept (attendance.reports.reuse): bench_api times one of them cold first.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

Scenario = Callable[[], tuple[Client, str]]

SCHOOL_WIDE = {
    "report below-threshold (staff, school)",
    "report consecutive-absences (staff)",
    "report sessions-without-evidence",
}


def report_scenarios(
    rng: random.Random,
    staff: Any,
    students: list,
    courses: list,
    rooms: list[str],
    client_for: Callable[[Any], Client],
) -> dict[str, Scenario]:
    staff_client = client_for(staff)
    teachers = {c.code: client_for(c.teachers.all()[0]) for c in courses}
    today = timezone.localdate()

    def staff_url(url: Callable[[], str]) -> Scenario:
        return lambda: (staff_client, url())

    def teacher_url(url: Callable[[str], str]) -> Scenario:
        def next_request() -> tuple[Client, str]:
            code = rng.choice(courses).code
            return teachers[code], url(code)

        return next_request

    def month() -> str:
        start = today - timedelta(days=rng.randrange(30, 90))
        return f"from={start.isoformat()}&to={(start + timedelta(days=30)).isoformat()}"

    return {
        "report course (teacher, whole term)": teacher_url(lambda c: f"/api/v1/reports/course/{c}"),
        "report course (staff, a month)": staff_url(
            lambda: f"/api/v1/reports/course/{rng.choice(courses).code}?{month()}"
        ),
        "report student (staff)": staff_url(
            lambda: f"/api/v1/reports/student/{rng.choice(students).number}"
        ),
        "report below-threshold (teacher)": teacher_url(
            lambda c: f"/api/v1/reports/below-threshold?pct={rng.randrange(60, 90)}&course={c}"
        ),
        "report below-threshold (staff, school)": staff_url(
            lambda: f"/api/v1/reports/below-threshold?pct={rng.randrange(60, 90)}"
            f"&min_sessions={rng.randrange(1, 10)}"
        ),
        "report consecutive-absences (teacher)": teacher_url(
            lambda c: f"/api/v1/reports/consecutive-absences?n={rng.randrange(2, 5)}&course={c}"
        ),
        "report consecutive-absences (staff)": staff_url(
            lambda: f"/api/v1/reports/consecutive-absences?n={rng.randrange(3, 6)}"
        ),
        "report sessions-without-evidence": staff_url(
            lambda: "/api/v1/reports/sessions-without-evidence"
        ),
        "report flags (staff)": staff_url(lambda: f"/api/v1/reports/flags?{month()}"),
        "report rooms (staff, 7 days)": staff_url(
            lambda: f"/api/v1/reports/rooms/{rng.choice(rooms)}"
        ),
    }
