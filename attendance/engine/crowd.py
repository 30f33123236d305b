"""Several cards tapped at one door with one person seen: who judges which tap, and when.

A tap's finding depends on taps within the window and motion within twice the window, so
an event at t can change the findings of taps within 2 * window of t. All judging is done
by one pass at a time, in short slices the ingest runs between its batches (the cursor
row's lock, taken with SKIP LOCKED, makes the other workers skip their turn):

- Live taps are judged once, when they are SETTLE_DELAY old, from what is committed by
  then; each event is read once. Judging in every batch instead reloaded a busy door's
  last 40 seconds with each new event, and could miss the other worker's events not yet
  committed.
- An event that may change taps the pass has already judged (late: a reader replaying
  its buffer, or an ingest that fell behind) leaves a re-judge request for the windows
  around it, committed with the event; the pass takes requests in turn with moving its
  cursor on. Lateness is decided by the clock as the last thing before the batch
  commits: an event is late if it is LATE_EVENT_AGE old. The pass judges only taps that
  are SETTLE_DELAY old, so an event missed by both would have to take longer than the
  10 s spare between that decision and its commit (or the ingest hosts' clocks differ by
  that much).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import connection

from attendance.days import local_day
from attendance.engine import flags as flag_store
from attendance.engine.loading import (
    StoredTap,
    cards_by_uid,
    motions_near,
    neighbourhood,
    nth_tap_moment,
    readers_by_device,
    sessions_in_rooms_on_days,
    taps_between,
    windows_around,
)
from attendance.flag_kinds import MULTI_CARD
from attendance.models import EngineCursor, RejudgeRequest
from attendance.rules.door import Motion
from attendance.rules.evidence import EventKey
from attendance.rules.proxy import (
    MULTI_CARD_WINDOW,
    Place,
    ReaderTap,
    multi_card_findings,
)
from attendance.rules.records import merged_spans

Pair = tuple[int, int]
T = TypeVar("T")

# A live tap is judged by the pass once it is this old. Readers publish as they see; this
# leaves 2 windows for the events after the tap and 20 s for them to arrive and commit.
SETTLE_DELAY = timedelta(seconds=30)
# An event at least this old just before its batch commits may touch a tap a pass has
# judged (the pass stays SETTLE_DELAY behind the clock; 10 s spare covers the commit and
# clock differences between ingest hosts).
LATE_EVENT_AGE = SETTLE_DELAY - 2 * MULTI_CARD_WINDOW - timedelta(seconds=10)
# A slice judges about this many taps at most (with every tap at the last one's moment):
# the ingest runs slices between its batches, so each must be a short pause.
SLICE_TAPS = 300
SLICE_REQUESTS = 100  # re-judge requests a slice takes (each a window on one reader)
# The first pass on a new database starts this far back.
FIRST_PASS_LOOKBACK = timedelta(minutes=10)
CURSOR = "multi_card"
# Slices take turns between re-judge requests and moving the cursor on, so that neither a
# flood of late events nor a cursor far behind holds up the other.
_requests_turn = False


@dataclass(frozen=True)
class Slice:
    pairs: set[Pair]  # the record pairs whose flags changed
    behind: bool  # more settled taps wait: run the next slice soon


def judge_settled_slice(now: datetime) -> Slice:
    """One slice of the pass: the next re-judge requests, or the next settled taps after
    the cursor. Call inside a transaction. Judges nothing if another worker's pass holds
    the cursor."""
    cursor = _cursor(now)
    if cursor is None:
        return Slice(set(), behind=False)
    # A request whose window lies wholly after the cursor names only taps the cursor has
    # yet to reach, and its event is committed with it: the cursor will see the event.
    RejudgeRequest.objects.filter(lo__gt=cursor.position).delete()
    settled = now - SETTLE_DELAY
    global _requests_turn
    _requests_turn = not _requests_turn
    if _requests_turn or cursor.position >= settled:
        requests = list(RejudgeRequest.objects.order_by("id")[:SLICE_REQUESTS])
        if requests:
            return _rejudge_requested(requests, up_to=cursor.position)
    lo = cursor.position
    if settled <= lo:
        return Slice(set(), behind=False)
    last = nth_tap_moment(lo, settled, SLICE_TAPS)
    hi = last if last is not None else settled
    window = MULTI_CARD_WINDOW
    taps = taps_between(lo - window, hi + window)
    crowded = _with_company(taps, [t for t in taps if lo < t.ts <= hi], window)
    pairs = set()
    if crowded:
        # Motion only where a judged tap's group (taps within a window) may need it.
        around = windows_around(((t.sender, t.ts) for t in crowded), 2 * window, 2 * window)
        pairs = _judge(crowded, taps, motions_near(around))
    EngineCursor.objects.filter(pk=cursor.pk).update(position=hi, updated_at=now)
    return Slice(pairs, behind=hi < settled or RejudgeRequest.objects.exists())


def ask_to_rejudge(events: Iterable[tuple[str, datetime]], now: datetime) -> int:
    """Ask the pass to judge again the taps near those of a batch's (reader, moment) events
    that are late: old enough that the pass may have judged taps they change. Call last in
    the batch's transaction: the pass sees the request and the events together. Returns
    how many requests were written."""
    late = [(sender, at) for sender, at in events if at <= now - LATE_EVENT_AGE]
    if not late:
        return 0
    window = MULTI_CARD_WINDOW
    requests = [
        RejudgeRequest(reader=sender, lo=lo, hi=hi)
        for sender, ranges in windows_around(late, 2 * window, 2 * window).items()
        for lo, hi in ranges
    ]
    RejudgeRequest.objects.bulk_create(requests)
    return len(requests)


def _rejudge_requested(requests: list[RejudgeRequest], up_to: datetime) -> Slice:
    """Judge again the taps (up to the cursor; the pass judges later ones anyway) that the
    requests name, then drop the requests."""
    per_reader: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for r in requests:
        per_reader[r.reader].append((r.lo, r.hi))
    windows = {reader: merged_spans(ranges) for reader, ranges in per_reader.items()}
    pairs = _rejudge_windows(windows, up_to)
    RejudgeRequest.objects.filter(id__in=[r.id for r in requests]).delete()
    return Slice(pairs, behind=True)  # more requests, or the cursor's own work, may wait


def _rejudge_windows(
    windows: dict[str, list[tuple[datetime, datetime]]], up_to: datetime
) -> set[Pair]:
    """Judge again the taps (up to `up_to`) within these windows per reader."""
    window = MULTI_CARD_WINDOW
    context = {
        reader: [(lo - 2 * window, hi + 2 * window) for lo, hi in ranges]
        for reader, ranges in windows.items()
    }
    near = neighbourhood(context)
    about = [
        t
        for t in near.taps
        if t.ts <= up_to and any(lo <= t.ts <= hi for lo, hi in windows.get(t.sender, ()))
    ]
    return _judge(_with_company(near.taps, about, window), near.taps, near.motions)


def _cursor(now: datetime) -> EngineCursor | None:
    """The pass's cursor row, locked for this transaction; None if another worker's pass
    holds it (this one then skips its turn). A database without SKIP LOCKED (MariaDB
    before 10.6) waits for it instead."""
    skip = connection.features.has_select_for_update_skip_locked
    cursor = EngineCursor.objects.select_for_update(skip_locked=skip).filter(name=CURSOR).first()
    if cursor is not None:
        return cursor
    if skip and EngineCursor.objects.filter(name=CURSOR).exists():
        return None  # held by someone else (a plain read does not wait for the lock)
    _create_cursor(now)
    return EngineCursor.objects.select_for_update().filter(name=CURSOR).first()


def _create_cursor(now: datetime) -> None:
    """Where the first pass on a database starts (taps before it are judged only if a
    late event asks for it)."""
    start = now - SETTLE_DELAY - FIRST_PASS_LOOKBACK
    EngineCursor.objects.bulk_create(
        [EngineCursor(name=CURSOR, position=start)], ignore_conflicts=True
    )


def _judge(
    crowded: list[StoredTap], taps: list[StoredTap], motions: dict[str, list[Motion]]
) -> set[Pair]:
    """Judge the crowded taps from `taps` (covering a window around each of them) and
    `motions` (two windows) and replace their findings; the record pairs touched."""
    if not crowded:
        return set()  # no tap has another card near it: nothing can be flagged or unflagged
    window = MULTI_CARD_WINDOW
    keys = {f"{MULTI_CARD}:{t.sender}/{t.event_id}" for t in crowded}
    readers = readers_by_device({t.sender for t in crowded})
    cards = cards_by_uid({t.uid for t in taps if t.sender in readers})
    per_reader: dict[str, list[ReaderTap]] = defaultdict(list)
    for t in taps:
        card = cards.get(t.uid)
        owner = card.owner_at(t.ts) if card is not None else None
        if t.sender in readers and owner is not None:
            per_reader[t.sender].append(
                ReaderTap(EventKey(t.ts, t.sender, t.event_id), t.uid, owner.student_id)
            )
    findings = []
    judged: dict[str, list[EventKey]] = defaultdict(list)
    for t in crowded:
        judged[t.sender].append(EventKey(t.ts, t.sender, t.event_id))
    for sender, reader in readers.items():
        findings += multi_card_findings(
            sender, reader.room, per_reader[sender], motions.get(sender, []),
            judged[sender], window,
        )  # fmt: skip
    rooms = {r.room: (r.room_id, Place()) for r in readers.values()}
    lo, hi = min(t.ts for t in crowded), max(t.ts for t in crowded)
    # A session that a tap at lo..hi can belong to starts at most its early window later,
    # and no session is longer than a day.
    latest_start = hi + timedelta(hours=4)
    first_day, last_day = local_day(lo) - timedelta(days=1), local_day(latest_start)
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    sessions = [
        s
        for s in sessions_in_rooms_on_days({pk for pk, _ in rooms.values()}, days)
        if s.info.starts_at <= latest_start and s.info.ends_at > lo
    ]
    return flag_store.replace_keyed_findings(MULTI_CARD, keys, findings, rooms, sessions)


def _with_company(
    stored: list[StoredTap], about: list[StoredTap], window: timedelta
) -> list[StoredTap]:
    """The taps with a different card within the window: only they can hold a flag
    (events are never deleted, so a tap that once had company keeps it)."""
    by_reader: dict[str, list[StoredTap]] = defaultdict(list)
    for t in stored:
        by_reader[t.sender].append(t)
    for taps in by_reader.values():
        taps.sort(key=_tap_time)
    return [
        t
        for t in about
        if any(
            o.uid != t.uid
            for o in _between(by_reader[t.sender], t.ts - window, t.ts + window, _tap_time)
        )
    ]


def _tap_time(tap: StoredTap) -> datetime:
    return tap.ts


def _between(items: list[T], lo: datetime, hi: datetime, at: Callable[[T], datetime]) -> list[T]:
    """The items (sorted by `at`) with lo <= at <= hi."""
    return items[bisect_left(items, lo, key=at) : bisect_right(items, hi, key=at)]
