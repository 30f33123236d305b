"""What a teacher's live room page shows: the room now, plus the roster of the current (or
next) session with each student's record, the people present who are not enrolled, and the
anti-proxy flags with their evidence. Built from the database, so a snapshot after a
reconnect is always the truth."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from attendance.api.reports import room_snapshot
from attendance.models import AttendanceRecord, ClassSession, ProxyFlag, Room

# How far ahead the page looks for the next session when none is running.
NEXT_SESSION_HORIZON = timedelta(hours=12)


def current_or_next_session(room: Room, now: datetime) -> ClassSession | None:
    running = ClassSession.objects.running_at(now).filter(room=room).order_by("starts_at").first()
    if running is not None:
        return running
    return (
        ClassSession.objects.filter(
            room=room, cancelled=False, starts_at__gt=now, starts_at__lte=now + NEXT_SESSION_HORIZON
        )
        .order_by("starts_at")
        .first()
    )


def _iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


def _roster(session: ClassSession, inside: dict[str, str]) -> list[dict[str, Any]]:
    """Each enrolled student with their record; `inside` maps who is in the room now to the
    evidence that put them there (`door` or `ble`), shown beside their status."""
    records = {
        r.student_id: r
        for r in AttendanceRecord.objects.filter(session=session).only(
            "id", "student_id", "status", "computed_status", "first_seen", "flags", "manual"
        )
    }
    roster = []
    for student in session.course.students.order_by("last_name", "first_name"):
        record = records.get(student.pk)
        roster.append(
            {
                "student": student.number,
                "name": student.full_name,
                "inside": student.number in inside,
                "source": inside.get(student.number),
                "record": None
                if record is None
                else {
                    "id": record.pk,
                    "status": record.status,
                    "computed_status": record.computed_status,
                    "manual": record.manual,
                    "first_seen": _iso(record.first_seen),
                    "flags": record.flags,
                },
            }
        )
    return roster


def _flags(room: Room, session: ClassSession | None, now: datetime) -> list[dict[str, Any]]:
    flags = ProxyFlag.objects.filter(room=room, at__gte=now - timedelta(hours=12))
    if session is not None:
        flags = ProxyFlag.objects.filter(session=session) | flags
    return [
        {
            "kind": flag.kind,
            "label": flag.get_kind_display(),
            "student": flag.student.number if flag.student else None,
            "at": _iso(flag.at),
            "detail": flag.detail,
            "evidence": flag.evidence,
        }
        for flag in flags.select_related("student").order_by("-at")[:50]
    ]


def page_state(room: Room, now: datetime | None = None) -> dict[str, Any]:
    """The realtime shape (room, count, present, session) plus roster, visitors and flags."""
    now = now or timezone.now()
    state = room_snapshot(room, now)
    for person in state["present"]:
        person["since"] = _iso(person["since"])
    session = current_or_next_session(room, now)
    inside = {p["student"]: p.get("source", "door") for p in state["present"]}
    roster = _roster(session, inside) if session else []
    enrolled = {r["student"] for r in roster}
    state["session"] = (
        None
        if session is None
        else {
            "id": session.pk,
            "course": session.course.code,
            "course_name": session.course.name,
            "starts_at": _iso(session.starts_at),
            "ends_at": _iso(session.ends_at),
            "running": session.starts_at <= now < session.ends_at,
            "ended": session.ends_at <= now,
        }
    )
    state["roster"] = roster
    state["visitors"] = [p for p in state["present"] if p["student"] not in enrolled]
    state["flags"] = _flags(room, session, now)
    return state
