"""Sessions generated from a weekly slot: holidays skipped, wall-clock kept across DST."""

from __future__ import annotations

import zoneinfo
from datetime import date, time, timedelta

import pytest
from django.test import override_settings

from attendance.models import ClassSession, Holiday, Term, TimetableSlot
from attendance.timetable import DateRange, regenerate_slot, teaching_days
from tests.factories import make_course, make_room

LONDON = zoneinfo.ZoneInfo("Europe/London")


def test_teaching_days_skip_holidays_and_keep_the_weekday() -> None:
    days = teaching_days(
        date(2026, 3, 1),
        date(2026, 4, 30),
        weekday=0,
        holidays=[DateRange(date(2026, 4, 6), date(2026, 4, 10))],
    )
    assert all(d.weekday() == 0 for d in days)
    assert date(2026, 4, 6) not in days
    assert days[0] == date(2026, 3, 2) and days[-1] == date(2026, 4, 27)
    assert len(days) == 8


@pytest.mark.django_db
@override_settings(TIME_ZONE="Europe/London")
def test_slot_across_a_holiday_and_the_spring_dst_change() -> None:
    # UK clocks go forward on Sunday 29 March 2026: 09:00 local is 09:00 UTC before, 08:00 after.
    term = Term.objects.create(
        name="Spring", starts_on=date(2026, 3, 16), ends_on=date(2026, 4, 17)
    )
    Holiday.objects.create(
        term=term, name="Easter", starts_on=date(2026, 4, 3), ends_on=date(2026, 4, 13)
    )
    slot = TimetableSlot.objects.create(
        course=make_course(),
        room=make_room(),
        term=term,
        weekday=0,
        start_time=time(9),
        end_time=time(10, 30),
    )

    result = regenerate_slot(slot)

    sessions = list(ClassSession.objects.filter(slot=slot).order_by("starts_at"))
    local_days = [s.starts_at.astimezone(LONDON).date() for s in sessions]
    assert local_days == [date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30)]
    assert result.created == 3
    assert all(s.starts_at.astimezone(LONDON).time() == time(9) for s in sessions)
    assert [s.starts_at.utcoffset() for s in sessions] == [timedelta(0)] * 3  # stored in UTC
    assert [s.starts_at.hour for s in sessions] == [9, 9, 8]
    assert all(s.ends_at - s.starts_at == timedelta(minutes=90) for s in sessions)


@pytest.mark.django_db
@override_settings(TIME_ZONE="Europe/London")
def test_regenerating_is_idempotent_and_cancels_sessions_a_new_holiday_covers() -> None:
    term = Term.objects.create(
        name="Autumn", starts_on=date(2026, 10, 5), ends_on=date(2026, 10, 30)
    )
    slot = TimetableSlot.objects.create(
        course=make_course(),
        room=make_room(),
        term=term,
        weekday=2,
        start_time=time(14),
        end_time=time(15),
    )
    assert regenerate_slot(slot).created == 4
    again = regenerate_slot(slot)
    assert (again.created, again.kept, again.cancelled) == (0, 4, 0)

    Holiday.objects.create(
        term=term, name="Half term", starts_on=date(2026, 10, 26), ends_on=date(2026, 10, 30)
    )
    # The holiday itself cancels the session it covers (attendance.changes); regenerating
    # afterwards finds nothing more to cancel.
    assert ClassSession.objects.filter(slot=slot, cancelled=False).count() == 3
    after = regenerate_slot(slot)
    assert (after.created, after.kept, after.cancelled) == (0, 3, 0)
    assert ClassSession.objects.filter(slot=slot, cancelled=False).count() == 3
