"""terms, holidays, timetable-slots, enrolments: provisioned by natural key, scoped by role."""

from __future__ import annotations

from datetime import date, time
from typing import TYPE_CHECKING

from attendance.models import Enrolment, Holiday, Term, TimetableSlot

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

V1 = "/api/v1"


def _autumn() -> Term:
    return Term.objects.create(
        name="Autumn", starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 18)
    )


def test_staff_create_read_update_delete_a_term(school: School, api) -> None:
    client = api(school.staff)
    body = {"name": "Autumn", "starts_on": "2026-09-01", "ends_on": "2026-12-18"}
    assert client.post(f"{V1}/terms/", body).status_code == 201
    assert client.get(f"{V1}/terms/Autumn").json() == body
    assert client.patch(f"{V1}/terms/Autumn/", {"ends_on": "2026-12-19"}).status_code == 200
    assert Term.objects.get(name="Autumn").ends_on == date(2026, 12, 19)
    assert client.delete(f"{V1}/terms/Autumn").status_code == 204


def test_a_term_ending_before_it_starts_is_400_and_a_taken_name_409(school: School, api) -> None:
    client = api(school.staff)
    backwards = {"name": "T", "starts_on": "2026-09-02", "ends_on": "2026-09-01"}
    response = client.post(f"{V1}/terms/", backwards)
    assert response.status_code == 400
    assert "ends_on" in response.json()
    _autumn()
    again = {"name": "Autumn", "starts_on": "2026-09-01", "ends_on": "2026-09-02"}
    assert client.post(f"{V1}/terms/", again).status_code == 409


def test_holidays_are_keyed_by_term_and_name(school: School, api) -> None:
    _autumn()
    client = api(school.staff)
    body = {
        "term": "Autumn",
        "name": "Half term",
        "starts_on": "2026-10-26",
        "ends_on": "2026-10-30",
    }
    assert client.post(f"{V1}/holidays/", body).status_code == 201
    assert client.post(f"{V1}/holidays/", body).status_code == 409
    assert client.get(f"{V1}/holidays/Autumn/Half term/").json() == body
    response = client.patch(f"{V1}/holidays/Autumn/Half term", {"ends_on": "2026-10-29"})
    assert response.status_code == 200
    assert Holiday.objects.get().ends_on == date(2026, 10, 29)
    assert client.get(f"{V1}/holidays/Spring/Half term").status_code == 404
    assert client.delete(f"{V1}/holidays/Autumn/Half term").status_code == 204


def test_timetable_slots_by_term_course_weekday_and_start(school: School, api) -> None:
    _autumn()
    client = api(school.staff)
    body = {
        "term": "Autumn",
        "course": "MATH",
        "weekday": "Mon",
        "start_time": "09:00",
        "end_time": "10:30",
        "room": "B-204",
    }
    created = client.post(f"{V1}/timetable-slots/", body)
    assert created.status_code == 201, created.json()
    assert created.json()["weekday"] == "monday"
    assert client.post(f"{V1}/timetable-slots/", {**body, "weekday": 0}).status_code == 409
    url = f"{V1}/timetable-slots/Autumn/MATH/monday/09:00"
    assert client.get(url).json()["end_time"] == "10:30:00"
    assert client.get(f"{V1}/timetable-slots/Autumn/MATH/0/09:00:00/").status_code == 200
    assert client.patch(url, {"room": "C-101"}).status_code == 200
    assert TimetableSlot.objects.get().room == school.c101
    for bad in ["Autumn/MATH/someday/09:00", "Autumn/MATH/monday/9 o'clock", "Autumn/MATH"]:
        assert client.get(f"{V1}/timetable-slots/{bad}").status_code == 404


def test_a_slot_must_end_after_it_starts_and_name_a_real_day(school: School, api) -> None:
    _autumn()
    body = {"term": "Autumn", "course": "MATH", "weekday": "funday", "room": "B-204"}
    response = api(school.staff).post(
        f"{V1}/timetable-slots/", {**body, "start_time": "10:00", "end_time": "09:00"}
    )
    assert response.status_code == 400
    assert "weekday" in response.json()
    response = api(school.staff).post(
        f"{V1}/timetable-slots/",
        {**body, "weekday": "tue", "start_time": "10:00", "end_time": "09:00"},
    )
    assert response.status_code == 400
    assert "end_time" in response.json()
    # An offset is dropped, as Django's time parsing does everywhere: a slot is wall-clock
    # time in the school's zone.
    response = api(school.staff).post(
        f"{V1}/timetable-slots/",
        {**body, "weekday": "tue", "start_time": "09:00:00Z", "end_time": "10:00:00+01:00"},
    )
    assert response.status_code == 201
    assert (response.json()["start_time"], response.json()["end_time"]) == ("09:00:00", "10:00:00")
    assert api(school.staff).get(f"{V1}/timetable-slots/Autumn/MATH/tue/09:00Z").status_code == 200
    assert api(school.staff).get(f"{V1}/timetable-slots/Autumn/MATH/tue/25:00").status_code == 404


def test_enrolments_by_course_and_student(school: School, api) -> None:
    client = api(school.staff)
    response = client.post(f"{V1}/enrolments/", {"course": "MATH", "student": "S1002"})
    assert response.status_code == 201
    assert (
        client.post(f"{V1}/enrolments/", {"course": "MATH", "student": "S1002"}).status_code == 409
    )
    assert client.get(f"{V1}/enrolments/MATH/S1002").json()["student"] == "S1002"
    unknown = client.post(f"{V1}/enrolments/", {"course": "NOPE", "student": "S1002"})
    assert unknown.status_code == 400
    assert "course" in unknown.json()
    assert client.delete(f"{V1}/enrolments/MATH/S1002/").status_code == 204
    assert not Enrolment.objects.filter(course=school.math, student=school.ben).exists()


def test_teachers_read_their_courses_slots_and_enrolments_only(school: School, api) -> None:
    term = _autumn()
    TimetableSlot.objects.create(
        term=term, course=school.bio, room=school.c101, weekday=1,
        start_time=time(9), end_time=time(10),
    )  # fmt: skip
    tina = api(school.tina)
    enrolled = tina.get(f"{V1}/enrolments").json()["results"]
    assert [(e["course"], e["student"]) for e in enrolled] == [("MATH", "S1001")]
    assert tina.get(f"{V1}/timetable-slots").json()["count"] == 0
    assert tina.get(f"{V1}/enrolments/BIO/S1002").status_code == 404
    assert tina.get(f"{V1}/terms/Autumn").status_code == 200
    assert tina.post(f"{V1}/terms/", {"name": "X"}).status_code == 403
    assert api(school.ada_user).get(f"{V1}/terms").status_code == 403
