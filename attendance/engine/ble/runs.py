"""One phone's day taken forward in a batch: from a checkpoint, through the reports after it.

A *run* resumes the tracker (beacons.presence) and the recent reads (recent.py) from a
checkpoint, or the day's start, takes in every stored report after it in event-time order
(ties by event id), and leaves a checkpoint after the last report of each slot it passes.
The stays it closes, and the one still going, are what it may change; the stays closed
before its checkpoint were saved by earlier batches and are not its to touch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from attendance.engine.ble.checkpoints import Resume, slot_of, snapshot
from attendance.engine.ble.evidence import BeaconBook
from attendance.engine.ble.trust import read_received
from beacons.models import PresenceCheckpoint
from beacons.presence import PresenceInterval, ScanWindow
from beacons.sightings import ReadReport
from beacons.spoofing import Flag
from beacons.spoofing.late import is_late
from devices.models import EventType, RawEvent, SenderKind

# A window reaches back at most this far from its report's ts (a stay may begin there).
WINDOW_REACH = timedelta(seconds=600)
# Runs whose starting points lie this close share one range query; older ones get their own.
SHARED_SPAN = timedelta(minutes=30)

ReportRow = tuple[datetime, str, dict, datetime]  # (ts, event id, payload, received_at)


@dataclass
class PhoneRun:
    phone: Any  # segments.PhoneInfo
    resume: Resume
    day_start: datetime
    day_end: datetime
    setup: str
    # Filled by take_in:
    rows: list[ReportRow] = field(default_factory=list)
    reads: list[ReadReport] = field(default_factory=list)  # every report taken in, late too
    windows: list[ScanWindow] = field(default_factory=list)  # those taken in as presence
    found: list[Flag] = field(default_factory=list)  # flags found while taking them in
    closed: list[PresenceInterval] = field(default_factory=list)
    current: PresenceInterval | None = None
    snapshots: list[PresenceCheckpoint] = field(default_factory=list)

    def __post_init__(self) -> None:
        r = self.resume
        self.started_at = r.at  # None: from the day's start
        self.started_id = r.event_id
        self.kept = r.last_closed  # saved before this run: never replaced by it
        self.stay_start = r.tracker.stay_start  # the stay going on at the checkpoint
        self.context = list(r.recent.windows)  # the windows before this run's
        self.context_full = r.recent.full
        self.horizon = self._horizon()

    def _horizon(self) -> datetime:
        """Stored visits entered at or after this are this run's to replace."""
        r = self.resume
        if r.at is None:
            return self.day_start
        if self.stay_start is not None:
            return max(self.stay_start, self.day_start)
        earliest = r.at - WINDOW_REACH
        if r.tracker.last_end is not None:
            earliest = max(earliest, r.tracker.last_end)
        # A stay the pending candidate begins is backdated to its first window, which slow
        # rooms (more enter windows, longer gaps) can put further back than one window.
        if r.tracker.candidate_start is not None:
            earliest = min(earliest, r.tracker.candidate_start)
        return max(earliest, self.day_start)

    @property
    def start(self) -> datetime:
        return self.started_at or self.day_start

    @property
    def last(self) -> datetime:
        """The ts of the last report taken in, by this run or before it."""
        return self.rows[-1][0] if self.rows else self.start

    @property
    def intervals(self) -> list[PresenceInterval]:
        """What this run may change: the stays it closed and the one still going."""
        return self.closed + ([self.current] if self.current is not None else [])

    def is_after_start(self, ts: datetime, event_id: str) -> bool:
        if self.started_at is None:
            return self.day_start <= ts < self.day_end
        return (ts, event_id) > (self.started_at, self.started_id) and ts < self.day_end


def take_in(
    run: PhoneRun, book: BeaconBook, now: datetime, offline: timedelta, silence: timedelta
) -> None:
    """Feed the run's rows (sorted) through its tracker; checkpoint each slot's last report
    taken as presence. Never at a late one: a report dated hours ahead (a wrong clock, a
    hostile phone) would become the phone's head, and every in-order report after it would
    look out of order and replay the day."""
    tracker, recent = run.resume.tracker, run.resume.recent
    rows = run.rows
    fed: tuple[datetime, str] | None = None  # the slot's last report taken as presence
    for i, (ts, event_id, payload, received) in enumerate(rows):
        read = read_received(book.directory, payload, ts, received)
        run.reads.append(read)
        if not read.late:  # a late report is evidence, never presence by itself
            tracker.feed(read.window)
            run.windows.append(read.window)
            run.found += recent.push(run.phone.phone_id, read.window, silence)
            fed = (ts, event_id)
        if i + 1 == len(rows) or slot_of(rows[i + 1][0]) != slot_of(ts):
            _take_closed(run)
            if fed is not None:
                run.snapshots.append(snapshot(run.phone.pk, run.resume, *fed, run.setup))
            fed = None
    _take_closed(run)
    run.current = tracker.current(now)


def _take_closed(run: PhoneRun) -> None:
    closed = run.resume.tracker.take_closed()
    if closed:
        run.closed += closed
        run.resume.last_closed = closed[-1]


def shared_ranges(items: Sequence[tuple[Any, datetime, datetime]], field_name: str, key: str) -> Q:
    """A filter for (key value, from, to) items: one range for those starting within
    SHARED_SPAN of the latest start (OR'd clauses cost more to plan than the few extra rows
    a shared range reads; callers keep only their own), and a clause of its own for each
    item starting earlier (a report from a phone's offline buffer, a day replayed)."""
    if not items:
        return Q(pk__in=[])
    latest = max(lo for _, lo, _ in items)
    near = [i for i in items if i[1] >= latest - SHARED_SPAN]
    query = Q(
        **{f"{key}__in": {k for k, _, _ in near}},
        **{f"{field_name}__gte": min(lo for _, lo, _ in near)},
        **{f"{field_name}__lt": max(hi for _, _, hi in near)},
    )
    for k, lo, hi in items:
        if lo < latest - SHARED_SPAN:
            query |= Q(**{key: k, f"{field_name}__gte": lo, f"{field_name}__lt": hi})
    return query


def load_rows(runs: Sequence[PhoneRun], stored: Sequence[RawEvent] = ()) -> None:
    """Each run's stored reports after its starting point, in event-time order.

    A run resumed from its phone's head needs only the reports this batch has just stored
    (`stored`): every earlier batch took its own reports in under the phone's lock, moving
    the head past them, so no stored report after the head is another batch's. (A late
    report older than the head resumes nothing, and a report of a phone not registered
    then has no checkpoint, so its phone's first run reads the day.) The others (replayed
    from before the head, or from the day's start) read theirs back."""
    just_stored: dict[str, list[ReportRow]] = defaultdict(list)
    for e in stored:
        if e.sender_kind == SenderKind.PHONE and e.type == EventType.BLE:
            body = e.payload if isinstance(e.payload, dict) else {}
            just_stored[e.sender].append((e.ts, e.event_id, body, e.received_at))
    reading = []
    for run in runs:
        if run.resume.from_head and run.started_at is not None:
            run.rows = [r for r in just_stored.get(run.phone.phone_id, ())
                        if run.is_after_start(r[0], r[1])]  # fmt: skip
        else:
            reading.append(run)
    if reading:
        _read_rows(reading)
    for run in runs:
        run.rows.sort(key=lambda r: (r[0], r[1]))  # event time, then id: one order for ties


def _read_rows(runs: Sequence[PhoneRun]) -> None:
    by_phone: dict[str, list[PhoneRun]] = defaultdict(list)
    for run in runs:
        by_phone[run.phone.phone_id].append(run)
    query = shared_ranges([(r.phone.phone_id, r.start, r.day_end) for r in runs], "ts", "sender")
    rows = RawEvent.objects.filter(
        query, sender_kind=SenderKind.PHONE, type=EventType.BLE
    ).values_list("sender", "ts", "event_id", "payload", "received_at")
    for phone, ts, event_id, payload, received in rows:
        for run in by_phone[phone]:
            if run.is_after_start(ts, event_id):
                body = payload if isinstance(payload, dict) else {}
                run.rows.append((ts, event_id, body, received))
                break


def late_reports_at(
    moments: Sequence[tuple[str, datetime]], offline: timedelta
) -> tuple[dict[str, list[ReportRow]], set[tuple[str, datetime]]]:
    """Of these (phone, moment) pairs older than their phone's checkpoint, the stored late
    reports at exactly those times, and the pairs that are nothing but late reports (they
    change no presence, so they resume nothing: their reports are judged on their own)."""
    if not moments:
        return {}, set()
    wanted = set(moments)
    rows = RawEvent.objects.filter(
        sender__in={p for p, _ in moments},
        ts__in={at for _, at in moments},
        sender_kind=SenderKind.PHONE,
        type=EventType.BLE,
    ).values_list("sender", "ts", "event_id", "payload", "received_at")
    late: dict[str, list[ReportRow]] = defaultdict(list)
    presence: set[tuple[str, datetime]] = set()
    for phone, ts, event_id, payload, received in rows:
        if (phone, ts) not in wanted:
            continue
        if is_late(ts, received, offline):
            late[phone].append(
                (ts, event_id, payload if isinstance(payload, dict) else {}, received)
            )
        else:
            presence.add((phone, ts))
    only_late = {(p, ts) for p, rows_ in late.items() for ts, *_ in rows_} - presence
    return late, only_late


def late_reads(rows: Sequence[ReportRow], book: BeaconBook) -> list[ReadReport]:
    return [
        read_received(book.directory, payload, ts, received)
        for ts, _, payload, received in sorted(rows, key=lambda r: (r[0], r[1]))
    ]
