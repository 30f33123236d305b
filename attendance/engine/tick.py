"""Time-driven work for the ingest loop's tick: system closes that fell due, finalising.

Safe with several workers: a session is claimed with a conditional update before it is
finalised, and replays lock their students.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction

from attendance.days import day_bounds, local_day
from attendance.engine.doors import Move, replay_student_days
from attendance.engine.loading import sessions_in_rooms_on_days
from attendance.engine.locks import lock_students
from attendance.engine.records import StatusChange, recompute_records
from attendance.models import ClassSession, Enrolment, Visit, VisitSource
from attendance.rules.evidence import VisitSpan
from attendance.rules.visits import DayFrame

# Finalising is cheap per session, but a tick should stay short; the rest waits a tick.
SESSIONS_PER_TICK = 50


@dataclass
class TickOutcome:
    closed_days: int = 0
    finalised: list[int] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    changes: list[StatusChange] = field(default_factory=list)


def close_due_visits(now: datetime) -> TickOutcome:
    """Replay the student-days whose open door visit is now due to be closed by the system."""
    open_rows = list(
        Visit.objects.filter(left_at__isnull=True, source=VisitSource.DOOR).values_list(
            "student_id", "room_id", "room__code", "entered_at"
        )
    )
    outcome = TickOutcome()
    if not open_rows:
        return outcome
    days = {local_day(entered) for _, _, _, entered in open_rows}
    sessions = sessions_in_rooms_on_days({room_id for _, room_id, _, _ in open_rows}, days)
    ends: dict[tuple[str, date], datetime] = {}
    for s in sessions:
        key = (s.room, local_day(s.info.starts_at))
        ends[key] = max(ends.get(key, s.info.ends_at), s.info.ends_at)
    due = set()
    for student_id, _, room, entered in open_rows:
        day = local_day(entered)
        last_end = {room: ends[(room, day)]} if (room, day) in ends else {}
        frame = DayFrame(day_end=day_bounds(day)[1], last_session_end=last_end)
        close_at, _ = frame.system_close(VisitSpan(room, entered, None))
        if close_at <= now:
            due.add((student_id, day))
    if due:
        door = replay_student_days(due, now)
        outcome.closed_days = len(due)
        outcome.moves = door.moves
        outcome.changes = recompute_records(door.record_pairs, now, "visit closed by the system")
    return outcome


def finalise_ended_sessions(now: datetime) -> TickOutcome:
    """Claim each ended session, then give every enrolled student a final record."""
    outcome = TickOutcome()
    candidates = list(
        ClassSession.objects.ended_unfinalised(now)
        .order_by("ends_at", "id")
        .values_list("id", "course_id")[:SESSIONS_PER_TICK]
    )
    for session_id, course_id in candidates:
        with transaction.atomic():
            students = list(
                Enrolment.objects.filter(course_id=course_id).values_list("student_id", flat=True)
            )
            # Students before the session's row (the one lock order): a worker that waits
            # here finds the session claimed once the first one commits.
            lock_students(students)
            claimed = ClassSession.objects.filter(id=session_id, finalised_at__isnull=True).update(
                finalised_at=now
            )
            if not claimed:
                continue  # another worker has it
            outcome.changes += recompute_records(
                {(session_id, s) for s in students}, now, "session ended", finalise={session_id}
            )
            outcome.finalised.append(session_id)
    return outcome
