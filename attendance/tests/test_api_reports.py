"""attendance/summary/<student> and attendance/realtime/<room>, for each role."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from attendance.models import AttendanceRecord, Status, Visit
from attendance.rules.rates import attendance_rate
from tests.factories import make_session

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]


def summary(client, number: str):
    return client.get(f"/api/v1/attendance/summary/{number}")


def by_course(response) -> dict[str, dict]:
    return {c["course"]: c for c in response.json()["courses"]}


@pytest.mark.parametrize(
    ("attended", "sessions", "excused", "rate"),
    [(0, 0, 0, None), (1, 1, 1, None), (2, 3, 0, 66.7), (2, 3, 1, 100.0), (0, 4, 0, 0.0)],
)
def test_attendance_rate(attended, sessions, excused, rate) -> None:
    assert attendance_rate(attended, sessions, excused) == rate


def test_summary_counts_ended_sessions_and_statuses(school: School, api) -> None:
    # A second ended MATH session where Ada was excused, and one in the future: not counted.
    excused = make_session(school.math, school.b204, school.now - timedelta(days=3))
    AttendanceRecord.objects.create(session=excused, student=school.ada, status=Status.EXCUSED)
    make_session(school.math, school.b204, school.now + timedelta(days=1))
    response = summary(api(school.ada_user), "S1001")
    assert response.status_code == 200
    courses = by_course(response)
    assert response.json()["student"] == "S1001"
    assert courses["MATH"] == {
        "course": "MATH", "sessions": 2, "present": 0, "late": 1, "left_early": 0,
        "absent": 0, "excused": 1, "rate": 100.0,
    }  # fmt: skip
    assert courses["BIO"]["sessions"] == 1 and courses["BIO"]["present"] == 1


def test_a_running_session_is_not_yet_held(school: School, api) -> None:
    AttendanceRecord.objects.create(session=school.math_now, student=school.ada)
    assert by_course(summary(api(school.staff), "S1001"))["MATH"]["sessions"] == 1


def test_a_student_may_not_see_another_students_summary(school: School, api) -> None:
    response = summary(api(school.ben_user), "S1001")
    assert response.status_code == 403
    assert "detail" in response.json()


def test_a_teacher_sees_only_their_own_courses_in_a_summary(school: School, api) -> None:
    assert set(by_course(summary(api(school.tina), "S1001"))) == {"MATH"}
    assert set(by_course(summary(api(school.omar), "S1001"))) == {"BIO"}


def test_a_teacher_may_not_see_a_student_they_do_not_teach(school: School, api) -> None:
    assert summary(api(school.tina), "S1002").status_code == 403


def test_summary_of_an_unknown_student_is_404(school: School, api) -> None:
    assert summary(api(school.staff), "S9999").status_code == 404


def test_summary_needs_a_login(school: School, api) -> None:
    assert summary(api(None), "S1001").status_code == 401


def test_summary_query_count_is_fixed(school: School, api, django_assert_max_num_queries) -> None:
    client = api(school.staff)
    with django_assert_max_num_queries(6):
        assert summary(client, "S1001").status_code == 200


# Realtime -----------------------------------------------------------------------------------


def realtime(client, code: str):
    return client.get(f"/api/v1/attendance/realtime/{code}/")


def test_realtime_shows_open_visits_and_the_running_session(school: School, api) -> None:
    Visit.objects.create(
        student=school.ben, room=school.b204, entered_at=school.now - timedelta(hours=2),
        left_at=school.now - timedelta(hours=1), source="door",
    )  # fmt: skip
    response = realtime(api(school.tina), "B-204")
    assert response.status_code == 200
    body = response.json()
    assert body["room"] == "B-204" and body["count"] == 1
    (ada,) = body["present"]
    assert (ada["student"], ada["name"], ada["source"]) == ("S1001", "Ada Okafor", "door")
    assert ada["since"].endswith(("Z", "+00:00", "+01:00"))
    assert body["session"]["id"] == school.math_now.pk
    assert body["session"]["course"] == "MATH"


def test_an_empty_room_without_a_session(school: School, api) -> None:
    body = realtime(api(school.staff), "C-101").json()
    assert body == {"room": "C-101", "count": 0, "present": [], "session": None}


def test_a_teacher_may_not_watch_another_teachers_room(school: School, api) -> None:
    assert realtime(api(school.tina), "C-101").status_code == 403
    assert realtime(api(school.omar), "B-204").status_code == 403


def test_a_student_may_not_watch_a_room(school: School, api) -> None:
    assert realtime(api(school.ada_user), "B-204").status_code == 403


def test_realtime_of_an_unknown_room_is_404(school: School, api) -> None:
    assert realtime(api(school.staff), "Z-999").status_code == 404


def test_realtime_query_count_does_not_grow_with_people(
    school: School, api, django_assert_max_num_queries
) -> None:
    from tests.factories import make_student

    for _ in range(20):
        Visit.objects.create(
            student=make_student(), room=school.b204, entered_at=school.now, source="ble"
        )
    with django_assert_max_num_queries(5):
        body = realtime(api(school.staff), "B-204").json()
    assert body["count"] == 21
