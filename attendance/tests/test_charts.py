"""The charts' figures, recomputed here from what the test seeds, and the SVG they become."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from attendance.charts.figures import arrivals, room_occupancy, weekly_rates
from attendance.charts.svg import Bar, Rule, bar_chart
from attendance.models import AttendanceRecord, Visit
from tests.factories import make_course, make_room, make_session, make_student, make_user

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 3, 2).date()  # a Monday


def local(day, clock: str) -> datetime:  # type: ignore[no-untyped-def]
    hour, minute = (int(p) for p in clock.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_default_timezone())


def test_the_weekly_rate_follows_the_contracts_rule_per_week() -> None:
    students = [make_student() for _ in range(4)]
    course = make_course("WK", students=tuple(students))
    room = make_room("WK-1")
    plan = {  # week -> per session, the four students' statuses
        0: [["present", "late", "absent", "excused"], ["present", "present", "absent", "absent"]],
        1: [["absent", "absent", "absent", "present"]],
        3: [["excused", "excused", "excused", "excused"]],
    }
    expected = {}
    for week, sessions in plan.items():
        attended = counted = 0
        for n, statuses in enumerate(sessions):
            start = local(MONDAY + timedelta(weeks=week, days=n), "09:00")
            session = make_session(course, room, start)
            for student, status in zip(students, statuses, strict=True):
                AttendanceRecord.objects.create(session=session, student=student, status=status)
                counted += status != "excused"
                attended += status in ("present", "late")
        expected[MONDAY + timedelta(weeks=week)] = (
            round(100 * attended / counted, 1) if counted else None
        )
    rates = weekly_rates(course, local(MONDAY + timedelta(weeks=5), "12:00"))
    assert {w.monday: w.rate for w in rates} == expected
    assert [w.sessions for w in rates] == [2, 1, 1]


def test_a_session_not_ended_yet_is_left_out_of_the_weekly_rate() -> None:
    student = make_student()
    course = make_course("WK2", students=(student,))
    session = make_session(course, make_room("WK-2"), local(MONDAY, "09:00"))
    AttendanceRecord.objects.create(session=session, student=student, status="present")
    assert weekly_rates(course, local(MONDAY, "09:30")) == []


def test_occupancy_counts_who_was_in_the_room_during_each_quarter_hour() -> None:
    room = make_room("OC-1")
    ada, ben = make_student(), make_student()
    ten_past, twenty_to = local(MONDAY, "09:10"), local(MONDAY, "09:40")
    Visit.objects.create(student=ada, room=room, source="door", entered_at=ten_past,
                         left_at=twenty_to)  # fmt: skip
    Visit.objects.create(student=ben, room=room, source="door",
                         entered_at=local(MONDAY, "09:20"), left_at=None)  # fmt: skip
    now = local(MONDAY, "10:05")
    slots = {f"{s.starts:%H:%M}": s.count for s in room_occupancy(room, MONDAY, now)}
    assert [slots[k] for k in ("08:45", "09:00", "09:15", "09:30", "09:45", "10:00")] == [
        0, 1, 2, 2, 1, 1,
    ]  # fmt: skip
    assert slots["10:15"] == 0, "nothing is counted after now"
    assert min(slots) == "07:00" and max(slots) == "18:45"


def test_arrivals_count_each_students_first_entry_of_the_day() -> None:
    a, b = make_room("AR-1"), make_room("AR-2")
    ada, ben, cy = make_student(), make_student(), make_student()
    for student, room, clock in ((ada, a, "08:51"), (ada, b, "10:02"), (ben, a, "08:54"),
                                 (cy, b, "09:59")):  # fmt: skip
        Visit.objects.create(student=student, room=room, source="door",
                             entered_at=local(MONDAY, clock))  # fmt: skip
    slots = arrivals(MONDAY, local(MONDAY, "10:30"))
    counted = Counter({f"{s.starts:%H:%M}": s.count for s in slots if s.count})
    assert counted == Counter({"08:50": 2, "09:55": 1})
    assert f"{slots[0].starts:%H:%M}" == "07:00" and f"{slots[-1].starts:%H:%M}" == "10:55"


def test_every_text_in_a_chart_is_escaped() -> None:
    svg = bar_chart(
        [Bar("<b>", 3), Bar("x", None)], title="A & <script>", rule=Rule(2, "limit <2>")
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "&lt;b&gt;" in svg and "limit &lt;2&gt;" in svg
    assert 'data-value="-"' in svg, "a bar without a value says so"


def test_the_chart_files_are_for_staff_and_answer_a_bad_day_with_400(client) -> None:  # type: ignore[no-untyped-def]
    room = make_room("FILE-1")
    course = make_course("FILE")
    url = f"/admin/charts/rooms/{room.code}/occupancy.svg"
    assert client.get(url).status_code == 302  # to the admin's login
    client.force_login(make_user("chart-staff", staff=True))
    response = client.get(url, {"day": "2026-03-02"})
    assert response.status_code == 200 and response["Content-Type"].startswith("image/svg+xml")
    assert "Mon 02 Mar 2026" in response.content.decode()
    assert client.get(url, {"day": "yesterday"}).status_code == 400
    assert client.get(f"/admin/charts/courses/{course.code}/weekly-rate.svg").status_code == 200
    assert client.get("/admin/charts/courses/NOPE/weekly-rate.svg").status_code == 404
    assert client.get("/admin/charts/arrivals.svg").status_code == 200
