"""rooms, students, courses, sessions: staff provision by natural key, teachers read theirs."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from attendance.models import ClassSession, Course, Room, Student

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

V1 = "/api/v1"


def test_staff_create_read_update_delete_a_room(school: School, api) -> None:
    client = api(school.staff)
    created = client.post(f"{V1}/rooms/", {"code": "L-1", "name": "Lab", "capacity": 24})
    assert created.status_code == 201
    assert client.get(f"{V1}/rooms/L-1").json()["name"] == "Lab"
    assert client.patch(f"{V1}/rooms/L-1/", {"capacity": 30}).json()["capacity"] == 30
    assert client.delete(f"{V1}/rooms/L-1").status_code == 204
    assert not Room.objects.filter(code="L-1").exists()


def test_a_rooms_own_ble_thresholds_are_optional_and_null_means_the_default(
    school: School, api
) -> None:
    client = api(school.staff)
    plain = client.post(f"{V1}/rooms/", {"code": "L-2", "name": "Lab"}).json()
    assert (plain["ble_margin_db"], plain["ble_enter_windows"], plain["ble_leave_windows"]) == (
        None,
        None,
        None,
    )
    answer = client.patch(f"{V1}/rooms/L-2", {"ble_margin_db": 7, "ble_leave_windows": 4})
    assert answer.status_code == 200
    room = Room.objects.get(code="L-2")
    assert (room.ble_margin_db, room.ble_enter_windows, room.ble_leave_windows) == (7, None, 4)
    bad = client.patch(f"{V1}/rooms/L-2", {"ble_margin_db": 0, "ble_enter_windows": 99})
    assert bad.status_code == 400
    assert {"ble_margin_db", "ble_enter_windows"} <= set(bad.json())


def test_a_taken_room_code_is_409(school: School, api) -> None:
    response = api(school.staff).post(f"{V1}/rooms", {"code": "B-204", "name": "again"})
    assert response.status_code == 409
    assert "code" in response.json()


def test_a_bad_room_code_is_400_per_field(school: School, api) -> None:
    response = api(school.staff).post(f"{V1}/rooms", {"code": "no spaces", "capacity": -1})
    assert response.status_code == 400
    assert {"code", "capacity"} <= set(response.json())


def test_deleting_a_room_in_use_is_409_not_500(school: School, api) -> None:
    response = api(school.staff).delete(f"{V1}/rooms/B-204")
    assert response.status_code == 409
    assert "in use" in response.json()["detail"]


def test_a_missing_room_is_404(school: School, api) -> None:
    assert api(school.staff).get(f"{V1}/rooms/NOPE").status_code == 404


def test_teachers_read_only_the_rooms_of_their_courses(school: School, api) -> None:
    codes = [r["code"] for r in api(school.tina).get(f"{V1}/rooms").json()["results"]]
    assert codes == ["B-204"]
    assert api(school.tina).get(f"{V1}/rooms/C-101").status_code == 404


def test_teachers_may_not_write_rooms(school: School, api) -> None:
    response = api(school.tina).post(f"{V1}/rooms", {"code": "X-1"})
    assert response.status_code == 403
    assert api(school.tina).delete(f"{V1}/rooms/B-204").status_code == 403


@pytest.mark.parametrize("who", ["ada_user", "nobody"])
def test_students_and_others_may_not_read_provisioning(school: School, api, who) -> None:
    client = api(getattr(school, who))
    for name in ["rooms", "students", "courses", "sessions"]:
        assert client.get(f"{V1}/{name}").status_code == 403, name


def test_staff_create_a_student_linked_to_a_login(school: School, api) -> None:
    from tests.factories import make_user

    make_user("cy")
    body = {"number": "S2001", "first_name": "Cy", "last_name": "Ng", "username": "cy"}
    response = api(school.staff).post(f"{V1}/students", body)
    assert response.status_code == 201, response.json()
    linked = Student.objects.get(number="S2001").user
    assert linked is not None and linked.username == "cy"
    assert api(school.staff).get(f"{V1}/students/S2001").json()["username"] == "cy"


def test_a_login_already_linked_is_409(school: School, api) -> None:
    body = {"number": "S2002", "first_name": "X", "last_name": "Y", "username": "ada"}
    assert api(school.staff).post(f"{V1}/students", body).status_code == 409


def test_an_unknown_username_is_400(school: School, api) -> None:
    body = {"number": "S2003", "first_name": "X", "last_name": "Y", "username": "ghost"}
    response = api(school.staff).post(f"{V1}/students", body)
    assert response.status_code == 400 and "username" in response.json()


def test_teachers_may_not_read_students(school: School, api) -> None:
    assert api(school.tina).get(f"{V1}/students/S1001").status_code == 403


def test_staff_create_a_course_with_teachers_and_students(school: School, api) -> None:
    body = {
        "code": "CHEM", "name": "Chemistry", "teachers": ["tina"],
        "students": ["S1001", "S1002"], "grace_minutes": 5, "min_presence_pct": 80,
    }  # fmt: skip
    response = api(school.staff).post(f"{V1}/courses", body, format="json")
    assert response.status_code == 201, response.json()
    course = Course.objects.get(code="CHEM")
    assert [t.username for t in course.teachers.all()] == ["tina"]
    assert sorted(s.number for s in course.students.all()) == ["S1001", "S1002"]
    updated = api(school.staff).patch(f"{V1}/courses/CHEM", {"students": ["S1002"]}, format="json")
    assert updated.json()["students"] == ["S1002"]


def test_course_policy_bounds_are_400(school: School, api) -> None:
    body = {"code": "X1", "name": "X", "min_presence_pct": 101}
    response = api(school.staff).post(f"{V1}/courses", body, format="json")
    assert response.status_code == 400 and "min_presence_pct" in response.json()


def test_a_teacher_sees_their_courses_but_not_anothers(school: School, api) -> None:
    listed = api(school.tina).get(f"{V1}/courses").json()["results"]
    assert [c["code"] for c in listed] == ["MATH"]
    assert api(school.tina).get(f"{V1}/courses/BIO").status_code == 404


def test_staff_create_a_session_by_course_and_room_codes(school: School, api) -> None:
    starts = school.now + timedelta(days=2)
    body = {
        "course": "MATH", "room": "C-101",
        "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat(),
    }  # fmt: skip
    response = api(school.staff).post(f"{V1}/sessions", body, format="json")
    assert response.status_code == 201, response.json()
    session = ClassSession.objects.get(pk=response.json()["id"])
    assert (session.course.code, session.room.code) == ("MATH", "C-101")
    again = api(school.staff).post(f"{V1}/sessions", body, format="json")
    assert again.status_code == 409


def test_a_session_ending_before_it_starts_is_400(school: School, api) -> None:
    body = {
        "course": "MATH", "room": "B-204",
        "starts_at": school.now.isoformat(), "ends_at": school.now.isoformat(),
    }  # fmt: skip
    response = api(school.staff).post(f"{V1}/sessions", body, format="json")
    assert response.status_code == 400 and "ends_at" in response.json()


def test_a_teacher_reads_only_their_sessions(school: School, api) -> None:
    listed = api(school.tina).get(f"{V1}/sessions").json()["results"]
    assert {s["course"] for s in listed} == {"MATH"}
    assert api(school.tina).get(f"{V1}/sessions/{school.bio_past.pk}").status_code == 404
    assert api(school.tina).get(f"{V1}/sessions/{school.math_past.pk}").status_code == 200


def test_sessions_filter_by_course(school: School, api) -> None:
    listed = api(school.staff).get(f"{V1}/sessions", {"course": "BIO"}).json()["results"]
    assert [s["id"] for s in listed] == [school.bio_past.pk]


def add_more_of_everything(school: School, n: int = 12) -> None:
    from tests.factories import make_course, make_room, make_session, make_student, make_user

    for i in range(n):
        student = make_student(user=make_user(f"extra{i}"))
        course = make_course(teachers=(school.tina,), students=(student, school.ada))
        make_session(course, make_room(), school.now + timedelta(days=i))


@pytest.mark.parametrize("name", ["rooms", "students", "courses", "sessions"])
def test_list_queries_are_fixed_whatever_the_page_size(school: School, api, name) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    add_more_of_everything(school)
    client = api(school.staff)
    counts = []
    for page_size in (1, 500):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{V1}/{name}", {"page_size": page_size})
        assert len(response.json()["results"]) == min(page_size, response.json()["count"])
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 5, counts
