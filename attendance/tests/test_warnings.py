"""Attendance warnings against a real SMTP server (aiosmtpd) started by the test.

A course meets every weekday at 09:00; Ada (S1001) never comes, Ben (S1002) always does.
Each day the ingest's tick finalises the session and checks the warnings, exactly as the
running ingest does, and what the SMTP server received is read back.
"""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from datetime import date, timedelta
from email.message import EmailMessage

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.utils import timezone

from attendance import services
from attendance.api.reports import course_summaries
from attendance.models import (
    AttendanceRecord,
    AttendanceWarning,
    ClassSession,
    Course,
    Room,
    Student,
)
from attendance.tests.db_scenario import apply_batch, build_world
from attendance.tests.scenario import CARDS, DAY, at
from tests.factories import make_course, make_raw_event, make_user

pytestmark = pytest.mark.django_db

# Monday 2 March 2026 to Friday, then the next Monday.
DAYS = [DAY + timedelta(days=d) for d in (0, 1, 2, 3, 4, 7)]


class Inbox:
    """What the SMTP server received: the parsed message and its envelope's recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[EmailMessage, list[str]]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((message, envelope.rcpt_tos))  # type: ignore[arg-type]
        return "250 Message accepted"

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message, _ in self.messages]

    def body(self, n: int) -> str:
        return str(self.messages[n][0].get_content())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp(settings) -> Iterator[Inbox]:  # type: ignore[no-untyped-def]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_TIMEOUT = 5
    try:
        yield inbox
    finally:
        controller.stop()


def school(**warn: object) -> Course:
    build_world()
    teacher = make_user("tess")
    teacher.email = "tess@school.test"
    teacher.save()
    Student.objects.filter(number="S1001").update(email="ada@students.test")
    policy = {"warn_below_pct": None, "warn_min_sessions": 4, "warn_consecutive_absences": 3}
    course = make_course(
        "MATH",
        name="Mathematics",
        teachers=(teacher,),
        students=tuple(Student.objects.filter(number__in=["S1001", "S1002"])),
        warn_extra_emails="office@school.test",
        **{**policy, **warn},
    )
    room = Room.objects.get(code="B-204")
    for day in DAYS:
        ClassSession.objects.create(
            course=course, room=room, starts_at=at("09:00", day), ends_at=at("10:00", day)
        )
    return course


def attend(student: str, day: date, tag: str = "") -> None:
    """A tap in at 09:00 and out at 10:00 on the room's toggle reader."""
    events = [
        make_raw_event(
            "door-b204",
            f"{student}-{day}-{clock}{tag}",
            at(clock, day),
            "rfid",
            uid=CARDS[student],
            save=False,
        )
        for clock in ("09:00", "10:00")
    ]
    apply_batch(events)


def day_ends(day: date, clock: str = "10:05") -> None:
    """Ben attends; then the tick after the session's end finalises it and checks."""
    with time_machine.travel(at("10:01", day), tick=False):
        attend("S1002", day)
    tick(day, clock)


def tick(day: date, clock: str) -> None:
    with time_machine.travel(at(clock, day), tick=False):
        services.periodic_tick(timezone.now())


def excuse(student: str, day: date, when: date, clock: str = "10:20") -> None:
    """The office marks the student's session of `day` excused (through the one door)."""
    session = ClassSession.objects.get(starts_at=at("09:00", day))
    with time_machine.travel(at(clock, when), tick=False):
        services.correct_attendance(
            session,
            Student.objects.get(number=student),
            "excused",
            make_user(f"office-{day}"),
            "doctor's note",
        )


def dates_in(body: str) -> list[str]:
    return [line.split(",")[0].strip("- ") for line in body.splitlines() if "room B-204" in line]


def test_an_absence_run_warns_once_per_level_with_its_dates(smtp: Inbox) -> None:
    school()
    for day in DAYS[:2]:
        day_ends(day)
    assert smtp.messages == []

    day_ends(DAYS[2])
    assert smtp.subjects() == ["Attendance warning: Ada S1001 (S1001) in MATH: 3 absences in a row"]
    message, envelope = smtp.messages[0]
    assert message["To"] == "ada@students.test"
    assert sorted(envelope) == ["ada@students.test", "office@school.test", "tess@school.test"]
    assert dates_in(smtp.body(0)) == [
        "Mon 02 Mar 2026 09:00-10:00",
        "Tue 03 Mar 2026 09:00-10:00",
        "Wed 04 Mar 2026 09:00-10:00",
    ]

    tick(DAYS[2], "10:30")  # the tick runs again: nothing is sent twice
    day_ends(DAYS[3])
    day_ends(DAYS[4])  # five in a row: still the first level
    assert len(smtp.messages) == 1

    day_ends(DAYS[5])  # six: the next level, with all six dates
    tick(DAYS[5], "11:00")
    tick(DAYS[5] + timedelta(days=1), "09:00")
    assert len(smtp.messages) == 2
    assert "6 absences in a row" in smtp.subjects()[1]
    assert dates_in(smtp.body(1))[-1] == "Mon 09 Mar 2026 09:00-10:00"
    assert len(dates_in(smtp.body(1))) == 6
    rows = AttendanceWarning.objects.order_by("level")
    assert [(w.student.number, w.level, w.state) for w in rows] == [
        ("S1001", 3, "sent"),
        ("S1001", 6, "sent"),
    ]
    assert rows[0].recipients == ["ada@students.test", "tess@school.test", "office@school.test"]


def test_an_excused_session_is_never_counted_or_named(smtp: Inbox) -> None:
    school()
    day_ends(DAYS[0])
    day_ends(DAYS[1])
    # Tuesday's absence is excused before the third session ends.
    excuse("S1001", DAYS[1], DAYS[2], "09:30")
    day_ends(DAYS[2])
    assert smtp.messages == [], "Monday and Wednesday are two absences, not three"

    day_ends(DAYS[3])
    assert len(smtp.messages) == 1
    assert dates_in(smtp.body(0)) == [
        "Mon 02 Mar 2026 09:00-10:00",
        "Wed 04 Mar 2026 09:00-10:00",
        "Thu 05 Mar 2026 09:00-10:00",
    ]


@pytest.mark.parametrize("revision", ["late tap", "excuse"])
def test_a_later_revision_withdraws_a_sent_warning_and_it_is_not_sent_again(
    smtp: Inbox, revision: str
) -> None:
    school()
    for day in DAYS[:3]:
        day_ends(day)
    assert len(smtp.messages) == 1

    if revision == "late tap":
        # Tuesday's reader replays its offline buffer: Ada was there after all.
        with time_machine.travel(at("10:20", DAYS[2]), tick=False):
            attend("S1001", DAYS[1], "-replayed")
        assert (
            AttendanceRecord.objects.get(
                student__number="S1001", session__starts_at=at("09:00", DAYS[1])
            ).status
            == "present"
        )
    else:
        excuse("S1001", DAYS[1], DAYS[2])
    tick(DAYS[2], "10:30")

    assert len(smtp.messages) == 2
    assert smtp.subjects()[1] == "Withdrawn: attendance warning for Ada S1001 (S1001) in MATH"
    new_status = "present" if revision == "late tap" else "excused"
    assert f"Tue 03 Mar 2026 09:00 is now {new_status}" in smtp.body(1)
    warning = AttendanceWarning.objects.get()
    assert warning.state == "retracted"
    assert f"is now {new_status}" in warning.withdrawn_because
    assert warning.notice_sent_at is not None

    tick(DAYS[2], "11:00")
    tick(DAYS[3] - timedelta(days=1), "23:00")
    assert len(smtp.messages) == 2, "a withdrawn warning is never sent again"
    # Absences go on: a new run of three is a new warning with its own dates (after the
    # excuse, Monday, Wednesday and Thursday; after the late tap, Wednesday to Friday).
    day_ends(DAYS[3])
    if revision == "late tap":
        assert len(smtp.messages) == 2
        day_ends(DAYS[4])
    assert len(smtp.messages) == 3
    expected = {
        "excuse": ["Mon 02", "Wed 04", "Thu 05"],
        "late tap": ["Wed 04", "Thu 05", "Fri 06"],
    }
    assert [d[:6] for d in dates_in(smtp.body(2))] == expected[revision]
    assert AttendanceWarning.objects.filter(state="retracted").count() == 1


def test_a_warning_waits_while_the_server_is_away_and_an_excuse_cancels_it(settings) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    school()
    for day in DAYS[:3]:
        day_ends(day)
    warning = AttendanceWarning.objects.get()
    assert warning.state == "pending" and warning.attempts == 1
    assert "mail server" in warning.last_error or "Connection" in warning.last_error

    excuse("S1001", DAYS[0], DAYS[2])
    tick(DAYS[2], "10:30")
    warning.refresh_from_db()
    assert warning.state == "cancelled" and warning.sent_at is None
    assert "Mon 02 Mar 2026 09:00 is now excused" in warning.withdrawn_because


def test_a_rate_below_the_threshold_warns_with_the_summary_rate(smtp: Inbox) -> None:
    course = school(warn_below_pct=75, warn_consecutive_absences=None)
    with time_machine.travel(at("10:01", DAYS[0]), tick=False):
        attend("S1001", DAYS[0])
    for day in DAYS[:3]:
        day_ends(day)
    assert smtp.messages == [], "three sessions: fewer than the course's four"

    day_ends(DAYS[3])
    assert smtp.subjects() == [
        "Attendance warning: Ada S1001 (S1001) in MATH: attendance 25.0% (below 75%)"
    ]
    assert dates_in(smtp.body(0)) == [
        "Tue 03 Mar 2026 09:00-10:00",
        "Wed 04 Mar 2026 09:00-10:00",
        "Thu 05 Mar 2026 09:00-10:00",
    ]
    ada = Student.objects.get(number="S1001")
    with time_machine.travel(at("10:10", DAYS[3]), tick=False):
        (summary,) = course_summaries(ada, Course.objects.filter(pk=course.pk), timezone.now())
    assert AttendanceWarning.objects.get().rate == summary["rate"] == 25.0

    # An excuse lifts the rate to 33.3%: still below, so the warning stands and is not resent.
    excuse("S1001", DAYS[1], DAYS[3])
    tick(DAYS[3], "10:30")
    assert len(smtp.messages) == 1
    assert AttendanceWarning.objects.get().state == "sent"


def test_a_changed_threshold_is_checked_for_every_student(smtp: Inbox) -> None:
    course = school(warn_below_pct=None, warn_consecutive_absences=None)
    for day in DAYS[:4]:
        day_ends(day)
    assert smtp.messages == []
    with time_machine.travel(at("12:00", DAYS[3]), tick=False):
        course.refresh_from_db()
        course.warn_below_pct = 50
        course.save()
    tick(DAYS[3], "12:05")
    assert smtp.subjects() == [
        "Attendance warning: Ada S1001 (S1001) in MATH: attendance 0.0% (below 50%)"
    ]
