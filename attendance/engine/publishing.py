"""Telling the live room state what a writer changed, once its transaction commits."""

from __future__ import annotations

from attendance import live
from attendance.engine.doors import Move
from attendance.engine.loading import student_numbers
from attendance.engine.records import StatusChange


def publish_changes(moves: list[Move], changes: list[StatusChange]) -> None:
    """Name the students, then hand the live state its updates for after commit."""
    if not moves and not changes:
        return
    ids = {m.student_id for m in moves} | {c.student_id for c in changes}
    numbers = student_numbers(ids)
    live_moves = [
        live.LiveMove(numbers[m.student_id], m.room, m.since, m.basis)
        for m in moves
        if m.student_id in numbers
    ]
    statuses: dict[str, live.RoomDelta] = {}
    for c in changes:
        if c.student_id in numbers:
            statuses.setdefault(c.room, live.RoomDelta()).status[numbers[c.student_id]] = c.status
    live.publish_on_commit(live_moves, statuses)
