"""Warning thresholds as course fields: the API, the admin, the school-wide defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING

import environ
import pytest
from django.core.exceptions import ImproperlyConfigured

from attendance.models import Course
from tests.factories import make_course
from zias.envcheck import read_optional_int

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

V1 = "/api/v1"


def test_the_courses_api_reads_and_writes_the_warning_fields(school: School, api) -> None:
    client = api(school.staff)
    created = client.post(
        f"{V1}/courses/",
        {
            "code": "CHEM",
            "name": "Chemistry",
            "warn_below_pct": 80,
            "warn_min_sessions": 5,
            "warn_consecutive_absences": None,
            "warn_extra_emails": ["office@school.test", "dean@school.test"],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = client.get(f"{V1}/courses/CHEM").json()
    assert (body["warn_below_pct"], body["warn_min_sessions"]) == (80, 5)
    assert body["warn_consecutive_absences"] is None
    assert body["warn_extra_emails"] == ["office@school.test", "dean@school.test"]
    course = Course.objects.get(code="CHEM")
    assert course.extra_warning_addresses == ["office@school.test", "dean@school.test"]

    patched = client.patch(f"{V1}/courses/CHEM", {"warn_below_pct": None}, format="json")
    assert patched.status_code == 200 and patched.json()["warn_below_pct"] is None


def test_bad_warning_fields_are_400_per_field(school: School, api) -> None:
    response = api(school.staff).post(
        f"{V1}/courses/",
        {
            "code": "BAD",
            "name": "Bad",
            "warn_below_pct": 101,
            "warn_min_sessions": 0,
            "warn_extra_emails": ["not an address"],
        },
        format="json",
    )
    assert response.status_code == 400
    assert {"warn_below_pct", "warn_min_sessions", "warn_extra_emails"} <= set(response.json())


def test_a_new_course_starts_with_the_schools_defaults(db, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WARN_BELOW_PCT, settings.WARN_MIN_SESSIONS = 60, 6
    settings.WARN_CONSECUTIVE_ABSENCES = None
    course = make_course("DEF")
    assert (course.warn_below_pct, course.warn_min_sessions) == (60, 6)
    assert course.warn_consecutive_absences is None


def test_only_a_changed_threshold_marks_the_course_for_a_full_check(db) -> None:  # type: ignore[no-untyped-def]
    course = make_course("POL")
    first = Course.objects.get(pk=course.pk)
    stamp = first.warn_policy_changed_at
    assert stamp is not None
    first.name = "Renamed"
    first.save()
    assert Course.objects.get(pk=course.pk).warn_policy_changed_at == stamp
    first.warn_min_sessions += 1
    first.save(update_fields=["warn_min_sessions"])
    changed = Course.objects.get(pk=course.pk).warn_policy_changed_at
    assert changed is not None and changed > stamp


def test_staff_see_and_edit_the_warning_fields_in_the_admin(school: School, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(school.staff)
    page = client.get(f"/admin/attendance/course/{school.math.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    for field in ("warn_below_pct", "warn_consecutive_absences", "warn_extra_emails"):
        assert f'name="{field}"' in html
    assert "Weekly attendance rate" in html and "<svg" in html
    assert client.get("/admin/attendance/attendancewarning/").status_code == 200


@pytest.mark.parametrize(
    ("raw", "expected"), [("off", None), ("none", None), ("40", 40), (None, 75)]
)
def test_optional_thresholds_read_off_or_a_number(monkeypatch, raw, expected) -> None:  # type: ignore[no-untyped-def]
    if raw is None:
        monkeypatch.delenv("WARN_TEST", raising=False)
    else:
        monkeypatch.setenv("WARN_TEST", raw)
    assert read_optional_int(environ.Env(), "WARN_TEST", 75, minimum=1, maximum=100) == expected


@pytest.mark.parametrize("raw", ["0", "101", "many"])
def test_a_bad_threshold_names_the_variable(monkeypatch, raw) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WARN_TEST", raw)
    with pytest.raises(ImproperlyConfigured, match="WARN_TEST"):
        read_optional_int(environ.Env(), "WARN_TEST", 75, minimum=1, maximum=100)
