"""BLE presence into the engine: take phones forward (`segments`), then recompute the
records their visits and flags touch and tell the live room state. The caller holds the
phones' students (attendance.services).

Kept apart from the door path: it only adds `ble` visits and `ble:` flags, and the records
already count visits of every source as a union of intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from attendance import live
from attendance.engine.ble.segments import BleOutcome, apply_phone_evidence
from attendance.engine.records import recompute_records
from attendance.models import Student, Visit, VisitSource
from devices.models import RawEvent


def apply_ble(
    moments: Sequence[tuple[str, datetime]],
    now: datetime,
    cause: str,
    *,
    revise: bool = False,
    stored: Sequence[RawEvent] = (),
) -> BleOutcome:
    """Take the phones of these (phone id, moment) pairs forward from their checkpoints;
    save and publish. With `revise` (a staff change caused it) every record it changes
    keeps a revision; so does every record of a student whose phone sent a late report
    (`revisions`). `stored`: the events this batch has just stored (its reports need not
    be read back)."""
    outcome = apply_phone_evidence(moments, now, stored)
    if not outcome.record_pairs and not outcome.moves:
        return outcome
    revising = {student for _, student in outcome.record_pairs} if revise else set()
    if outcome.late and not revise:
        revising = set(outcome.late.values())
        cause = f"late BLE report from {', '.join(sorted(outcome.late))}"
    changes = recompute_records(outcome.record_pairs, now, cause, revising=revising)
    ids = {m[0] for m in outcome.moves} | {c.student_id for c in changes}
    numbers = dict(Student.objects.filter(id__in=ids).values_list("id", "number"))
    # Leaving by BLE does not take a student out of a room their door visit still holds.
    away = {m[0] for m in outcome.moves if m[1] is None}
    held_by_door = set(
        Visit.objects.filter(
            student_id__in=away, left_at__isnull=True, source=VisitSource.DOOR
        ).values_list("student_id", flat=True)
    ) if away else set()  # fmt: skip
    moves = [
        live.LiveMove(numbers[student], room, since, basis, source="ble")
        for student, room, since, basis in outcome.moves
        if student in numbers and not (room is None and student in held_by_door)
    ]
    statuses: dict[str, live.RoomDelta] = {}
    for c in changes:
        if c.student_id in numbers:
            statuses.setdefault(c.room, live.RoomDelta()).status[numbers[c.student_id]] = c.status
    live.publish_on_commit(moves, statuses)
    return outcome
