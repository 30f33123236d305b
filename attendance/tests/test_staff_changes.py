"""Staff changes take effect: each kind of change recomputes the records it affects, with a
revision naming the change, touches nothing else, and leaves a person's mark alone."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from attendance import services
from attendance.models import (
    AttendanceRecord,
    ClassSession,
    Course,
    Enrolment,
    RecomputeRequest,
    RecordRevision,
    Student,
)
from attendance.tests.db_scenario import apply_batch, build_timetable, build_world
from attendance.tests.scenario import CARDS, Scenario, SessionSpec, at
from tests.factories import make_raw_event, make_user

SCIENCE = Scenario(
    "science",
    [SessionSpec("SCI", "B-204", "09:00", "10:00", students=("S1001", "S1002"))],
    [],
    {},
)


def drain() -> int:
    """What the ingest's pass does between batches, until nothing waits."""
    slices = 1
    while services.work_recompute_slice():
        slices += 1
    return slices


def tap(student: str, clock: str, event_id: str):  # type: ignore[no-untyped-def]
    return make_raw_event("door-b204", event_id, at(clock), "rfid", uid=CARDS[student], save=False)


def record(number: str) -> AttendanceRecord:
    return AttendanceRecord.objects.get(student__number=number, session__course__code="SCI")


@pytest.fixture
def held(db):  # type: ignore[no-untyped-def]
    """SCI 09:00-10:00 in B-204, finalised: S1001 came in at 09:12 (late), S1002 at 09:05."""
    build_world()
    build_timetable(SCIENCE)
    apply_batch([tap("S1001", "09:12", "a1"), tap("S1002", "09:05", "b1")])
    services.periodic_tick(timezone.now())
    drain()  # the session's creation asked for its records too
    assert (record("S1001").status, record("S1002").status) == ("late", "present")
    return ClassSession.objects.get()


def revisions_of(number: str) -> list[str]:
    return list(
        RecordRevision.objects.filter(record=record(number))
        .order_by("revision")
        .values_list("cause", flat=True)
    )


def test_a_course_policy_change_recomputes_its_records_with_the_change_as_cause(held) -> None:
    before = revisions_of("S1002")
    course = Course.objects.get(code="SCI")
    course.grace_minutes = 15
    course.save()
    waiting = RecomputeRequest.objects.get(finished_at__isnull=True)
    assert waiting.cause == "course SCI grace 10→15 min by system"
    drain()
    assert record("S1001").status == "present"
    assert revisions_of("S1001")[-1] == "course SCI grace 10→15 min by system"
    assert revisions_of("S1002") == before  # nothing else touched


def test_a_manual_mark_survives_every_kind_of_change(held) -> None:
    staff = make_user("registrar", staff=True)
    services.correct_attendance(held, Student.objects.get(number="S1001"), "excused", staff, "note")
    course = Course.objects.get(code="SCI")
    course.grace_minutes = 15
    course.save()
    held.starts_at = at("09:05")
    held.save()
    Enrolment.objects.filter(student__number="S1001").update(effective_from=None)
    drain()
    kept = record("S1001")
    assert (kept.status, kept.manual, kept.computed_status) == ("excused", True, "present")
    held.cancelled = True
    held.save()
    drain()
    assert record("S1001").status == "excused"  # a person's mark outlives a cancellation
    assert not AttendanceRecord.objects.filter(student__number="S1002").exists()


def test_moving_a_session_recomputes_it(held) -> None:
    held.starts_at = at("09:05")
    held.save()
    drain()
    assert record("S1001").status == "present"  # 09:12 is within 09:05 + 10 min
    assert revisions_of("S1001")[-1] == f"session {held.pk} (SCI) start 09:00→09:05 by system"


def test_moving_a_session_to_another_room_recomputes_it(held) -> None:
    from attendance.models import Room

    held.room = Room.objects.get(code="B-310")
    held.save()
    drain()
    assert (record("S1001").status, record("S1002").status) == ("absent", "absent")
    assert "moved to another room" in revisions_of("S1002")[-1]


def test_cancelling_a_session_drops_its_records(held) -> None:
    held.cancelled = True
    held.save()
    drain()
    assert not AttendanceRecord.objects.filter(session=held).exists()


def test_a_late_enrolment_counts_from_its_day(held) -> None:
    student = Student.objects.get(number="S1003")
    apply_batch([tap("S1003", "09:03", "c1")])
    assert not AttendanceRecord.objects.filter(student=student).exists()
    Enrolment.objects.create(
        course=Course.objects.get(code="SCI"), student=student, effective_from=date(2026, 3, 3)
    )
    drain()
    assert not AttendanceRecord.objects.filter(student=student).exists()  # from the day after
    enrolment = Enrolment.objects.get(student=student)
    enrolment.effective_from = None
    enrolment.save()
    drain()
    assert AttendanceRecord.objects.get(student=student).status == "present"


def test_leaving_a_course_drops_records_from_then_on_and_keeps_the_past(held) -> None:
    future = ClassSession.objects.create(
        course=held.course, room=held.room, starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=1),
    )  # fmt: skip
    ada = Student.objects.get(number="S1001")
    AttendanceRecord.objects.create(session=future, student=ada, status="present")
    Enrolment.objects.get(student=ada, course=held.course).delete()
    drain()
    assert list(AttendanceRecord.objects.filter(student=ada).values_list("session", flat=True)) == [
        held.pk
    ]


def test_a_change_that_affects_nothing_asks_for_nothing(held) -> None:
    course = Course.objects.get(code="SCI")
    course.name = "Science, renamed"
    course.save()
    assert not RecomputeRequest.objects.filter(finished_at__isnull=True).exists()


def test_the_pass_takes_a_big_request_in_slices(held, monkeypatch) -> None:
    from attendance.engine import recomputing

    monkeypatch.setattr(recomputing, "SLICE_PAIRS", 1)
    course = Course.objects.get(code="SCI")
    for day in range(3, 8):  # five more held sessions
        ClassSession.objects.create(
            course=course, room=held.room, starts_at=at("09:00", date(2026, 3, day)),
            ends_at=at("10:00", date(2026, 3, day)),
        )  # fmt: skip
    drain()
    course.grace_minutes = 15
    course.save()
    request = RecomputeRequest.objects.get(finished_at__isnull=True)
    assert request.total == 6
    assert drain() >= 6  # one session (two students) a slice
    request.refresh_from_db()
    assert (request.position, request.finished_at is not None) == (6, True)


def test_revoking_and_reactivating_a_card_leaves_its_past_taps_counted(held) -> None:
    from devices.models import Card

    before = revisions_of("S1001")
    card = Card.objects.get(uid=CARDS["S1001"])
    card.active, card.revoked_at = False, timezone.now()
    card.save()
    assert RecomputeRequest.objects.get(finished_at__isnull=True).cause == (
        f"card {card.uid} revoked by system"
    )
    drain()
    assert record("S1001").status == "late" and revisions_of("S1001") == before
    card.active = True
    card.save()
    drain()
    assert record("S1001").status == "late" and revisions_of("S1001") == before


def test_changing_a_readers_mode_keeps_the_past_and_applies_from_then_on(held) -> None:
    """The mode at the moment of each tap decides (placement in time), so a change today
    has nothing in March to recompute; taps after it are read with the new mode."""
    from devices.models import Reader, ReaderPlacement

    reader = Reader.objects.get(device_id="door-b204")
    reader.mode = "entry"
    reader.save()
    assert list(ReaderPlacement.objects.filter(reader=reader).values_list("mode", flat=True)) == [
        "toggle", "entry",
    ]  # fmt: skip
    drain()
    assert (record("S1001").status, record("S1002").status) == ("late", "present")
    now = timezone.now()
    first = make_raw_event("door-b204", "e1", now, "rfid", uid=CARDS["S1001"], save=False)
    again = make_raw_event(
        "door-b204", "e2", now + timedelta(minutes=1), "rfid", uid=CARDS["S1001"], save=False
    )
    assert apply_batch([first, again]) == {"e1": "accepted in", "e2": "accepted in"}


def test_a_regenerated_timetable_computes_the_records_of_sessions_it_adds(held) -> None:
    from attendance.models import Room, Term, TimetableSlot
    from attendance.timetable import regenerate_term

    term = Term.objects.create(name="Spring", starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 2))
    TimetableSlot.objects.create(
        course=held.course, room=Room.objects.get(code="B-204"), term=term, weekday=0,
        start_time=at("08:00").astimezone(timezone.get_current_timezone()).time(),
        end_time=at("08:30").astimezone(timezone.get_current_timezone()).time(),
    )  # fmt: skip
    assert regenerate_term(term).created == 1
    drain()
    early = ClassSession.objects.get(slot__term=term)
    assert AttendanceRecord.objects.filter(session=early).count() == 2  # both absent then
    assert set(AttendanceRecord.objects.filter(session=early).values_list("status", flat=True)) == {
        "absent"
    }


def test_a_holiday_cancels_its_sessions_and_drops_their_records(held) -> None:
    from attendance.models import Holiday, Term, TimetableSlot

    term = Term.objects.create(name="Spring", starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 31))
    slot = TimetableSlot.objects.create(
        course=held.course, room=held.room, term=term, weekday=0,
        start_time=at("09:00").astimezone(timezone.get_current_timezone()).time(),
        end_time=at("10:00").astimezone(timezone.get_current_timezone()).time(),
    )  # fmt: skip
    ClassSession.objects.filter(pk=held.pk).update(slot=slot)
    staff = make_user("registrar", staff=True)
    services.correct_attendance(held, Student.objects.get(number="S1002"), "excused", staff, "trip")
    Holiday.objects.create(
        term=term, name="Strike", starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 2)
    )
    assert ClassSession.objects.get(pk=held.pk).cancelled
    drain()
    assert list(
        AttendanceRecord.objects.filter(session=held).values_list("student__number", "status")
    ) == [
        ("S1002", "excused")  # the person's mark stays
    ]
