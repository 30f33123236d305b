"""Attendance records for (session, student) pairs, recomputed from the stored visits.

Each change to an existing record bumps its revision and keeps what it was before in a
RecordRevision. A record a person set (`manual`) keeps its status; only `computed_status`
follows the evidence, so the disagreement stays visible.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from attendance.days import local_day
from attendance.engine.loading import SessionRow, session_rows
from attendance.engine.saving import save_changed
from attendance.flag_kinds import TAP_MISSING
from attendance.models import (
    AttendanceRecord,
    Enrolment,
    ProxyFlag,
    RecordRevision,
    Visit,
)
from attendance.rules.evidence import SessionInfo, VisitSpan
from attendance.rules.records import compute_record

Pair = tuple[int, int]
# No visit is longer than this (door visits close with their day; BLE ones sooner).
VISIT_LONGEST = timedelta(days=1)
RECORD_FIELDS = ("id", "session_id", "session_starts_at", "student_id", "status",
                 "computed_status", "first_seen", "last_seen", "minutes_present", "flags",
                 "manual", "manual_reason", "revision", "finalised", "updated_at")  # fmt: skip
DERIVED_FIELDS = (
    "computed_status",
    "status",
    "first_seen",
    "last_seen",
    "minutes_present",
    "flags",
)


@dataclass(frozen=True)
class StatusChange:
    room: str
    session_id: int
    student_id: int
    status: str


def recompute_records(
    pairs: Iterable[Pair],
    now: datetime,
    cause: str,
    finalise: Iterable[int] = (),
    revising: Iterable[int] = (),
) -> list[StatusChange]:
    """Recompute these records from visits and flags; save only what changed.

    A change is a revision (counted, and the old values kept) when the record was already
    final, was set by a person, or its student is in `revising` (a late event changed their
    day); a running session's record following the evidence as it arrives is not.
    """
    revising = set(revising)
    pairs = set(pairs)
    finalise = set(finalise)
    if not pairs:
        return []
    sessions = {s.id: s for s in session_rows(Q(id__in={p[0] for p in pairs}))}
    students = {p[1] for p in pairs}
    enrolled = {
        (course, student): since
        for course, student, since in Enrolment.objects.filter(
            course_id__in={s.course_id for s in sessions.values()}, student_id__in=students
        ).values_list("course_id", "student_id", "effective_from")
    }
    pairs = {p for p in pairs if p[0] in sessions and _counts(sessions[p[0]], p[1], enrolled)}
    if not pairs:
        return []
    visits = _visits(pairs, sessions)
    held_flags = _held_flags(pairs)
    # Plain values: most records looked at do not change, and instances cost more to load.
    existing = {
        (r["session_id"], r["student_id"]): r
        for r in AttendanceRecord.objects.filter(
            session_id__in={p[0] for p in pairs}, student_id__in={p[1] for p in pairs}
        ).values(*RECORD_FIELDS)
        if (r["session_id"], r["student_id"]) in pairs
    }
    creates, updates, finalised_only, revisions, changes = [], [], [], [], []
    tap_missing: list[ProxyFlag] = []
    for session_id, student_id in sorted(pairs):
        session = sessions[session_id]
        outcome = compute_record(session.info, visits.around(student_id, session.info), now)
        if TAP_MISSING in outcome.flags:
            tap_missing.append(_tap_missing_flag(session, student_id, outcome.first_seen))
        flags = sorted(set(outcome.flags) | held_flags.get((session_id, student_id), set()))
        held = existing.get((session_id, student_id))
        if held is None:
            record = AttendanceRecord(
                session_id=session_id,
                session_starts_at=session.info.starts_at,
                student_id=student_id,
            )
            _apply(record, outcome, flags, session_id in finalise)
            creates.append(record)
            changes.append(StatusChange(session.room, session_id, student_id, record.status))
            continue
        before = {f: held[f] for f in DERIVED_FIELDS}
        if before == _derived(held, outcome, flags):
            if session_id in finalise and not held["finalised"]:
                finalised_only.append(held["id"])
            continue
        record = AttendanceRecord(**held)
        old_status, was_final = record.status, record.finalised
        _apply(record, outcome, flags, session_id in finalise)
        if was_final or record.manual or student_id in revising:
            revisions.append(_revision_of(record, before, cause))
            record.revision += 1
        updates.append(record)
        if record.status != old_status:
            changes.append(StatusChange(session.room, session_id, student_id, record.status))

    AttendanceRecord.objects.bulk_create(creates)
    for record in updates:
        record.updated_at = now
    save_changed(
        AttendanceRecord, updates, [*DERIVED_FIELDS, "revision", "finalised", "updated_at"]
    )
    if finalised_only:
        AttendanceRecord.objects.filter(id__in=finalised_only).update(
            finalised=True, updated_at=now
        )
    RecordRevision.objects.bulk_create(revisions)
    _replace_tap_missing(pairs, tap_missing)
    return changes


def _counts(session: SessionRow, student_id: int, enrolled: dict) -> bool:
    """Is the student enrolled for this session: enrolled, and not late for it (a late
    enrolment counts from its day on)?"""
    key = (session.course_id, student_id)
    if key not in enrolled:
        return False
    since = enrolled[key]
    return since is None or local_day(session.info.starts_at) >= since


def _derived(held: dict, outcome, flags: list[str]) -> dict:  # type: ignore[no-untyped-def]
    """The derived fields as `_apply` would set them, to skip records that do not change."""
    return {
        "computed_status": outcome.status,
        "status": held["status"] if held["manual"] else outcome.status,
        "first_seen": outcome.first_seen,
        "last_seen": outcome.last_seen,
        "minutes_present": outcome.minutes_present,
        "flags": flags,
    }


def _apply(record: AttendanceRecord, outcome, flags: list[str], finalise: bool) -> None:  # type: ignore[no-untyped-def]
    record.computed_status = outcome.status
    if not record.manual:
        record.status = outcome.status
    record.first_seen = outcome.first_seen
    record.last_seen = outcome.last_seen
    record.minutes_present = outcome.minutes_present
    record.flags = flags
    record.finalised = record.finalised or finalise


def _revision_of(record: AttendanceRecord, before: dict, cause: str) -> RecordRevision:
    return RecordRevision(
        record=record,
        revision=record.revision,
        status=before["status"],
        minutes_present=before["minutes_present"],
        first_seen=before["first_seen"],
        last_seen=before["last_seen"],
        flags=before["flags"],
        cause=cause[:200],
    )


def _pair_query(pairs: set[Pair], session_field: str, student_field: str) -> Q:
    """One clause per session: (session = s and student in (...)) or ..."""
    by_session: dict[int, set[int]] = defaultdict(set)
    for session_id, student_id in pairs:
        by_session[session_id].add(student_id)
    query = Q()
    for session_id, students in by_session.items():
        query |= Q(**{session_field: session_id, f"{student_field}__in": students})
    return query


class VisitIndex:
    """Visits per (student, room), sorted by entry, so each session looks only near itself."""

    def __init__(self) -> None:
        self._spans: dict[tuple[int, str], list[VisitSpan]] = defaultdict(list)
        self._starts: dict[tuple[int, str], list[datetime]] = {}

    def add(self, student_id: int, span: VisitSpan) -> None:
        self._spans[(student_id, str(span.room))].append(span)

    def seal(self) -> VisitIndex:
        for key, spans in self._spans.items():
            spans.sort(key=lambda v: v.entered_at)
            self._starts[key] = [v.entered_at for v in spans]
        return self

    def around(self, student_id: int, session: SessionInfo) -> list[VisitSpan]:
        key = (student_id, str(session.room))
        starts = self._starts.get(key, [])
        early = timedelta(minutes=session.policy.early_minutes)
        lo = bisect_left(starts, session.starts_at - early - VISIT_LONGEST)
        hi = bisect_right(starts, session.ends_at)
        return self._spans[key][lo:hi] if hi > lo else []


def _visits(pairs: set[Pair], sessions: dict[int, SessionRow]) -> VisitIndex:
    """Every visit (any source) of these students in these rooms around these sessions."""
    used = [sessions[s] for s in {p[0] for p in pairs}]
    lo = min(s.info.starts_at - timedelta(minutes=s.info.policy.early_minutes) for s in used)
    hi = max(s.info.ends_at for s in used)
    rows = Visit.objects.filter(
        Q(left_at__isnull=True) | Q(left_at__gte=lo),
        student_id__in={p[1] for p in pairs},
        room_id__in={s.room_id for s in used},
        # Door visits end with their day; the bound keeps the index range short.
        entered_at__gte=lo - VISIT_LONGEST,
        entered_at__lte=hi,
    ).values_list("student_id", "room__code", "entered_at", "left_at", "source")
    index = VisitIndex()
    for student_id, room, entered, left, source in rows:
        index.add(student_id, VisitSpan(room, entered, left, source))
    return index.seal()


def _held_flags(pairs: set[Pair]) -> dict[Pair, set[str]]:
    """Flags saved for these (session, student) pairs by any rule except the one we derive."""
    held: dict[Pair, set[str]] = defaultdict(set)
    rows = ProxyFlag.objects.filter(
        session_id__in={p[0] for p in pairs}, student_id__in={p[1] for p in pairs}
    ).exclude(kind=TAP_MISSING)
    for session_id, student_id, kind in rows.values_list("session_id", "student_id", "kind"):
        if (session_id, student_id) in pairs:
            held[(session_id, student_id)].add(kind)
    return held


def _tap_missing_flag(session: SessionRow, student_id: int, seen: datetime | None) -> ProxyFlag:
    return ProxyFlag(
        kind=TAP_MISSING,
        key=f"{TAP_MISSING}:{session.id}",
        student_id=student_id,
        room_id=session.room_id,
        session_id=session.id,
        at=seen or session.info.starts_at,
        detail="present by BLE only; the course requires a card tap",
        evidence={"session": session.id, "room": session.room, "sources": ["ble"]},
    )


def _replace_tap_missing(pairs: set[Pair], rows: list[ProxyFlag]) -> None:
    old = ProxyFlag.objects.filter(_pair_query(pairs, "session_id", "student_id"), kind=TAP_MISSING)
    if rows or old.exists():
        old.delete()
        ProxyFlag.objects.bulk_create(rows)
