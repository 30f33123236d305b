"""Excuses: who may submit and decide them, and what an approval does to the records
(through the one door: manual, with a revision and an audit entry), including a session not
yet held, whose excused record survives the session's finalising."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from attendance import excusing
from attendance.models import (
    AttendanceRecord,
    AuditEntry,
    ClassSession,
    Excuse,
    RecordRevision,
    Status,
)
from attendance.services import periodic_tick
from tests.factories import make_session

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

URL = "/api/v1/excuses/"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path


def _yesterday(school: School) -> str:
    return timezone.localtime(school.math_past.starts_at).date().isoformat()


def _submit_both_courses(school: School, api) -> dict:
    """Ada's excuse for yesterday: it covers MATH (Tina's) and BIO (Omar's)."""
    day = sorted(
        {
            timezone.localtime(school.math_past.starts_at).date(),
            timezone.localtime(school.bio_past.starts_at).date(),
        }
    )
    answer = api(school.ada_user).post(
        URL, {"from": day[0].isoformat(), "to": day[-1].isoformat(), "reason": "Flu"}, format="json"
    )
    assert answer.status_code == 201, answer.json()
    return answer.json()


def test_a_student_submits_for_a_range_and_sees_the_sessions_it_covers(school: School, api):
    body = _submit_both_courses(school, api)
    assert body["student"] == "S1001" and body["state"] == "pending"
    assert body["from"] and body["to"] and body["submitted_by"] == "ada"
    covered = {(c["course"], c["session"], c["state"]) for c in body["covered"]}
    assert covered == {
        ("MATH", school.math_past.pk, "pending"),
        ("BIO", school.bio_past.pk, "pending"),
    }


def test_a_student_cannot_submit_for_someone_else_nor_a_teacher(school: School, api):
    for user in (school.ben_user, school.tina, school.nobody):
        answer = api(user).post(
            URL, {"student": "S1001", "sessions": [school.math_past.pk], "reason": "x"},
            format="json",
        )  # fmt: skip
        assert answer.status_code == 403, (user.username, answer.json())
    assert not Excuse.objects.exists()


def test_staff_submit_for_any_student(school: School, api):
    answer = api(school.staff).post(
        URL, {"student": "S1002", "sessions": [school.bio_past.pk], "reason": "Funeral"},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 201 and answer.json()["submitted_by"] == "registrar"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"reason": "Flu"}, "date range"),
        ({"from": "2026-03-10", "to": "2026-03-01", "reason": "Flu"}, "before the first"),
        ({"to": "2026-03-01", "reason": "Flu"}, "first day"),
        ({"from": "2020-01-01", "reason": "Flu"}, "no sessions"),
        ({"from": "2026-01-01", "to": "2026-12-31", "reason": "Flu"}, "at most"),
        ({"from": "yesterday", "reason": "Flu"}, "Date has wrong format"),
        ({"sessions": [999999], "reason": "Flu"}, "does not exist"),
        ({"sessions": "math", "reason": "Flu"}, "Expected a list"),
    ],
)
def test_bad_input_is_answered_400_with_a_message(school: School, api, body, message):
    answer = api(school.ada_user).post(URL, body, format="json")
    assert answer.status_code == 400
    assert message in str(answer.json())
    assert not Excuse.objects.exists()


def test_a_session_of_a_course_the_student_does_not_take_is_refused(school: School, api):
    answer = api(school.staff).post(
        URL, {"student": "S1002", "sessions": [school.math_past.pk], "reason": "x"}, format="json"
    )
    assert answer.status_code == 400 and "not enrolled" in answer.json()["detail"]


def test_a_blank_reason_is_refused(school: School, api):
    answer = api(school.ada_user).post(
        URL, {"sessions": [school.math_past.pk], "reason": "   "}, format="json"
    )
    assert answer.status_code == 400


def test_a_student_cannot_approve_their_own_excuse(school: School, api):
    excuse = _submit_both_courses(school, api)
    answer = api(school.ada_user).post(f"{URL}{excuse['id']}/approve", {}, format="json")
    assert answer.status_code == 403
    assert AttendanceRecord.objects.get(pk=school.ada_math.pk).status == Status.LATE
    assert not AuditEntry.objects.exists()


def test_a_teacher_decides_only_their_own_sessions(school: School, api):
    excuse = _submit_both_courses(school, api)
    approved = api(school.tina).post(
        f"{URL}{excuse['id']}/approve", {"reason": "Get well"}, format="json"
    )
    assert approved.status_code == 200, approved.json()
    states = {c["course"]: c["state"] for c in approved.json()["covered"]}
    assert states == {"MATH": "approved", "BIO": "pending"}
    assert approved.json()["state"] == "pending"
    math = AttendanceRecord.objects.get(pk=school.ada_math.pk)
    assert (math.status, math.manual, math.computed_status) == ("excused", True, "absent")
    assert math.manual_reason.startswith(f"excuse {excuse['id']}: Flu")
    assert AttendanceRecord.objects.get(pk=school.ada_bio.pk).status == Status.PRESENT
    audit = AuditEntry.objects.get(record=math)
    assert (audit.user, audit.old_status, audit.new_status) == (school.tina, "late", "excused")
    assert RecordRevision.objects.filter(record=math, status="late").exists()
    # Tina has decided hers; deciding again is refused, not repeated.
    again = api(school.tina).post(f"{URL}{excuse['id']}/reject", {"reason": "no"}, format="json")
    assert again.status_code == 400 and "already decided" in again.json()["detail"]

    rejected = api(school.omar).post(
        f"{URL}{excuse['id']}/reject", {"reason": "You were here"}, format="json"
    )
    assert rejected.status_code == 200
    assert AttendanceRecord.objects.get(pk=school.ada_bio.pk).status == Status.PRESENT
    seen = api(school.ada_user).get(f"{URL}{excuse['id']}").json()
    assert seen["state"] == "approved"  # approved for one session, rejected for the other
    notes = {c["course"]: (c["state"], c["note"], c["decided_by"]) for c in seen["covered"]}
    assert notes == {
        "MATH": ("approved", "Get well", "tina"),
        "BIO": ("rejected", "You were here", "omar"),
    }


def test_a_teacher_cannot_see_or_decide_an_excuse_of_another_course(school: School, api):
    answer = api(school.ada_user).post(
        URL, {"sessions": [school.math_past.pk], "reason": "Flu"}, format="json"
    )
    pk = answer.json()["id"]
    assert api(school.omar).post(f"{URL}{pk}/approve", {}, format="json").status_code == 404
    assert api(school.omar).get(URL).json()["count"] == 0
    assert api(school.tina).get(URL).json()["count"] == 1
    assert Excuse.objects.get(pk=pk).state == "pending"


def test_a_rejection_needs_a_reason_and_the_student_sees_it(school: School, api):
    answer = api(school.ada_user).post(
        URL, {"sessions": [school.math_past.pk], "reason": "Bus strike"}, format="json"
    )
    pk = answer.json()["id"]
    assert api(school.tina).post(f"{URL}{pk}/reject", {}, format="json").status_code == 400
    api(school.tina).post(f"{URL}{pk}/reject", {"reason": "The buses ran"}, format="json")
    mine = api(school.ada_user).get(URL).json()["results"][0]
    assert (mine["state"], mine["decision_note"], mine["decided_by"]) == (
        "rejected", "The buses ran", "tina",
    )  # fmt: skip
    assert AttendanceRecord.objects.get(pk=school.ada_math.pk).status == Status.LATE


def test_the_list_is_scoped_by_role(school: School, api):
    _submit_both_courses(school, api)
    api(school.staff).post(
        URL, {"student": "S1002", "sessions": [school.bio_past.pk], "reason": "x"}, format="json"
    )
    counts = {
        user.username: api(user).get(URL).json()["count"]
        for user in (school.staff, school.tina, school.omar, school.ada_user, school.ben_user,
                     school.nobody)
    }  # fmt: skip
    assert counts == {"registrar": 2, "tina": 1, "omar": 2, "ada": 1, "ben": 1, "nobody": 0}
    assert api(school.staff).get(URL, {"student": "S1002"}).json()["count"] == 1
    assert api(None).get(URL).status_code == 401


def test_a_future_session_excused_in_advance_stays_excused_when_finalised(school: School, api):
    now = timezone.now()
    later = make_session(school.math, school.b204, now + timedelta(days=2), minutes=60)
    answer = api(school.ada_user).post(
        URL, {"sessions": [later.pk], "reason": "Hospital appointment"}, format="json"
    )
    pk = answer.json()["id"]
    assert not AttendanceRecord.objects.filter(session=later).exists()
    assert api(school.staff).post(f"{URL}{pk}/approve", {}, format="json").status_code == 200
    record = AttendanceRecord.objects.get(session=later, student=school.ada)
    assert (record.status, record.manual, record.finalised) == ("excused", True, False)
    assert AuditEntry.objects.filter(record=record, new_status="excused").count() == 1

    periodic_tick(later.ends_at + timedelta(minutes=1))

    later.refresh_from_db()
    record.refresh_from_db()
    assert later.finalised_at is not None
    assert (record.status, record.computed_status, record.finalised) == (
        "excused", "absent", True,
    )  # fmt: skip


def test_a_document_is_type_and_size_checked_and_only_shown_to_who_may_see(
    school: School, api, settings, client
):
    def post(data: bytes, name: str):
        return api(school.ada_user).post(
            URL,
            {"sessions": [school.math_past.pk], "reason": "Note",
             "document": SimpleUploadedFile(name, data)},
            format="multipart",
        )  # fmt: skip

    settings.EXCUSE_DOCUMENT_MAX_BYTES = 1000
    assert "larger than" in post(PDF + b"x" * 1000, "note.pdf").json()["detail"]
    assert "must be one of" in post(b"MZ\x90\x00 not a pdf", "note.pdf").json()["detail"]
    assert not Excuse.objects.exists()
    good = post(PDF, "note.pdf")
    assert good.status_code == 201, good.json()
    url = good.json()["document_url"]
    assert url.endswith(f"/excuses/{good.json()['id']}/document")
    client.force_login(school.ada_user)
    assert b"".join(client.get(url).streaming_content) == PDF
    client.force_login(school.ben_user)
    assert client.get(url).status_code == 404
    client.force_login(school.tina)
    assert client.get(url).status_code == 200


def test_the_schema_documents_the_excuse_endpoints(school: School, api):
    paths = api(school.staff).get("/api/schema/?format=json").json()["paths"]
    assert {
        "/api/v1/excuses/",
        "/api/v1/excuses/{id}/approve/",
        "/api/v1/excuses/{id}/reject/",
    } <= set(paths)
    assert "400" in paths["/api/v1/excuses/"]["post"]["responses"]


def test_two_sessions_approved_at_once_go_through_the_door(school: School):
    extra = make_session(school.math, school.b204, school.now + timedelta(days=1))
    excuse = excusing.submit_excuse(
        excusing.ExcuseRequest(
            school.ada, "Trip", sessions=(school.math_past, extra, school.math_now)
        ),
        school.staff,
    )
    assert excusing.approve_excuse(excuse, school.tina, "ok") == 3
    statuses = set(
        AttendanceRecord.objects.filter(
            student=school.ada, session__in=ClassSession.objects.filter(course=school.math)
        ).values_list("status", "manual")
    )
    assert statuses == {("excused", True)}


def test_the_page_lets_a_student_submit_and_a_teacher_approve(school: School, client):
    client.force_login(school.ada_user)
    page = client.get("/excuses/")
    assert page.status_code == 200 and b"New excuse" in page.content
    sent = client.post(
        "/excuses/submit",
        {"sessions": [school.math_past.pk], "reason": "Dentist",
         "document": SimpleUploadedFile("n.pdf", PDF)},
    )  # fmt: skip
    assert sent.status_code == 302
    excuse = Excuse.objects.get()
    assert excuse.document and excuse.reason == "Dentist"
    refused = client.post("/excuses/submit", {"reason": "Nothing chosen"})
    assert refused.status_code == 200 and b"date range" in refused.content

    client.force_login(school.tina)
    assert b"Dentist" in client.get("/excuses/").content
    client.post(f"/excuses/{excuse.pk}/decide", {"decision": "approve", "note": "ok"})
    assert AttendanceRecord.objects.get(pk=school.ada_math.pk).status == Status.EXCUSED

    client.force_login(school.ada_user)
    assert b"Approved" in client.get("/excuses/").content


def test_the_page_refuses_a_student_deciding(school: School, client):
    excuse = excusing.submit_excuse(
        excusing.ExcuseRequest(school.ada, "Flu", sessions=(school.math_past,)), school.ada_user
    )
    client.force_login(school.ada_user)
    answer = client.post(f"/excuses/{excuse.pk}/decide", {"decision": "approve"})
    assert answer.status_code == 403
    assert Excuse.objects.get(pk=excuse.pk).state == "pending"


def test_the_admin_adds_approves_and_rejects_with_a_note(school: School, client):
    client.force_login(school.staff)
    added = client.post(
        "/admin/attendance/excuse/add/",
        {"student": school.ben.pk, "chosen_sessions": [school.bio_past.pk], "reason": "Sick"},
    )  # fmt: skip
    assert added.status_code == 302, added.content.decode()[:2000]
    ben = Excuse.objects.get(student=school.ben)
    assert list(ben.covered.values_list("session_id", flat=True)) == [school.bio_past.pk]
    ada = excusing.submit_excuse(
        excusing.ExcuseRequest(school.ada, "Flu", sessions=(school.math_past,)), school.ada_user
    )
    changelist = "/admin/attendance/excuse/"
    client.post(changelist, {"action": "approve_selected", "_selected_action": [ben.pk]})
    assert AttendanceRecord.objects.get(pk=school.ben_bio.pk).status == Status.EXCUSED
    asked = client.post(changelist, {"action": "reject_selected", "_selected_action": [ada.pk]})
    assert asked.status_code == 200 and b"Note for the student" in asked.content
    client.post(
        changelist,
        {"action": "reject_selected", "_selected_action": [ada.pk], "note": "No note attached"},
    )
    ada.refresh_from_db()
    assert (ada.state, ada.decision_note) == ("rejected", "No note attached")
    assert client.get(f"{changelist}{ada.pk}/change/").status_code == 200
