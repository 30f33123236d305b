"""Class sessions from a weekly timetable: wall-clock times in the school's zone, stored in UTC.

A slot says "Mondays 09:00-10:30 in B-204"; across a daylight-saving change that is still
09:00 local, so the UTC instant moves. Holidays produce no sessions.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction

from attendance.models import ClassSession, Term, TimetableSlot


@dataclass(frozen=True)
class DateRange:
    first: date
    last: date

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last


def teaching_days(
    first: date, last: date, weekday: int, holidays: Iterable[DateRange]
) -> list[date]:
    """Every `weekday` (0 = Monday) from first to last inclusive, holidays left out."""
    closed = list(holidays)
    day = first + timedelta(days=(weekday - first.weekday()) % 7)
    days = []
    while day <= last:
        if not any(day in holiday for holiday in closed):
            days.append(day)
        day += timedelta(days=7)
    return days


def local_span(
    day: date, start: time, end: time, zone: zoneinfo.ZoneInfo
) -> tuple[datetime, datetime]:
    """The session's start and end as aware datetimes in UTC."""
    utc = zoneinfo.ZoneInfo("UTC")
    starts = datetime.combine(day, start, tzinfo=zone).astimezone(utc)
    ends = datetime.combine(day, end, tzinfo=zone).astimezone(utc)
    return starts, ends


@dataclass
class Regenerated:
    created: int = 0
    cancelled: int = 0
    kept: int = 0


@transaction.atomic
def regenerate_slot(slot: TimetableSlot) -> Regenerated:
    """Make the slot's sessions match the term and its holidays. Safe to run again:
    existing sessions are kept (they may hold records); ones no longer wanted are cancelled."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    term: Term = slot.term
    holidays = [DateRange(h.starts_on, h.ends_on) for h in term.holidays.all()]
    wanted = {
        local_span(day, slot.start_time, slot.end_time, zone)
        for day in teaching_days(term.starts_on, term.ends_on, slot.weekday, holidays)
    }
    result = Regenerated()
    existing = {s.starts_at: s for s in slot.sessions.all()}
    for starts_at, ends_at in sorted(wanted):
        session = existing.pop(starts_at, None)
        if session is None:
            # A one-off session may already sit at that time: adopt it rather than clash.
            _, created = ClassSession.objects.get_or_create(
                course=slot.course,
                starts_at=starts_at,
                defaults={"room": slot.room, "slot": slot, "ends_at": ends_at},
            )
            result.created += int(created)
            result.kept += int(not created)
        else:
            if session.cancelled:
                session.cancelled = False
                session.save(update_fields=["cancelled"])
            result.kept += 1
    for leftover in existing.values():
        if not leftover.cancelled:
            leftover.cancelled = True
            leftover.save(update_fields=["cancelled"])
            result.cancelled += 1
    return result


def regenerate_term(term: Term) -> Regenerated:
    total = Regenerated()
    for slot in term.timetable.select_related("course", "room", "term"):
        part = regenerate_slot(slot)
        total.created += part.created
        total.cancelled += part.cancelled
        total.kept += part.kept
    return total
