"""Recomputing what staff changes affect: replaying student-days, a course's records."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from attendance.engine.doors import replay_student_days
from attendance.engine.publishing import publish_changes
from attendance.engine.records import recompute_records
from attendance.models import ClassSession, Enrolment


def recompute_students(student_days: Iterable[tuple[int, object]], cause: str) -> None:
    """Replay student-days from the stored events (after a card or reader change)."""
    now = timezone.now()
    with transaction.atomic():
        door = replay_student_days(set(student_days), now)  # type: ignore[arg-type]
        publish_changes(door.moves, recompute_records(door.record_pairs, now, cause))


def recompute_course(course_id: int, cause: str = "course policy changed") -> int:
    """Recompute every record of a course's ended or running sessions from the stored visits
    (after its grace or minimum share changed); returns how many records were looked at."""
    now = timezone.now()
    sessions = list(
        ClassSession.objects.filter(
            course_id=course_id, starts_at__lte=now, cancelled=False
        ).values_list("id", "finalised_at")
    )
    students = list(
        Enrolment.objects.filter(course_id=course_id).values_list("student_id", flat=True)
    )
    pairs = {(s, st) for s, _ in sessions for st in students}
    with transaction.atomic():
        changes = recompute_records(
            pairs, now, cause, finalise={s for s, final in sessions if final is not None}
        )
        publish_changes([], changes)
    return len(pairs)
