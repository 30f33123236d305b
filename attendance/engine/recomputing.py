"""Working through recompute requests (attendance.models.RecomputeRequest) in slices.

One slice takes the oldest unfinished request (its row locked with SKIP LOCKED, so two
ingest workers take different requests and neither waits for the other), recomputes up to
SLICE_PAIRS records or SLICE_DAYS student-days of it under the students' locks, and moves
its position on. Revisions name the request's cause; a manual mark keeps its status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import connection
from django.db.models import Q

from attendance.engine.ble.apply import apply_ble
from attendance.engine.ble.segments import students_of_phones
from attendance.engine.doors import Move, replay_student_days
from attendance.engine.locks import lock_students
from attendance.engine.records import StatusChange, recompute_records
from attendance.models import AttendanceRecord, ClassSession, Enrolment, RecomputeRequest

SLICE_PAIRS = 500
SLICE_DAYS = 50


@dataclass
class SliceOutcome:
    request: RecomputeRequest | None = None
    moves: list[Move] = field(default_factory=list)
    changes: list[StatusChange] = field(default_factory=list)
    more: bool = False


def scope_size(scope: dict) -> int:
    return sum(len(scope.get(kind, ())) for kind in ("sessions", "student_days", "phone_moments"))


def work_one_slice(now: datetime) -> SliceOutcome:
    """One slice of the oldest request nobody else is working on; call in a transaction."""
    request = _claim()
    if request is None:
        return SliceOutcome(more=_pending_exists())
    outcome = SliceOutcome(request=request)
    if request.position == 0 and "drop" in request.scope:
        _drop(request.scope["drop"])
    if not scope_size(request.scope):
        done = request.total  # only a drop, done above
    elif "sessions" in request.scope:
        done = _sessions_slice(request, now, outcome)
    elif "phone_moments" in request.scope:
        done = _phones_slice(request, now, outcome)
    else:
        done = _days_slice(request, now, outcome)
    request.position += max(done, 1)  # every slice moves on, so no request can stall
    if request.position >= request.total:
        request.finished_at = now
    request.save(update_fields=["position", "finished_at"])
    outcome.more = request.finished_at is None or _pending_exists()
    return outcome


def _claim() -> RecomputeRequest | None:
    skip = connection.features.has_select_for_update_skip_locked
    return (
        RecomputeRequest.objects.select_for_update(skip_locked=skip)
        .filter(finished_at__isnull=True)
        .order_by("id")
        .first()
    )


def _pending_exists() -> bool:
    return RecomputeRequest.objects.filter(finished_at__isnull=True).exists()


def _sessions_slice(request: RecomputeRequest, now: datetime, outcome: SliceOutcome) -> int:
    ids = request.scope["sessions"][request.position :]
    sessions = dict(
        ClassSession.objects.filter(id__in=ids).values_list("id", "course_id")
    )  # a session deleted since is skipped
    only = request.scope.get("students")
    pairs: set[tuple[int, int]] = set()
    taken = 0
    for session_id in ids:
        taken += 1
        if session_id in sessions:
            students = only or _enrolled(sessions[session_id])
            pairs |= {(session_id, s) for s in students}
        if len(pairs) >= SLICE_PAIRS:
            break
    students_touched = {s for _, s in pairs}
    lock_students(students_touched)
    finalised = set(
        ClassSession.objects.filter(
            id__in={s for s, _ in pairs}, finalised_at__isnull=False
        ).values_list("id", flat=True)
    )
    outcome.changes = recompute_records(
        pairs, now, request.cause, finalise=finalised, revising=students_touched
    )
    return taken


def _enrolled(course_id: int) -> list[int]:
    return list(Enrolment.objects.filter(course_id=course_id).values_list("student_id", flat=True))


def _days_slice(request: RecomputeRequest, now: datetime, outcome: SliceOutcome) -> int:
    items = request.scope["student_days"][request.position : request.position + SLICE_DAYS]
    days = {(int(s), date.fromisoformat(d)) for s, d in items}
    students = {s for s, _ in days}
    lock_students(students)
    door = replay_student_days(days, now)
    outcome.moves = door.moves
    outcome.changes = recompute_records(door.record_pairs, now, request.cause, revising=students)
    return len(items)


def _phones_slice(request: RecomputeRequest, now: datetime, outcome: SliceOutcome) -> int:
    """Replay the BLE segments holding these (phone, moment) pairs (a beacon moved)."""
    items = request.scope["phone_moments"][request.position : request.position + SLICE_DAYS]
    moments = [(phone, datetime.fromisoformat(at)) for phone, at in items]
    lock_students(students_of_phones(p for p, _ in moments))
    apply_ble(moments, now, request.cause, revise=True)  # saves, recomputes, publishes
    return len(items)


def _drop(drop: dict) -> None:
    """Records that no longer belong (an enrolment ended, a session cancelled), unless a
    person set them: those stay, as the school's own word."""
    query = Q(session__course_id=drop["course"], session__starts_at__gte=drop["from"]) if (
        "course" in drop
    ) else Q(session_id__in=drop["sessions"])  # fmt: skip
    if drop.get("student"):
        query &= Q(student_id=drop["student"])
    doomed = AttendanceRecord.objects.filter(query, manual=False)
    lock_students(set(doomed.values_list("student_id", flat=True)))
    doomed.delete()


def backlog() -> tuple[int, int, datetime | None]:
    """(requests waiting, scope items left, when the oldest was made)."""
    pending = list(
        RecomputeRequest.objects.filter(finished_at__isnull=True).values_list(
            "total", "position", "requested_at"
        )
    )
    left = sum(max(total - position, 0) for total, position, _ in pending)
    oldest = min((at for _, _, at in pending), default=None)
    return len(pending), left, oldest
