"""BLE presence from stored phone reports: the Django side of beacons.presence.

A phone's reports fall into *segments*: runs of reports with no silence longer than the
tracker's `silence_timeout` between them, within one local day. After such a silence the
pure tracker holds nothing (its stay is closed, its smoothing history and candidate are
cleared), so each segment's presence depends on that segment's reports alone. A batch
names moments (a new report, or a card tap of the phone's owner); every segment holding
one is replayed from all of its stored reports in event-time order and its student's `ble`
visits in that span are replaced. So a late report revises exactly what it affects, and any
order or repetition of the same reports gives the same visits and the same flags.

Queries are per batch: phones, beacons, report times, report payloads, visits and flags
each in one go, whatever the number of reports.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from django.db.models import Q

from attendance.days import day_bounds, local_day
from attendance.engine.ble.evidence import BeaconBook, load_beacon_book, update_beacon_health
from attendance.engine.ble.flags import SegmentEvidence, replace_segment_flags
from attendance.engine.ble.replay_cache import CachedRun, cache, digest
from attendance.engine.ble.revisions import late_among
from attendance.engine.ble.trust import read_received
from attendance.engine.loading import SessionRow, memoised, sessions_in_rooms_on_days
from attendance.models import Visit, VisitSource
from beacons.models import Phone
from beacons.presence import PresenceConfig, PresenceInterval, PresenceTracker, ScanWindow
from devices.models import EventType, RawEvent, SenderKind

PRESENCE = PresenceConfig()
Pair = tuple[int, int]  # (session id, student id)


@dataclass(frozen=True)
class PhoneInfo:
    phone_id: str
    student_id: int
    rssi_offset_db: int


@dataclass(frozen=True)
class Segment:
    phone: str
    day: date
    first: datetime  # first report's ts
    last: datetime  # last report's ts


@dataclass
class BleOutcome:
    record_pairs: set[Pair] = field(default_factory=set)
    # (student id, room or None, since, basis): where BLE places a student now.
    moves: list[tuple[int, str | None, datetime | None, datetime]] = field(default_factory=list)
    segments: int = 0
    windows: int = 0
    # phone id -> student: a late report of this phone changed what follows (a revision).
    late: dict[str, int] = field(default_factory=dict)


def phone_moments(events: Iterable[RawEvent]) -> list[tuple[str, datetime]]:
    return [
        (e.sender, e.ts)
        for e in events
        if e.sender_kind == SenderKind.PHONE and e.type == EventType.BLE
    ]


def moments_of_taps(student_taps: Iterable[tuple[int, datetime]]) -> list[tuple[str, datetime]]:
    """A card tap can contradict (or explain) the owner's phone: replay the phone there too."""
    student_taps = list(student_taps)
    if not student_taps:
        return []
    phones = memoised("phones_of_students", {s for s, _ in student_taps}, _active_phones)
    return [(phones[s], at) for s, at in student_taps if s in phones]


def _active_phones(student_ids: set[int]) -> dict[int, str]:
    return dict(
        Phone.objects.filter(student_id__in=student_ids, active=True).values_list(
            "student_id", "phone_id"
        )
    )


def apply_phone_evidence(moments: Sequence[tuple[str, datetime]], now: datetime) -> BleOutcome:
    """Replay the segments holding these (phone id, moment) pairs; save visits and flags."""
    outcome = BleOutcome()
    if not moments:
        return outcome
    phones = _phones({p for p, _ in moments})
    moments = [(p, at) for p, at in moments if p in phones]
    if not moments:
        return outcome
    segments, keys = _segments_holding(moments)
    if not segments:
        return outcome
    book = load_beacon_book()
    presence = replace(PRESENCE, rooms=book.room_thresholds)  # the rooms' own thresholds
    new_moments: dict[str, set[datetime]] = defaultdict(set)
    for p, at in moments:
        new_moments[p].add(at)
    resumed: dict[Segment, CachedRun] = {}
    for seg in segments:
        run = cache.resumable(seg.phone, seg.first, keys[seg], _setup(book, phones[seg.phone]))
        if run is not None:
            resumed[seg] = run
    reports = _reports(segments, {seg: run.last for seg, run in resumed.items()})
    days = {s.day for s in segments}
    sessions = sessions_in_rooms_on_days(book.room_ids.values(), days)
    existing = _ble_visits(segments, phones)
    creates: list[Visit] = []
    deletes: list[int] = []
    evidence: list[SegmentEvidence] = []
    seen_beacons: dict[int, datetime] = {}
    for segment in segments:
        phone = phones[segment.phone]
        run = resumed.get(segment)
        fresh = [
            read_received(book.directory, payload, ts, received)
            for ts, _, payload, received in reports.get(segment, [])
        ]
        tracker = (
            run.tracker if run else PresenceTracker(book.places, phone.rssi_offset_db, presence)
        )
        for r in fresh:
            if not r.late:  # a late report is evidence, never presence by itself
                tracker.feed(r.window)
        read = (run.reads if run else []) + fresh
        if late_among(read, new_moments[segment.phone]):
            outcome.late[segment.phone] = phone.student_id
        intervals = tracker.finish(now)
        setup = _setup(book, phone)
        cache.keep(
            segment.phone,
            CachedRun(
                segment.first, keys[segment][-1], digest(keys[segment]), setup, tracker, read
            ),
        )
        windows = [r.window for r in read]
        outcome.segments += 1
        outcome.windows += len(fresh)
        for r in fresh:
            for s in r.window.sightings:
                at = r.window.at
                seen_beacons[s.beacon_id] = max(seen_beacons.get(s.beacon_id, at), at)
        lo, hi = _span(segment, windows)
        old = existing.get(segment, [])
        c, d, changed = _diff(phone.student_id, old, intervals, book)
        creates += c
        deletes += d
        for room, start, end in changed:
            outcome.record_pairs |= _pairs_overlapping(
                phone.student_id, room, start, end, sessions, now
            )
        evidence.append(SegmentEvidence(segment.phone, phone, lo, hi, read, intervals, fresh=fresh))
        if segment.day == local_day(now):
            outcome.moves.append(_where_now(phone.student_id, intervals, segment.last))
    Visit.objects.filter(id__in=deletes).delete()
    Visit.objects.bulk_create(creates)
    outcome.record_pairs |= replace_segment_flags(evidence, book, sessions)
    update_beacon_health(book, seen_beacons, reports.values())
    return outcome


# -- loading ----------------------------------------------------------------------------------


def students_of_phones(phone_ids: Iterable[str]) -> set[int]:
    """The students whose phones these are: the writer locks them before replaying."""
    return {info.student_id for info in _phones(set(phone_ids)).values()}


def _phones(phone_ids: set[str]) -> dict[str, PhoneInfo]:
    return memoised("phones", phone_ids, _load_phones)


def _load_phones(phone_ids: set[str]) -> dict[str, PhoneInfo]:
    rows = Phone.objects.filter(phone_id__in=phone_ids).values_list(
        "phone_id", "student_id", "rssi_offset_db"
    )
    return {p: PhoneInfo(p, s, o) for p, s, o in rows}


def _day_query(phone_days: dict[str, set[date]]) -> Q:
    """One range over every phone: hundreds of OR'd clauses cost more to build and plan
    than the few extra rows a shared range reads (the caller keeps only its own days)."""
    bounds = [day_bounds(day) for days in phone_days.values() for day in days]
    return Q(
        sender__in=set(phone_days),
        ts__gte=min(lo for lo, _ in bounds),
        ts__lt=max(hi for _, hi in bounds),
    )


def _segments_holding(
    moments: Sequence[tuple[str, datetime]],
) -> tuple[list[Segment], dict[Segment, list[tuple[datetime, str]]]]:
    """The segments of the phones' days (from their report times alone) holding a moment,
    with each segment's stored reports as sorted (ts, event id) keys."""
    phone_days: dict[str, set[date]] = defaultdict(set)
    for phone, at in moments:
        phone_days[phone].add(local_day(at))
    times: dict[tuple[str, date], list[tuple[datetime, str]]] = defaultdict(list)
    rows = RawEvent.objects.filter(
        _day_query(phone_days), sender_kind=SenderKind.PHONE, type=EventType.BLE
    ).values_list("sender", "ts", "event_id")
    for phone, ts, event_id in rows:
        if local_day(ts) in phone_days[phone]:
            times[(phone, local_day(ts))].append((ts, event_id))
    found: dict[Segment, list[tuple[datetime, str]]] = {}
    wanted: dict[tuple[str, date], list[datetime]] = defaultdict(list)
    for phone, at in moments:
        wanted[(phone, local_day(at))].append(at)
    for (phone, day), points in wanted.items():
        for run in _runs(sorted(times.get((phone, day), []))):
            first, last = run[0][0], run[-1][0]
            # A tap just outside a run still bears on it (the phone may have left for it).
            slack = PRESENCE.silence_timeout
            if any(first - slack <= at <= last + slack for at in points):
                found[Segment(phone, day, first, last)] = run
    segments = sorted(found, key=lambda s: (s.phone, s.first))
    return segments, found


def _runs(keys: list[tuple[datetime, str]]) -> list[list[tuple[datetime, str]]]:
    runs: list[list[tuple[datetime, str]]] = []
    for key in keys:
        if runs and key[0] - runs[-1][-1][0] <= PRESENCE.silence_timeout:
            runs[-1].append(key)
        else:
            runs.append([key])
    return runs


def _setup(book: BeaconBook, phone: PhoneInfo) -> tuple:
    return (book.setup, phone.rssi_offset_db)


def _reports(
    segments: list[Segment], after: dict[Segment, tuple[datetime, str]]
) -> dict[Segment, list[tuple[datetime, str, dict, datetime]]]:
    """Each segment's reports in event-time order (ties by id), or only those after the
    (ts, event id) a resumed replay already fed."""
    # One shared range (see _day_query); rows outside a phone's own span are skipped below.
    query = Q(
        sender__in={s.phone for s in segments},
        ts__gte=min(after[s][0] if s in after else s.first for s in segments),
        ts__lte=max(s.last for s in segments),
    )
    found: dict[Segment, list[tuple[datetime, str, dict, datetime]]] = defaultdict(list)
    by_phone: dict[str, list[Segment]] = defaultdict(list)
    for s in segments:
        by_phone[s.phone].append(s)
    rows = RawEvent.objects.filter(
        query, sender_kind=SenderKind.PHONE, type=EventType.BLE
    ).values_list("sender", "ts", "event_id", "payload", "received_at")
    for phone, ts, event_id, payload, received in rows:
        for s in by_phone[phone]:
            if s.first <= ts <= s.last and (s not in after or (ts, event_id) > after[s]):
                body = payload if isinstance(payload, dict) else {}
                found[s].append((ts, event_id, body, received))
    for rows_ in found.values():
        rows_.sort(key=lambda r: (r[0], r[1]))  # event time, then id: one order for ties
    return found


def _span(segment: Segment, windows: list[ScanWindow]) -> tuple[datetime, datetime]:
    lo = min((w.start for w in windows), default=segment.first)
    return min(lo, segment.first), segment.last


# -- visits -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldBleVisit:
    id: int
    room: str
    entered_at: datetime
    left_at: datetime | None
    confidence: float | None


def _ble_visits(
    segments: list[Segment], phones: dict[str, PhoneInfo]
) -> dict[Segment, list[HeldBleVisit]]:
    """The student's stored ble visits that began within each segment's span."""
    reach = timedelta(seconds=600)  # a window reaches back at most 600 s
    query = Q(
        student_id__in={phones[s.phone].student_id for s in segments},
        entered_at__gte=min(s.first for s in segments) - reach,
        entered_at__lte=max(s.last for s in segments),
    )
    rows = Visit.objects.filter(query, source=VisitSource.BLE).values_list(
        "student_id", "id", "room__code", "entered_at", "left_at", "confidence"
    )
    found: dict[Segment, list[HeldBleVisit]] = defaultdict(list)
    for student, pk, room, entered, left, confidence in rows:
        for s in segments:
            if phones[s.phone].student_id != student:
                continue
            if s.first - timedelta(seconds=600) <= entered <= s.last:
                found[s].append(HeldBleVisit(pk, room, entered, left, confidence))
                break
    return found


def _diff(
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


def _pairs_overlapping(
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


def _where_now(
    student: int, intervals: list[PresenceInterval], basis: datetime
) -> tuple[int, str | None, datetime | None, datetime]:
    last = intervals[-1] if intervals else None
    if last is not None and last.open:
        return (student, last.room, last.start, basis)
    return (student, None, None, basis)


def silent_phone_moments(now: datetime) -> list[tuple[str, datetime]]:
    """Open ble visits whose phone has gone quiet past the timeout: replay to close them."""
    quiet = now - PRESENCE.silence_timeout
    open_visits = dict(
        Visit.objects.filter(left_at__isnull=True, source=VisitSource.BLE).values_list(
            "student_id", "entered_at"
        )
    )
    if not open_visits:
        return []
    rows = Phone.objects.filter(student_id__in=open_visits, active=True).filter(
        Q(last_seen__isnull=True) | Q(last_seen__lt=quiet)
    )
    return [(p, open_visits[s]) for p, s in rows.values_list("phone_id", "student_id")]
