"""The live page's roll call endpoint: marks through the one door, all or none, audited,
scoped to the session's teachers, and told to the room's pages as a person's marks."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client

from attendance.consumers import room_group
from attendance.models import AttendanceRecord, AuditEntry, Status
from tests.factories import make_student

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]


def _post(client: Client, school: School, body: dict) -> tuple[int, dict]:
    answer = client.post(
        f"/rooms/{school.b204.code}/roll-call", json.dumps(body), content_type="application/json"
    )
    return answer.status_code, answer.json()


@pytest.fixture
def ben_in_math(school: School) -> School:
    school.math.enrolments.create(student=school.ben)
    return school


def test_a_teacher_marks_two_students_at_once(ben_in_math: School, client: Client):
    school = ben_in_math
    client.force_login(school.tina)
    code, body = _post(
        client, school,
        {"session": school.math_now.pk, "reason": "Reader down",
         "marks": [{"student": "S1001", "status": "present"},
                   {"student": "S1002", "status": "excused"}]},
    )  # fmt: skip
    assert code == 200, body
    assert body["marked"] == [
        {"student": "S1001", "status": "present"}, {"student": "S1002", "status": "excused"},
    ]  # fmt: skip
    records = AttendanceRecord.objects.filter(session=school.math_now)
    assert {(r.student.number, r.status, r.manual) for r in records} == {
        ("S1001", "present", True), ("S1002", "excused", True),
    }  # fmt: skip
    assert AuditEntry.objects.filter(reason="Reader down", user=school.tina).count() == 2


def test_not_arrived_become_absent_but_an_excused_student_stays_excused(
    ben_in_math: School, client: Client
):
    school = ben_in_math
    carl = make_student("S1003", first_name="Carl", last_name="Berg")
    school.math.enrolments.create(student=carl)
    # Ada has been seen; Ben was excused earlier; Carl has not come.
    AttendanceRecord.objects.create(
        session=school.math_now, student=school.ada, status=Status.PRESENT,
        first_seen=school.now,
    )  # fmt: skip
    client.force_login(school.tina)
    _post(client, school, {"session": school.math_now.pk, "reason": "Note",
                           "marks": [{"student": "S1002", "status": "excused"}]})  # fmt: skip
    code, body = _post(
        client, school, {"session": school.math_now.pk, "reason": "End", "not_arrived": True}
    )
    assert code == 200 and body["marked"] == [{"student": "S1003", "status": "absent"}]
    statuses = dict(
        AttendanceRecord.objects.filter(session=school.math_now).values_list(
            "student__number", "status"
        )
    )
    assert statuses == {"S1001": "present", "S1002": "excused", "S1003": "absent"}
    code, body = _post(
        client, school, {"session": school.math_now.pk, "reason": "Again", "not_arrived": True}
    )
    assert code == 200 and body["marked"] == []


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"marks": [{"student": "S1001", "status": "late"}]}, 400, "status must be one of"),
        ({"marks": [{"student": "S9999", "status": "absent"}]}, 400, "no such student"),
        ({"marks": [{"student": "S1002", "status": "absent"}]}, 400, "not enrolled"),
        ({"marks": []}, 400, "at least one"),
        ({"marks": "S1001"}, 400, "a list of"),
        ({"marks": [{"student": "S1001", "status": "absent"}], "reason": " "}, 400, "reason"),
        ({"marks": [{"student": "S1001", "status": "absent"}], "session": 0}, 404, "session"),
    ],
)
def test_bad_roll_calls_change_nothing(school: School, client: Client, body, code, message):
    client.force_login(school.tina)
    answer_code, answer = _post(
        client, school, {"session": school.math_now.pk, "reason": "r", **body}
    )
    assert (answer_code, message in answer["error"]) == (code, True)
    assert not AuditEntry.objects.exists()


def test_only_the_sessions_teachers_and_staff_may_mark(school: School, client: Client):
    body = {"session": school.math_now.pk, "reason": "r",
            "marks": [{"student": "S1001", "status": "absent"}]}  # fmt: skip
    for user, expected in ((school.omar, 403), (school.ada_user, 403), (school.staff, 200)):
        client.force_login(user)
        assert _post(client, school, body)[0] == expected
    assert AuditEntry.objects.count() == 1


def test_the_endpoint_wants_the_csrf_token(school: School):
    client = Client(enforce_csrf_checks=True)
    client.force_login(school.tina)
    code = client.post(
        f"/rooms/{school.b204.code}/roll-call", "{}", content_type="application/json"
    ).status_code
    assert code == 403


def test_the_rooms_pages_hear_the_marks_as_a_persons(
    school: School, client: Client, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(room_group(school.b204.code), channel)
    client.force_login(school.tina)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, school, {"session": school.math_now.pk, "reason": "Seen in class",
                               "marks": [{"student": "S1001", "status": "present"}]})  # fmt: skip
    messages = []
    for _ in range(5):
        message = async_to_sync(layer.receive)(channel)
        messages.append(message)
        if message["type"] == "room.marked":
            break
    marked = messages[-1]
    assert marked["type"] == "room.marked"
    assert (marked["marks"], marked["reason"], marked["by"], marked["session"]) == (
        [{"student": "S1001", "status": "present"}], "Seen in class", "tina", school.math_now.pk,
    )  # fmt: skip
    async_to_sync(layer.group_discard)(room_group(school.b204.code), channel)
