"""Report figures against the records of a seeded term, recomputed here independently."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache

from attendance.models import AttendanceRecord, FlagKind, ProxyFlag, Status, Visit
from attendance.tests.report_school import ReportSchool, build_report_school
from tests.factories import make_raw_event, make_reader, make_session

pytest_plugins = ["attendance.api.testing"]

ATTENDED = {"present", "late"}


@pytest.fixture
def rs(db: Any, fast_passwords: None) -> ReportSchool:
    cache.clear()
    return build_report_school()


def seeded(rs: ReportSchool, code: str, student) -> list[str | None]:
    return [rs.statuses[(s.pk, student.pk)] for s in rs.held[code]]


def expected_rate(marks: list[str | None]) -> float | None:
    counted = len(marks) - marks.count("excused")
    attended = sum(1 for m in marks if m in ATTENDED)
    return None if counted <= 0 else round(100 * attended / counted, 1)


def parsed(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def get(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()


def test_every_cell_of_the_course_register_matches_the_records(rs: ReportSchool, api) -> None:
    body = get(api(rs.tina), "/api/v1/reports/course/ALGEBRA?term=Autumn")
    held = rs.held["ALGEBRA"]
    # The cancelled session and the two to come are not held.
    assert [s["id"] for s in body["sessions"]] == [s.pk for s in held]
    assert body["period"] == {
        "from": rs.term.starts_on.isoformat(), "to": rs.term.ends_on.isoformat(), "term": "Autumn",
    }  # fmt: skip
    rows = {r["student"]: r for r in body["students"]}
    assert set(rows) == {s.number for s in rs.students}
    for student in rs.students:
        marks, row = seeded(rs, "ALGEBRA", student), rows[student.number]
        assert row["marks"] == marks
        for status in ("present", "late", "left_early", "absent", "excused"):
            assert row[status] == marks.count(status)
        assert row["sessions"] == len(held)
        assert row["rate"] == expected_rate(marks)
    for column, session in enumerate(body["sessions"]):
        cells = [seeded(rs, "ALGEBRA", s)[column] for s in rs.students]
        for status in ("present", "late", "left_early", "absent", "excused"):
            assert session[status] == cells.count(status)
        assert session["unrecorded"] == cells.count(None)


def test_the_register_agrees_with_the_summary(rs: ReportSchool, api) -> None:
    """One rate rule: the summary endpoint and the register give the same figure."""
    student = rs.students[2]
    register = get(api(rs.staff), "/api/v1/reports/course/ALGEBRA")
    summary = get(api(rs.staff), f"/api/v1/attendance/summary/{student.number}")
    row = next(r for r in register["students"] if r["student"] == student.number)
    course = next(c for c in summary["courses"] if c["course"] == "ALGEBRA")
    assert row["rate"] == course["rate"] and row["sessions"] == course["sessions"]


def test_every_below_threshold_row_recomputed(rs: ReportSchool, api) -> None:
    body = get(api(rs.staff), "/api/v1/reports/below-threshold?pct=70&min_sessions=3&term=Autumn")
    expected = {}
    for code, course in (("ALGEBRA", rs.algebra), ("HISTORY", rs.history)):
        for student in course.students.all():
            marks = seeded(rs, code, student)
            rate = expected_rate(marks)
            if len(marks) >= 3 and rate is not None and rate < 70:
                attended = [s for s, m in zip(rs.held[code], marks, strict=True) if m in ATTENDED]
                expected[(code, student.number)] = {
                    "course": code, "student": student.number, "name": student.full_name,
                    "sessions": len(marks), "attended": len(attended),
                    "excused": marks.count("excused"), "rate": rate,
                    "last_attended": attended[-1].starts_at if attended else None,
                }  # fmt: skip
    assert expected, "the seed should put some students below 70%"
    got = {(r["course"], r["student"]): r for r in body["results"]}
    assert set(got) == set(expected)
    for key, row in expected.items():
        last = got[key].pop("last_attended")
        assert got[key] == {k: v for k, v in row.items() if k != "last_attended"}
        assert parsed(last) == row["last_attended"]
    assert body["count"] == len(expected)
    # Lowest rate first within each course.
    rates = [r["rate"] for r in body["results"] if r["course"] == "ALGEBRA"]
    assert rates == sorted(rates)


def test_min_sessions_holds_back_a_course_with_few_sessions(rs: ReportSchool, api) -> None:
    body = get(api(rs.staff), "/api/v1/reports/below-threshold?pct=100&min_sessions=7")
    assert {r["course"] for r in body["results"]} == {"ALGEBRA"}  # HISTORY held only 6


def expected_runs(marks: list[str | None], n: int) -> list[int]:
    runs, length = [], 0
    for mark in marks:
        if mark == "excused":
            continue
        if mark == "absent":
            length += 1
            continue
        if length >= n:
            runs.append(length)
        length = 0
    if length >= n:
        runs.append(length)
    return runs


def test_consecutive_absences_recomputed(rs: ReportSchool, api) -> None:
    body = get(api(rs.staff), "/api/v1/reports/consecutive-absences?n=2")
    expected = sorted(
        (code, s.number, length)
        for code, course in (("ALGEBRA", rs.algebra), ("HISTORY", rs.history))
        for s in course.students.all()
        for length in expected_runs(seeded(rs, code, s), 2)
    )
    assert expected, "the seed should give some runs of two absences"
    assert sorted((r["course"], r["student"], r["length"]) for r in body["results"]) == expected


def test_an_excused_session_neither_breaks_nor_extends_a_run(rs: ReportSchool, api) -> None:
    student, held = rs.students[0], rs.held["ALGEBRA"]
    for session, status in zip(held[:4], ["absent", "excused", "absent", "present"], strict=True):
        AttendanceRecord.objects.update_or_create(
            session=session, student=student, defaults={"status": status}
        )
    AttendanceRecord.objects.filter(session=held[4], student=student).delete()  # a gap
    body = get(api(rs.tina), "/api/v1/reports/consecutive-absences?n=2&course=ALGEBRA")
    mine = [r for r in body["results"] if r["student"] == student.number]
    first = next(r for r in mine if parsed(r["first"]) == held[0].starts_at)
    assert first["length"] == 2 and first["ongoing"] is False


def test_student_report_lists_the_sessions_missed(rs: ReportSchool, api) -> None:
    student = rs.students[1]
    body = get(api(rs.student_users[1]), f"/api/v1/reports/student/{student.number}")
    courses = {c["course"]: c for c in body["courses"]}
    assert set(courses) == {"ALGEBRA", "HISTORY"}
    for code in courses:
        marks = seeded(rs, code, student)
        missed = [
            (s.pk, m) for s, m in zip(rs.held[code], marks, strict=True)
            if m in (None, "absent", "left_early")
        ]  # fmt: skip
        assert [(m["session"], m["status"]) for m in courses[code]["missed"]] == missed
        assert courses[code]["rate"] == expected_rate(marks)


def test_a_period_narrows_the_sessions(rs: ReportSchool, api) -> None:
    held = rs.held["ALGEBRA"]
    first_day = held[2].starts_at.date().isoformat()
    last_day = held[4].starts_at.date().isoformat()
    body = get(api(rs.staff), f"/api/v1/reports/course/ALGEBRA?from={first_day}&to={last_day}")
    assert [s["id"] for s in body["sessions"]] == [s.pk for s in held[2:5]]


# Scope --------------------------------------------------------------------------------------


def test_a_teacher_sees_only_their_courses(rs: ReportSchool, api) -> None:
    assert api(rs.omar).get("/api/v1/reports/course/ALGEBRA").status_code == 403
    body = get(api(rs.omar), "/api/v1/reports/below-threshold?pct=100&min_sessions=0")
    assert {r["course"] for r in body["results"]} == {"HISTORY"}
    body = get(api(rs.omar), f"/api/v1/reports/student/{rs.students[0].number}")
    assert [c["course"] for c in body["courses"]] == ["HISTORY"]
    assert api(rs.omar).get(f"/api/v1/reports/student/{rs.students[4].number}").status_code == 403


def test_a_student_sees_only_their_own_rows(rs: ReportSchool, api) -> None:
    me, client = rs.students[3], api(rs.student_users[3])
    register = get(client, "/api/v1/reports/course/ALGEBRA")
    assert [r["student"] for r in register["students"]] == [me.number]
    below = get(client, "/api/v1/reports/below-threshold?pct=100&min_sessions=0")
    assert {r["student"] for r in below["results"]} == {me.number}
    assert client.get(f"/api/v1/reports/student/{rs.students[0].number}").status_code == 403
    assert client.get("/api/v1/reports/sessions-without-evidence").status_code == 403
    assert client.get("/api/v1/reports/rooms/B-204").status_code == 403


def test_a_login_without_a_role_sees_no_report(rs: ReportSchool, api) -> None:
    from tests.factories import make_user

    response = api(make_user("nobody")).get("/api/v1/reports/flags")
    assert response.status_code == 403 and "detail" in response.json()
    assert api(None).get("/api/v1/reports/flags").status_code == 401


# Sessions without evidence, flags, rooms ---------------------------------------------------


def test_a_session_nobody_was_seen_in_and_a_silent_reader(rs: ReportSchool, api) -> None:
    door = make_reader(rs.room, "door-b204")
    quiet = make_session(rs.algebra, rs.room, rs.now - timedelta(hours=3))
    for student in rs.students:
        AttendanceRecord.objects.create(session=quiet, student=student, status=Status.ABSENT)
    busy = rs.held["ALGEBRA"][-1]
    make_raw_event("door-b204", "1-1", busy.starts_at + timedelta(minutes=1))
    body = get(api(rs.tina), "/api/v1/reports/sessions-without-evidence")
    unseen = {s["session"]: s for s in body["sessions"]}
    expected_unseen = {quiet.pk} | {s.pk for s in rs.held["ALGEBRA"] if seen_in(rs, s) == 0}
    assert set(unseen) == expected_unseen
    assert unseen[quiet.pk]["readers"] == [door.device_id]
    assert unseen[quiet.pk]["silent_readers"] == [door.device_id]
    silent = {r["session"] for r in body["silent_readers"]}
    assert quiet.pk in silent and busy.pk not in silent
    assert silent == {s.pk for s in rs.held["ALGEBRA"] if s != busy} | {quiet.pk}


def test_flags_by_kind_course_and_student(rs: ReportSchool, api) -> None:
    session = rs.held["ALGEBRA"][0]
    for kind, student in [
        (FlagKind.IMPOSSIBLE_TRAVEL, rs.students[0]),
        (FlagKind.IMPOSSIBLE_TRAVEL, rs.students[1]),
        (FlagKind.TAP_MISSING, rs.students[0]),
    ]:
        ProxyFlag.objects.create(
            kind=kind, student=student, room=rs.room, session=session, at=session.starts_at,
            evidence={"rooms": ["B-204", "C-101"]}, detail="test",
        )  # fmt: skip
    ProxyFlag.objects.create(
        kind=FlagKind.TAP_MISSING, student=rs.students[0], session=rs.held["HISTORY"][0],
        at=rs.held["HISTORY"][0].starts_at, detail="history",
    )  # fmt: skip
    body = get(api(rs.tina), "/api/v1/reports/flags")
    assert body["count"] == 3  # Tina does not see HISTORY's flag
    assert body["by_kind"] == {"impossible_travel": 2, "tap_missing": 1}
    assert body["by_course"] == {"ALGEBRA": 3}
    assert body["by_student"] == {rs.students[0].number: 2, rs.students[1].number: 1}
    assert body["results"][0]["evidence"] == {"rooms": ["B-204", "C-101"]}
    staff = get(api(rs.staff), "/api/v1/reports/flags?kind=tap_missing")
    assert staff["count"] == 2 and staff["by_course"] == {"ALGEBRA": 1, "HISTORY": 1}


def seen_in(rs: ReportSchool, session) -> int:
    seen = ("present", "late", "left_early")
    return sum(1 for st in rs.students if rs.statuses.get((session.pk, st.pk)) in seen)


def visit(rs: ReportSchool, student, entered: datetime, minutes: int) -> None:
    Visit.objects.create(
        student=student,
        room=rs.room,
        source="door",
        entered_at=entered,
        left_at=entered + timedelta(minutes=minutes),
    )


def test_room_occupancy_over_the_day_and_sessions_against_capacity(rs: ReportSchool, api) -> None:
    from django.utils import timezone

    today = timezone.localdate(rs.now)
    ten = timezone.make_aware(datetime.combine(today, datetime.min.time())) + timedelta(hours=10)
    if ten + timedelta(hours=1) > rs.now:
        ten -= timedelta(days=1)
    for i, student in enumerate(rs.students[:3]):  # three inside at 10:20-10:30
        visit(rs, student, ten + timedelta(minutes=10 * i), 30 - 9 * i)
    visit(rs, rs.students[3], ten + timedelta(minutes=40), 10)
    day = timezone.localdate(ten).isoformat()
    body = get(api(rs.staff), f"/api/v1/reports/rooms/B-204?from={day}&to={day}")
    assert [d["day"] for d in body["days"]] == [day]
    assert body["days"][0]["peak_by_hour"][10] == 3 and body["days"][0]["peak"] == 3
    assert body["days"][0]["peak_by_hour"][11] == 0
    term = get(api(rs.tina), "/api/v1/reports/rooms/B-204?term=Autumn")
    uses = {s["session"]: s for s in term["sessions"]}
    assert set(uses) == {s.pk for s in rs.held["ALGEBRA"]}
    for session in rs.held["ALGEBRA"]:
        seen = seen_in(rs, session)
        assert uses[session.pk]["seen"] == seen
        assert uses[session.pk]["use_pct"] == round(100 * seen / 4, 1)
    assert api(rs.omar).get("/api/v1/reports/rooms/B-204").status_code == 403


# Parameters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "word"),
    [
        ("/api/v1/reports/below-threshold?pct=abc", "pct"),
        ("/api/v1/reports/below-threshold?pct=120", "pct"),
        ("/api/v1/reports/below-threshold?min_sessions=-1", "min_sessions"),
        ("/api/v1/reports/consecutive-absences?n=0", "n"),
        ("/api/v1/reports/consecutive-absences?n=two", "n"),
        ("/api/v1/reports/course/ALGEBRA?from=2026-02-30", "from"),
        ("/api/v1/reports/course/ALGEBRA?from=2026-03-02&to=2026-03-01", "after"),
        ("/api/v1/reports/flags?term=Spring", "term"),
        ("/api/v1/reports/flags?kind=nonsense", "kind"),
        ("/api/v1/reports/flags?student=S9999", "student"),
        ("/api/v1/reports/sessions-without-evidence?course=NOPE", "course"),
        ("/api/v1/reports/rooms/B-204?from=2020-01-01&to=2026-01-01", "days"),
        ("/api/v1/reports/course/ALGEBRA?format=pdf", "format"),
        ("/api/v1/attendance/records?format=pdf", "format"),
    ],
)
def test_a_bad_parameter_is_a_400_that_says_which(rs: ReportSchool, api, url, word) -> None:
    response = api(rs.staff).get(url)
    assert response.status_code == 400, response.content
    assert word in response.json()["detail"]


def test_unknown_course_student_or_room_is_a_404(rs: ReportSchool, api) -> None:
    for url in ("course/NOPE", "student/S9999", "rooms/Z-1"):
        response = api(rs.staff).get(f"/api/v1/reports/{url}")
        assert response.status_code == 404 and "detail" in response.json()


def test_long_lists_are_paged_like_the_api_lists(rs: ReportSchool, api) -> None:
    url = "/api/v1/reports/below-threshold?pct=100&min_sessions=0"
    whole = get(api(rs.staff), url)
    first = get(api(rs.staff), f"{url}&page_size=2")
    assert first["count"] == whole["count"] > 2 and len(first["results"]) == 2
    assert first["previous"] is None and "page=2" in first["next"]
    second = get(api(rs.staff), first["next"])
    assert second["results"] == whole["results"][2:4]
    assert api(rs.staff).get(f"{url}&page=99").status_code == 404
