"""attendance/records: the CONTRACT shape and filters, each role's view, corrections."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from attendance.models import AttendanceRecord, AuditEntry, RecordRevision, Status
from tests.factories import make_session, make_student

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

URL = "/api/v1/attendance/records"
CONTRACT_FIELDS = {
    "session", "course", "room", "student", "status", "first_seen", "last_seen",
    "minutes_present", "flags",
}  # fmt: skip


def numbers_and_courses(response) -> set[tuple[str, str]]:
    return {(r["student"], r["course"]) for r in response.json()["results"]}


def test_staff_sees_every_record_in_the_contract_shape(school: School, api) -> None:
    response = api(school.staff).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    first = body["results"][0]
    assert CONTRACT_FIELDS | {"id"} <= set(first)
    assert numbers_and_courses(response) == {
        ("S1001", "MATH"), ("S1001", "BIO"), ("S1002", "BIO"),
    }  # fmt: skip


def test_record_fields_carry_codes_and_numbers(school: School, api) -> None:
    response = api(school.staff).get(URL, {"course": "MATH"})
    (record,) = response.json()["results"]
    assert record == {
        **record,
        "id": school.ada_math.pk,
        "session": school.math_past.pk,
        "course": "MATH",
        "room": "B-204",
        "student": "S1001",
        "status": "late",
        "minutes_present": 40,
        "flags": ["x"],
    }


def test_a_teacher_sees_only_the_records_of_their_courses(school: School, api) -> None:
    assert numbers_and_courses(api(school.tina).get(URL)) == {("S1001", "MATH")}
    assert numbers_and_courses(api(school.omar).get(URL)) == {
        ("S1001", "BIO"), ("S1002", "BIO"),
    }  # fmt: skip


def test_a_teacher_filtering_for_another_teachers_course_gets_nothing(school, api) -> None:
    response = api(school.tina).get(URL, {"course": "BIO"})
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_a_student_sees_only_their_own_records(school: School, api) -> None:
    assert numbers_and_courses(api(school.ben_user).get(URL)) == {("S1002", "BIO")}
    reaching = api(school.ben_user).get(URL, {"student": "S1001"})
    assert reaching.json()["count"] == 0


def test_a_login_without_a_role_sees_nothing(school: School, api) -> None:
    assert api(school.nobody).get(URL).json()["count"] == 0


def test_anonymous_is_401_as_json(school: School, api) -> None:
    response = api(None).get(URL)
    assert response.status_code == 401
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"student": "S1002"}, {("S1002", "BIO")}),
        ({"room": "B-204"}, {("S1001", "MATH")}),
        ({"status": "present"}, {("S1001", "BIO")}),
        ({"course": "BIO", "status": "absent"}, {("S1002", "BIO")}),
    ],
)
def test_filters(school: School, api, params, expected) -> None:
    assert numbers_and_courses(api(school.staff).get(URL, params)) == expected


def test_session_filter(school: School, api) -> None:
    response = api(school.staff).get(URL, {"session": school.bio_past.pk})
    assert {r["student"] for r in response.json()["results"]} == {"S1001", "S1002"}


def test_date_range_is_inclusive_in_the_school_time_zone(school: School, api) -> None:
    from django.utils import timezone

    day = timezone.localtime(school.math_past.starts_at).date()
    same_day = api(school.staff).get(URL, {"from": day, "to": day, "course": "MATH"})
    assert same_day.json()["count"] == 1
    after = api(school.staff).get(URL, {"from": day + timedelta(days=1), "course": "MATH"})
    assert after.json()["count"] == 0
    before = api(school.staff).get(URL, {"to": day - timedelta(days=1), "course": "MATH"})
    assert before.json()["count"] == 0


def test_a_session_just_after_local_midnight_counts_for_that_local_day(school, api) -> None:
    """Europe/London in summer is UTC+1: 00:30 local on 1 July is 23:30 UTC on 30 June."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    starts = datetime(2025, 7, 1, 0, 30, tzinfo=ZoneInfo("Europe/London"))
    session = make_session(school.math, school.b204, starts)
    AttendanceRecord.objects.create(session=session, student=school.ada)
    july_first = api(school.staff).get(URL, {"from": "2025-07-01", "to": "2025-07-01"})
    assert [r["session"] for r in july_first.json()["results"]] == [session.pk]
    june_30 = api(school.staff).get(URL, {"from": "2025-06-30", "to": "2025-06-30"})
    assert june_30.json()["count"] == 0


@pytest.mark.parametrize(
    "params", [{"status": "asleep"}, {"from": "yesterday"}, {"session": "x"}, {"to": "2025-13-01"}]
)
def test_bad_filters_are_400_with_the_field_named(school: School, api, params) -> None:
    response = api(school.staff).get(URL, params)
    assert response.status_code == 400
    assert set(params) <= set(response.json())


def test_ordering_by_student_number(school: School, api) -> None:
    response = api(school.staff).get(URL, {"ordering": "-student"})
    students = [r["student"] for r in response.json()["results"]]
    assert students == sorted(students, reverse=True)


@pytest.mark.parametrize("ordering", ["student", "-status", ","])
def test_pages_of_any_ordering_hold_every_record_once(school: School, api, ordering) -> None:
    # A repeated key (one student's records, one status) is broken by the id, so a row
    # cannot move between pages; `,` names no key and keeps the default order.
    client, ids = api(school.staff), []
    for page in (1, 2, 3):
        body = client.get(URL, {"ordering": ordering, "page_size": 1, "page": page}).json()
        ids += [r["id"] for r in body["results"]]
    assert sorted(ids) == sorted(AttendanceRecord.objects.values_list("id", flat=True))
    view = client.get(URL, {"ordering": ordering}).renderer_context["view"]
    ordered = view.filter_queryset(view.get_queryset())
    assert ordered.query.order_by[-1] == "id"


def test_pagination_with_page_size(school: School, api) -> None:
    response = api(school.staff).get(URL, {"page_size": 2})
    body = response.json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]


def test_newest_sessions_come_first_and_follow_a_session_that_moves(school, api) -> None:
    def courses_in_order() -> list[str]:
        return [r["course"] for r in api(school.staff).get(URL).json()["results"]]

    assert school.bio_past.starts_at < school.math_past.starts_at
    assert courses_in_order() == ["MATH", "BIO", "BIO"]
    # Staff move the maths class earlier than biology: its records' copy of the start follows.
    school.math_past.starts_at = school.bio_past.starts_at - timedelta(days=1)
    school.math_past.ends_at = school.math_past.starts_at + timedelta(hours=1)
    school.math_past.save()
    school.ada_math.refresh_from_db()
    assert school.ada_math.session_starts_at == school.math_past.starts_at
    assert courses_in_order() == ["BIO", "BIO", "MATH"]


@pytest.fixture
def count_cache(monkeypatch):
    """Counts of two rows or more are kept, in a cache emptied before and after."""
    from django.core.cache import cache

    from attendance.api import common

    monkeypatch.setattr(common, "COUNT_CACHE_MIN_ROWS", 2)
    cache.clear()
    yield
    cache.clear()


def test_a_large_count_is_reused_for_a_while_and_a_small_one_is_exact(
    school: School, api, count_cache
) -> None:
    staff, ben = api(school.staff), api(school.ben.user)
    assert staff.get(URL).json()["count"] == 3
    assert ben.get(URL).json()["count"] == 1
    AttendanceRecord.objects.create(session=school.math_now, student=school.ada)
    assert staff.get(URL).json()["count"] == 3, "a count at the threshold is reused"
    assert len(staff.get(URL).json()["results"]) == 4, "the rows themselves are current"
    assert staff.get(URL, {"course": "MATH"}).json()["count"] == 2, "another query counts anew"
    AttendanceRecord.objects.create(session=school.math_now, student=school.ben)
    assert ben.get(URL).json()["count"] == 2, "a count under the threshold is never reused"


def test_trailing_slash_is_optional(school: School, api) -> None:
    assert api(school.staff).get(URL + "/").status_code == 200


def test_records_are_read_only(school: School, api) -> None:
    response = api(school.staff).post(URL, {}, format="json")
    assert response.status_code == 405
    assert "detail" in response.json()


def test_list_query_count_does_not_grow_with_page_size(
    school: School, api, django_assert_max_num_queries
) -> None:
    for _ in range(30):
        student = make_student()
        school.math.enrolments.create(student=student)
        AttendanceRecord.objects.create(session=school.math_past, student=student)
    client = api(school.tina)  # a teacher: the scoped query path
    with django_assert_max_num_queries(6):
        small = client.get(URL, {"page_size": 2})
    with django_assert_max_num_queries(6):
        large = client.get(URL, {"page_size": 100})
    assert len(small.json()["results"]) == 2
    assert len(large.json()["results"]) == 31


# Corrections ------------------------------------------------------------------------------


def correct(client, record, **body):
    return client.post(f"{URL}/{record.pk}/correct", body, format="json")


def test_a_teacher_excuses_their_own_students_record_with_an_audit(school, api) -> None:
    response = correct(api(school.tina), school.ada_math, status="excused", reason="Doctor")
    assert response.status_code == 200
    assert response.json()["status"] == "excused"
    record = AttendanceRecord.objects.get(pk=school.ada_math.pk)
    assert (record.status, record.manual, record.manual_reason) == ("excused", True, "Doctor")
    assert record.revision == 1
    revision = RecordRevision.objects.get(record=record)
    assert (revision.revision, revision.status, revision.minutes_present) == (0, "late", 40)
    audit = AuditEntry.objects.get(record=record)
    assert (audit.user, audit.old_status, audit.new_status) == (school.tina, "late", "excused")


def test_a_teacher_may_not_correct_another_teachers_course(school: School, api) -> None:
    response = correct(api(school.tina), school.ben_bio, status="excused", reason="Because")
    assert response.status_code == 403
    assert AttendanceRecord.objects.get(pk=school.ben_bio.pk).status == Status.ABSENT
    assert not AuditEntry.objects.exists()


def test_a_student_may_not_correct_even_their_own_record(school: School, api) -> None:
    response = correct(api(school.ada_user), school.ada_math, status="present", reason="Was")
    assert response.status_code == 403


def test_staff_may_correct_any_record(school: School, api) -> None:
    response = correct(api(school.staff), school.ben_bio, status="present", reason="Sat in")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [({"status": "present"}, "reason"), ({"status": "gone", "reason": "r"}, "status"),
     ({"status": "present", "reason": ""}, "reason")],
)  # fmt: skip
def test_a_correction_needs_a_known_status_and_a_reason(school, api, body, field) -> None:
    response = correct(api(school.tina), school.ada_math, **body)
    assert response.status_code == 400
    assert field in response.json()


def test_correcting_a_missing_record_is_404(school: School, api) -> None:
    response = api(school.staff).post(f"{URL}/999999/correct", {}, format="json")
    assert response.status_code == 404
