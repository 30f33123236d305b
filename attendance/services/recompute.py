"""Recomputing what staff changes affect: at once (replaying student-days, a course's records),
or as requests the ingest's pass works through in slices (attendance.engine.recomputing)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from attendance.engine.doors import replay_student_days
from attendance.engine.loading import one_batch
from attendance.engine.publishing import publish_changes
from attendance.engine.recomputing import backlog, scope_size, work_one_slice
from attendance.engine.records import recompute_records
from attendance.models import ClassSession, Enrolment, RecomputeRequest


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


def request_recompute(subject: str, cause: str, scope: dict) -> RecomputeRequest | None:
    """Ask the ingest's pass to recompute what a staff change affects. Call inside the
    change's transaction: the request commits with the change, or not at all."""
    total = scope_size(scope)
    if not total and "drop" not in scope:
        return None
    return RecomputeRequest.objects.create(
        subject=subject[:120], cause=cause[:200], scope=scope, total=max(total, 1)
    )


def work_recompute_slice(now: datetime | None = None) -> bool:
    """One slice of the oldest recompute request; True if more wait. The ingest loop runs
    slices between its batches, like the crowd pass."""
    now = now or timezone.now()
    with one_batch(), transaction.atomic():
        done = work_one_slice(now)
        publish_changes(done.moves, done.changes)
    return done.more


def recompute_backlog() -> tuple[int, int, datetime | None]:
    """(requests waiting, scope items left, the oldest request's time), for /health."""
    return backlog()
