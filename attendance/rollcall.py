"""Roll call on the live page: a teacher marks one student or several at once, or everyone
not yet arrived absent, through the one door (attendance.services.correct_attendances: all or
none, manual, each with a revision and an audit entry).

correct_attendances tells the room's other pages the new statuses; a `room.marked` message
after commit adds that these are a person's marks (with the reason), which the page needs
to show them as such: a student marked present while the reader was down has no door
evidence, and without it the page would go on showing "not yet arrived".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from attendance import services
from attendance.consumers import room_group
from attendance.models import AttendanceRecord, ClassSession, Enrolment, Status, Student

log = logging.getLogger(__name__)

# What a roll call may set; late and left early come from the evidence.
ROLL_CALL_STATUSES = (Status.PRESENT, Status.ABSENT, Status.EXCUSED)


class RollCallRefused(ValueError):
    """Bad input; the message says what to fix."""


def mark_students(
    session: ClassSession, marks: Sequence[tuple[str, str]], by: Any, reason: str
) -> list[tuple[str, str]]:
    """Mark these (student number, status) pairs in one go; returns what was marked."""
    if not marks:
        raise RollCallRefused("choose at least one student")
    for number, status in marks:
        if status not in ROLL_CALL_STATUSES:
            raise RollCallRefused(
                f"{number}: status must be one of {', '.join(ROLL_CALL_STATUSES)}"
            )
    numbers = [number for number, _ in marks]
    if len(set(numbers)) != len(numbers):
        raise RollCallRefused("each student at most once")
    students = {s.number: s for s in Student.objects.filter(number__in=numbers)}
    unknown = [n for n in numbers if n not in students]
    if unknown:
        raise RollCallRefused(f"no such student: {', '.join(unknown)}")
    pairs = [(students[number], status) for number, status in marks]
    with transaction.atomic():
        try:
            services.correct_attendances(session, pairs, by, reason)
        except services.CorrectionRefused as refused:
            raise RollCallRefused(str(refused)) from None
        publish_marked(session, list(marks), by, reason.strip())
    return list(marks)


def mark_not_arrived_absent(session: ClassSession, by: Any, reason: str) -> list[tuple[str, str]]:
    """Everyone enrolled with no door or BLE evidence in this session, and no mark by a person
    (an excused student stays excused), becomes absent. Returns those marked (maybe none)."""
    numbers = not_arrived(session)
    if not numbers:
        return []
    return mark_students(session, [(n, Status.ABSENT) for n in numbers], by, reason)


def not_arrived(session: ClassSession) -> list[str]:
    """Numbers of the enrolled students not seen in the session and not marked by a person."""
    settled = AttendanceRecord.objects.filter(session=session).exclude(
        first_seen__isnull=True, manual=False
    )
    return list(
        Enrolment.objects.filter(course_id=session.course_id)
        .exclude(student_id__in=settled.values("student_id"))
        .order_by("student__number")
        .values_list("student__number", flat=True)
    )


def publish_marked(
    session: ClassSession, marks: list[tuple[str, str]], by: Any, reason: str
) -> None:
    """After commit, tell the room's pages these were marked by a person."""
    message = {
        "type": "room.marked",
        "session": session.pk,
        "marks": [{"student": number, "status": status} for number, status in marks],
        "reason": reason,
        "by": by.get_username() if by is not None else "system",
    }
    group = room_group(session.room.code)

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # live pages are a view; the committed marks stay the truth
            log.exception("room.marked for %s not sent", group)

    transaction.on_commit(send)
