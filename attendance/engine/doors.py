"""Replay whole student-days from stored taps and save only what changed.

A batch names the (student, local day) pairs it touches; each is replayed from all of that
day's stored taps in event-time order (attendance.rules.visits), so an in-order tap and a
tap replayed from an offline buffer an hour late go through the same code and give the same
visits. Queries are per batch, never per event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Q

from attendance.days import day_bounds, local_day
from attendance.engine import flags as flag_store
from attendance.engine.loading import (
    CardInfo,
    Neighbourhood,
    ReaderInfo,
    SessionRow,
    cards_of_students,
    motions_near,
    readers_by_device,
    rooms_by_id,
    sessions_in_rooms_on_days,
    taps_of_cards_on_days,
    windows_around,
)
from attendance.engine.locks import lock_students
from attendance.engine.saving import save_changed
from attendance.engine.travel import travel_model
from attendance.flag_kinds import IMPOSSIBLE_TRAVEL, REGISTERED_AFTER_TAP
from attendance.models import Visit, VisitSource
from attendance.rules.door import PIR_ORDER_WINDOW, Motion
from attendance.rules.evidence import EventKey, Tap, TapVerdict, VisitSpan
from attendance.rules.ownership import registered_after_tap_findings
from attendance.rules.proxy import Place, impossible_travel_findings
from attendance.rules.visits import DayFrame, accepted_taps, checkpoint, plan_day

StudentDay = tuple[int, date]
Pair = tuple[int, int]  # (session id, student id)


@dataclass(frozen=True)
class Move:
    """Where a student is now, as the evidence up to `basis` says (for live room state)."""

    student_id: int
    room: str | None
    since: datetime | None
    basis: datetime


@dataclass
class DoorOutcome:
    verdicts: dict[EventKey, TapVerdict] = field(default_factory=dict)
    record_pairs: set[Pair] = field(default_factory=set)
    moves: list[Move] = field(default_factory=list)
    late_students: set[int] = field(default_factory=set)


def replay_student_days(
    student_days: set[StudentDay] | dict[StudentDay, datetime | None],
    now: datetime,
    new_keys: AbstractSet[EventKey] = frozenset(),
    known: Neighbourhood | None = None,
) -> DoorOutcome:
    """Recompute the door visits of these student-days; `new_keys` are the batch's taps.

    Given a dict, each student-day is replayed from its moment on (a checkpoint rebuilt from
    the stored visits), else from the start of the day. `known` holds motion events the
    caller already loaded.
    """
    outcome = DoorOutcome()
    if not student_days:
        return outcome
    since = student_days if isinstance(student_days, dict) else dict.fromkeys(student_days)
    students = sorted({s for s, _ in since})
    # Serialise workers on the same students: the replay reads then writes their day.
    lock_students(students)
    cards = cards_of_students(students)
    days = {d for _, d in since}
    stored = taps_of_cards_on_days(cards, days)
    readers = readers_by_device({t.sender for t in stored})
    taps = _resolve(stored, cards, readers, set(since))
    replayed = {sd: _from(taps.get(sd, []), moment) for sd, moment in since.items()}
    motions = _motions_for([t for ts in replayed.values() for t in ts if t.mode == "pir"], known)
    room_ids = {room for r in readers.values() for room in r.rooms_ever()}
    sessions = sessions_in_rooms_on_days(room_ids, days)
    rooms = _rooms(readers, sessions)
    existing = _door_visits(set(since))
    places = {code: place for code, (_, place) in rooms.items()}
    model = travel_model()

    creates, updates, deletes = [], [], []
    findings_by_day, unknown_then = {}, {}
    registered = {uid: c.registered_at for uid, c in cards.items() if c.registered_at}
    for (student, day), moment in sorted(since.items(), key=lambda item: item[0]):
        day_taps = taps.get((student, day), [])
        old = existing.get((student, day), [])
        start = None
        if moment is not None:
            before = [t for t in day_taps if t.ts < moment]
            start = checkpoint([_span_of(v) for v in old], before, moment)
            old = [v for v in old if v.left_at is None or v.left_at >= moment]
        plan = plan_day(replayed[(student, day)], motions, _frame(day, sessions), now, start)
        outcome.verdicts.update(plan.verdicts)
        fresh = plan.visits[len(start.finished) if start else 0 :]
        c, u, d, changed = _diff(student, old, fresh, rooms)
        creates += c
        updates += u
        deletes += d
        for span in changed:
            outcome.record_pairs |= _pairs_overlapping(student, span, sessions, now)
        findings_by_day[(student, day)] = impossible_travel_findings(
            accepted_taps(day_taps), places, model
        )
        unknown_then[(student, day)] = registered_after_tap_findings(day_taps, registered)
        if day_taps and _is_late(day_taps, new_keys):
            outcome.late_students.add(student)
        if day == local_day(now) and day_taps:
            outcome.moves.append(_where_now(student, plan.visits, day_taps))

    Visit.objects.filter(id__in=deletes).delete()
    Visit.objects.bulk_create(creates)
    save_changed(Visit, updates, ["left_at", "closed_by_system", "close_reason"])
    outcome.record_pairs |= flag_store.replace_day_findings(
        IMPOSSIBLE_TRAVEL, findings_by_day, rooms, sessions
    )
    if registered:  # only cards tapped before they were registered can have such flags
        outcome.record_pairs |= flag_store.replace_day_findings(
            REGISTERED_AFTER_TAP, unknown_then, rooms, sessions
        )
    return outcome


def _from(day_taps: list[Tap], moment: datetime | None) -> list[Tap]:
    return day_taps if moment is None else [t for t in day_taps if t.ts >= moment]


def _motions_for(pir_taps: list[Tap], known: Neighbourhood | None) -> dict[str, list[Motion]]:
    """Motion around these taps: from what the caller loaded, querying only what it lacks."""
    motions: dict[str, list[Motion]] = defaultdict(list)
    missing = []
    for tap in pir_taps:
        lo, hi = tap.ts - PIR_ORDER_WINDOW, tap.ts + PIR_ORDER_WINDOW
        if known is None or not known.covers(tap.sender, lo, hi):
            missing.append((tap.sender, tap.ts))
    if known is not None:
        for sender, found in known.motions.items():
            motions[sender] += found
    if missing:
        for sender, found in motions_near(
            windows_around(missing, PIR_ORDER_WINDOW, PIR_ORDER_WINDOW)
        ).items():
            motions[sender] += found  # overlaps only repeat a motion: order is unaffected
    return motions


def _resolve(
    stored: list, cards: dict[str, CardInfo], readers: dict[str, ReaderInfo], wanted: set
) -> dict[StudentDay, list[Tap]]:
    taps: dict[StudentDay, list[Tap]] = defaultdict(list)
    for row in stored:
        card, reader = cards.get(row.uid), readers.get(row.sender)
        owner = card.owner_at(row.ts) if card is not None else None
        if owner is None or reader is None:
            continue
        key = (owner.student_id, local_day(row.ts))
        if key not in wanted:
            continue
        where = reader.at(row.ts)  # the room and mode the reader had then
        taps[key].append(
            Tap(
                key=EventKey(row.ts, row.sender, row.event_id),
                uid=row.uid,
                student=owner.student_id,
                room=where.room,
                mode=where.mode,  # type: ignore[arg-type]
                debounce_s=reader.debounce_s,
                reported_dir=row.reported_dir,  # type: ignore[arg-type]
            )
        )
    return taps


def _rooms(
    readers: dict[str, ReaderInfo], sessions: list[SessionRow]
) -> dict[str, tuple[int, Place]]:
    """Room code -> (id, place) for every room the batch can touch."""
    ids = {room for r in readers.values() for room in r.rooms_ever()}
    ids |= {s.room_id for s in sessions}
    return {code: (pk, place) for pk, (code, place) in rooms_by_id(ids).items()}


def _frame(day: date, sessions: list[SessionRow]) -> DayFrame:
    lo, hi = day_bounds(day)
    last_end: dict[str, datetime] = {}
    for s in sessions:
        if lo <= s.info.starts_at < hi:
            last_end[s.room] = max(last_end.get(s.room, s.info.ends_at), s.info.ends_at)
    return DayFrame(day_end=hi, last_session_end=last_end)


@dataclass(frozen=True)
class HeldVisit:
    """A stored door visit, as plain values (loading model instances costs more)."""

    id: int
    room: str
    room_id: int
    entered_at: datetime
    left_at: datetime | None
    closed_by_system: bool
    close_reason: str


def _door_visits(student_days: set[StudentDay]) -> dict[StudentDay, list[HeldVisit]]:
    by_day: dict[date, set[int]] = defaultdict(set)
    for student, day in student_days:
        by_day[day].add(student)
    query = Q()
    for day, students in by_day.items():
        lo, hi = day_bounds(day)
        query |= Q(student_id__in=students, entered_at__gte=lo, entered_at__lt=hi)
    found: dict[StudentDay, list[HeldVisit]] = defaultdict(list)
    rows = Visit.objects.filter(query, source=VisitSource.DOOR).values_list(
        "student_id", "id", "room__code", "room_id", "entered_at", "left_at",
        "closed_by_system", "close_reason",
    )  # fmt: skip
    for student, pk, room, room_id, entered, left, by_system, reason in rows:
        visit = HeldVisit(pk, room, room_id, entered, left, by_system, reason)
        key = (student, local_day(visit.entered_at))
        if key in student_days:
            found[key].append(visit)
    return found


def _diff(
    student: int, old: list[HeldVisit], new: list[VisitSpan], rooms: dict[str, tuple[int, Place]]
) -> tuple[list[Visit], list[Visit], list[int], list[VisitSpan]]:
    """Creates, updates, deletes, and every span (old or new form) that changed."""
    by_start = {(v.room, v.entered_at): v for v in old}
    creates: list[Visit] = []
    updates: list[Visit] = []
    changed: list[VisitSpan] = []
    for span in new:
        held = by_start.pop((span.room, span.entered_at), None)
        if held is not None and (held.left_at, held.closed_by_system, held.close_reason) == (
            span.left_at, span.closed_by_system, span.close_reason,
        ):  # fmt: skip
            continue
        row = Visit(
            id=held.id if held else None,
            student_id=student,
            room_id=rooms[str(span.room)][0],
            entered_at=span.entered_at,
            left_at=span.left_at,
            source=VisitSource.DOOR,
            closed_by_system=span.closed_by_system,
            close_reason=span.close_reason,
        )
        (updates if held else creates).append(row)
        changed.append(span)
        if held:
            changed.append(_span_of(held))
    gone = list(by_start.values())
    changed += [_span_of(v) for v in gone]
    return creates, updates, [v.id for v in gone], changed


def _span_of(visit: HeldVisit) -> VisitSpan:
    return VisitSpan(visit.room, visit.entered_at, visit.left_at)


def _pairs_overlapping(
    student: int, span: VisitSpan, sessions: list[SessionRow], now: datetime
) -> set[Pair]:
    """Sessions in the span's room whose window (with the early minutes) the span touches."""
    left = span.left_at or max(now, span.entered_at)
    pairs = set()
    for s in sessions:
        early = timedelta(minutes=s.info.policy.early_minutes)
        if (
            s.room == span.room
            and span.entered_at <= s.info.ends_at
            and left >= (s.info.starts_at - early)
        ):
            pairs.add((s.id, student))
    return pairs


def _is_late(day_taps: list[Tap], new_keys: AbstractSet[EventKey]) -> bool:
    """A new tap older than one already held: the day was revised, not just extended."""
    mine = [t.key for t in day_taps if t.key in new_keys]
    return bool(mine) and any(t.key > min(mine) and t.key not in new_keys for t in day_taps)


def _where_now(student: int, visits: list[VisitSpan], day_taps: list[Tap]) -> Move:
    basis = max(t.ts for t in day_taps)
    last = visits[-1] if visits else None
    if last is not None and last.left_at is None:
        return Move(student, str(last.room), last.entered_at, basis)
    return Move(student, None, None, basis)
