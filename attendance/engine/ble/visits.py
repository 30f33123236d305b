"""The `ble` visits a batch's runs replace: loaded, compared and the records they touch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from attendance.engine.ble.evidence import BeaconBook
from attendance.engine.ble.runs import WINDOW_REACH, PhoneRun, shared_ranges
from attendance.engine.loading import SessionRow
from attendance.models import Visit, VisitSource
from beacons.presence import PresenceInterval

Pair = tuple[int, int]  # (session id, student id)


@dataclass(frozen=True)
class HeldBleVisit:
    id: int
    room: str
    entered_at: datetime
    left_at: datetime | None
    confidence: float | None


def held_visits(runs: Sequence[PhoneRun]) -> dict[int, list[HeldBleVisit]]:
    """Per run (by index), the student's stored ble visits from its horizon to its day's
    end, except the stay closed before its checkpoint. A stay going on at the checkpoint
    is found by its exact start, however long ago that was; any later visit began after
    the checkpoint's report, so the rows read are the batch's few, not the day's."""
    if not runs:
        return {}
    ranges = [
        (
            r.phone.student_id,
            r.horizon if r.stay_start is None else r.start - WINDOW_REACH,
            r.day_end,
        )
        for r in runs
    ]
    query = shared_ranges(ranges, "entered_at", "student_id")
    stays = {r.stay_start for r in runs if r.stay_start is not None}
    if stays:
        query |= Q(student_id__in={r.phone.student_id for r in runs}, entered_at__in=stays)
    rows = Visit.objects.filter(query, source=VisitSource.BLE).values_list(
        "student_id", "id", "room__code", "entered_at", "left_at", "confidence"
    )
    by_student: dict[int, list[int]] = defaultdict(list)
    for i, run in enumerate(runs):
        by_student[run.phone.student_id].append(i)
    found: dict[int, list[HeldBleVisit]] = defaultdict(list)
    for student, pk, room, entered, left, confidence in rows:
        for i in by_student[student]:
            run = runs[i]
            if not run.horizon <= entered < run.day_end:
                continue
            kept = run.kept
            if kept is not None and (room, entered, left) == (kept.room, kept.start, kept.end):
                continue
            found[i].append(HeldBleVisit(pk, room, entered, left, confidence))
            break
    return found


def diff(
    student: int, old: list[HeldBleVisit], new: list[PresenceInterval], book: BeaconBook
) -> tuple[list[Visit], list[int], list[tuple[str, datetime, datetime | None]]]:
    """Creates, deletes, and every (room, start, end) that changed, old or new."""
    held = {(v.room, v.entered_at, v.left_at, v.confidence): v for v in old}
    creates: list[Visit] = []
    changed: list[tuple[str, datetime, datetime | None]] = []
    for interval in new:
        left = None if interval.open else interval.end
        if held.pop((interval.room, interval.start, left, interval.confidence), None):
            continue
        creates.append(
            Visit(
                student_id=student,
                room_id=book.room_ids[interval.room],
                entered_at=interval.start,
                left_at=left,
                source=VisitSource.BLE,
                confidence=interval.confidence,
            )
        )
        changed.append((interval.room, interval.start, left))
    changed += [(v.room, v.entered_at, v.left_at) for v in held.values()]
    return creates, [v.id for v in held.values()], changed


def pairs_overlapping(
    student: int,
    room: str,
    start: datetime,
    end: datetime | None,
    sessions: list[SessionRow],
    now: datetime,
) -> set[Pair]:
    left = end or max(now, start)
    pairs = set()
    for s in sessions:
        early = timedelta(minutes=s.info.policy.early_minutes)
        if s.room == room and start <= s.info.ends_at and left >= s.info.starts_at - early:
            pairs.add((s.id, student))
    return pairs
