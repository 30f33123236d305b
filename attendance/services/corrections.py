"""People's marks on records: a correction, an excuse, a roll call. They win over the engine.

A mark locks its students in id order, like every writer of visits and records (see
attendance.services), so an engine batch cannot read a record before the mark and write
it back after: the engine reads under the same lock, finds the record manual, and leaves
its status alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from attendance.engine.corrections import (
    REASON_MAX,
    CorrectionRefused,
    checked_reason,
    mark_record,
    publish_marks,
)
from attendance.engine.locks import lock_students
from attendance.models import AttendanceRecord, ClassSession, Enrolment, Student


def correct_attendance(
    session: ClassSession, student: Student, status: str, by: Any, reason: str
) -> AttendanceRecord:
    """Mark one enrolled student's record of a session `status`, with a reason (audited).
    Raises CorrectionRefused for a bad status or reason or a student not enrolled. The
    caller has checked that `by` may correct this session."""
    return correct_attendances(session, [(student, status)], by, reason)[0]


def correct_attendances(
    session: ClassSession, marks: Sequence[tuple[Student, str]], by: Any, reason: str
) -> list[AttendanceRecord]:
    """Several students of one session at once (a roll call), in one transaction: all or
    none. Returns the records in the order of `marks`."""
    for _, status in marks:
        reason = checked_reason(status, reason)
    ids = [student.pk for student, _ in marks]
    enrolled = set(
        Enrolment.objects.filter(course_id=session.course_id, student_id__in=ids).values_list(
            "student_id", flat=True
        )
    )
    for student, _ in marks:
        if student.pk not in enrolled:
            raise CorrectionRefused(f"{student.number} is not enrolled in this course")
    with transaction.atomic():
        lock_students(ids)
        records = [mark_record(session, s.pk, status, by, reason) for s, status in marks]
        publish_marks(session, {s.number: status for s, status in marks})
    return records


__all__ = ["REASON_MAX", "CorrectionRefused", "correct_attendance", "correct_attendances"]
