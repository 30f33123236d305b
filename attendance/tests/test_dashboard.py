"""The staff dashboard's figures in process (the browser test checks the page itself)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from attendance.dashboard import dashboard, week_against_last
from attendance.models import AttendanceRecord, ProxyFlag
from devices.models import Reader, RejectedMessage
from tests.factories import make_course, make_reader, make_room, make_session, make_student

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]


def test_todays_running_session_shows_who_is_in_the_room(school: School) -> None:
    sessions = {s.id: s for s in dashboard(school.now)["sessions"]}  # type: ignore[attr-defined]
    running = sessions[school.math_now.id]
    assert (running.state, running.in_room, running.enrolled) == ("running", 1, 1)
    assert running.attended == 0 and running.rate == 0.0


def test_the_week_rate_compares_with_last_week(db) -> None:  # type: ignore[no-untyped-def]
    zone = timezone.get_default_timezone()
    wednesday = datetime(2026, 3, 4, 12, 0, tzinfo=zone)
    ada, ben = make_student(), make_student()
    course = make_course("WEEK", students=(ada, ben))
    room = make_room("WEEK-1")
    plan = [  # (days before Wednesday noon, Ada, Ben)
        (2, "present", "absent"),  # this Monday
        (0.1, "late", "excused"),  # this morning
        (8, "present", "present"),  # last Tuesday
        (3, "absent", "absent"),  # last Sunday: still last week
        (11, "absent", "absent"),  # the Saturday before: not counted
    ]
    for days, ada_status, ben_status in plan:
        session = make_session(course, room, wednesday - timedelta(days=days), minutes=60)
        AttendanceRecord.objects.create(session=session, student=ada, status=ada_status)
        AttendanceRecord.objects.create(session=session, student=ben, status=ben_status)
    running = make_session(course, room, wednesday - timedelta(minutes=10), minutes=60)
    AttendanceRecord.objects.create(session=running, student=ada, status="absent")

    weeks = week_against_last(wednesday)
    assert weeks.this_week == round(100 * 2 / 3, 1)  # present, late of 3 counted (1 excused)
    assert weeks.last_week == 50.0  # two of four
    assert weeks.change == round(round(100 * 2 / 3, 1) - 50.0, 1)


def test_offline_readers_rejected_messages_and_unreviewed_flags_are_counted(
    school: School,
) -> None:
    make_reader(school.b204, "door-up", online=True)
    make_reader(school.b204, "door-down", online=False)
    make_reader(school.b204, "door-off", online=False, enabled=False)
    for reason, minutes in (("bad json", 5), ("bad json", 50), ("unknown", 10), ("old", 70)):
        RejectedMessage.objects.create(
            topic="t", reason=reason, received_at=school.now - timedelta(minutes=minutes)
        )
    for reviewed in (None, None, school.now):
        ProxyFlag.objects.create(
            kind="impossible_travel", student=school.ada, at=school.now, reviewed_at=reviewed
        )
    figures = dashboard(school.now)
    assert [r.device_id for r in figures["offline_readers"]] == ["door-down"]  # type: ignore[attr-defined]
    assert figures["rejected"] == [{"reason": "bad json", "n": 2}, {"reason": "unknown", "n": 1}]
    assert figures["rejected_total"] == 3
    assert figures["flags_waiting"] == 2
    assert Reader.objects.count() == 3


def test_the_dashboard_costs_the_same_queries_for_a_bigger_school(
    school: School, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(14):
        dashboard(school.now)
    for n in range(30):
        student = make_student(f"Q{n}")
        session = make_session(school.bio, school.c101, school.now - timedelta(minutes=n + 60))
        AttendanceRecord.objects.create(session=session, student=student, status="present")
    with django_assert_max_num_queries(14):
        dashboard(timezone.now())


def test_the_admin_index_is_the_dashboard(school: School, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(school.staff)
    html = client.get("/admin/").content.decode()
    assert 'id="zias-dashboard"' in html
    assert f'data-session="{school.math_now.id}"' in html
    assert 'href="/admin/reports/"' in html
    assert "Arrivals today" in html
    assert 'id="content-main"' in html, "the app list is still there below"
