"""Several cards tapped at one door with one person seen: who judges which tap, and when.

A tap's finding depends on taps within the window and motion within twice the window, so
an event at t can change the findings of taps within 2 * window of t. Live taps are judged
once, by the ingest tick's pass, when they are SETTLE_DELAY old: by then every event near
them has arrived and been committed, whichever ingest worker took it, and one pass reads
each event once. Judging in every batch instead reloaded a busy door's last 40 seconds
with each new event, and could miss the other worker's events not yet committed.

An event that arrives late (a reader replaying its buffer) may change taps a pass has
already judged; its batch judges those again itself, holding the pass's cursor row so
that the two never judge the same taps at once and the next pass sees the late event.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import connection

from attendance.engine import flags as flag_store
from attendance.engine.days import local_day
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
from attendance.models import EngineCursor
from attendance.rules.door import Motion
from attendance.rules.evidence import EventKey
from attendance.rules.proxy import (
    MULTI_CARD,
    MULTI_CARD_WINDOW,
    Place,
    ReaderTap,
    multi_card_findings,
)
from devices.models import Reader

Pair = tuple[int, int]
T = TypeVar("T")

# Stored events within this of a late event are what judging its neighbours needs: taps
# within 2 windows of it, each with the taps and motion within 2 windows of itself.
NEIGHBOURHOOD = 4 * MULTI_CARD_WINDOW
# A live tap is judged by the pass once it is this old. Readers publish as they see; this
# leaves 2 windows for the events after the tap and 20 s for them to arrive and commit.
SETTLE_DELAY = timedelta(seconds=30)
# An event at least this old when its batch is judged may touch a tap a pass has judged
# (the pass stays SETTLE_DELAY behind the clock; 10 s spare covers a slow batch).
LATE_EVENT_AGE = SETTLE_DELAY - 2 * MULTI_CARD_WINDOW - timedelta(seconds=10)
# A slice judges about this many taps at most (with every tap at the last one's moment):
# the ingest runs slices between its batches, so each must be a short pause.
SLICE_TAPS = 300
# The first pass on a new database starts this far back; older taps were judged as late.
FIRST_PASS_LOOKBACK = timedelta(minutes=10)
CURSOR = "multi_card"


@dataclass(frozen=True)
class Slice:
    pairs: set[Pair]  # the record pairs whose flags changed
    behind: bool  # more settled taps wait: run the next slice soon


def judge_settled_slice(now: datetime) -> Slice:
    """One slice of the pass: judge the next settled taps after the cursor. Call inside a
    transaction. Judges nothing if another worker's pass (or a late batch) holds the
    cursor."""
    cursor = _cursor(now)
    if cursor is None:
        return Slice(set(), behind=False)
    lo, settled = cursor.position, now - SETTLE_DELAY
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
    return Slice(pairs, behind=hi < settled)


@dataclass(frozen=True)
class LateEvents:
    """A batch's late (reader, moment) events, with the pass held off until it commits."""

    moments: list[tuple[str, datetime]]
    judged_up_to: datetime

    def rejudge(self) -> set[Pair]:
        """Judge again the already judged taps near these events; the record pairs
        touched. Call after the batch's visits are saved."""
        return rejudge_multi_card(self.moments, up_to=self.judged_up_to)


def claim_late_events(events: Iterable[tuple[str, datetime]], now: datetime) -> LateEvents | None:
    """The late events among a batch's (reader, moment) events, if any, claimed for
    re-judging. Call first thing in the batch's transaction, after its events are stored:
    it shares the pass's cursor (a pass waits for the batch to commit, and so sees its
    events) and locks the readers (two batches never judge one door's taps at once)."""
    late = [(sender, at) for sender, at in events if at <= now - LATE_EVENT_AGE]
    if not late:
        return None
    position = _shared_cursor_position(now)
    senders = sorted({sender for sender, _ in late})
    list(
        Reader.objects.select_for_update()
        .filter(device_id__in=senders)
        .order_by("device_id")
        .values_list("id")
    )
    return LateEvents(late, position)


def rejudge_multi_card(
    events: Iterable[tuple[str, datetime]], up_to: datetime | None = None
) -> set[Pair]:
    """Judge again the taps (up to `up_to`) near these (reader, moment) events."""
    events = list(events)
    window = MULTI_CARD_WINDOW
    near = neighbourhood(windows_around(events, NEIGHBOURHOOD, NEIGHBOURHOOD))
    near_new = windows_around(events, 2 * window, 2 * window)
    about = [
        t
        for t in near.taps
        if (up_to is None or t.ts <= up_to)
        and any(lo <= t.ts <= hi for lo, hi in near_new.get(t.sender, ()))
    ]
    return _judge(_with_company(near.taps, about, window), near.taps, near.motions)


def _cursor(now: datetime) -> EngineCursor | None:
    """The pass's cursor row, locked for this transaction; None if another pass or a late
    batch holds it (this pass then skips its turn)."""
    skip = connection.features.has_select_for_update_skip_locked
    cursor = EngineCursor.objects.select_for_update(skip_locked=skip).filter(name=CURSOR).first()
    if cursor is not None:
        return cursor
    if skip and EngineCursor.objects.filter(name=CURSOR).exists():
        return None  # held by someone else (a plain read does not wait for the lock)
    _create_cursor(now)
    return EngineCursor.objects.select_for_update().filter(name=CURSOR).first()


def _shared_cursor_position(now: datetime) -> datetime:
    """The pass's position, read under a shared lock held until this transaction ends:
    late batches do not hold each other up, and a pass waits for them."""
    table = connection.ops.quote_name(EngineCursor._meta.db_table)
    lock = {"mysql": " LOCK IN SHARE MODE", "postgresql": " FOR SHARE"}.get(connection.vendor, "")
    sql = f"SELECT * FROM {table} WHERE name = %s{lock}"  # noqa: S608 (a table name only)
    for _ in range(2):
        found = list(EngineCursor.objects.raw(sql, [CURSOR]))
        if found:
            return found[0].position
        _create_cursor(now)
    raise RuntimeError("the multi-card cursor could not be created")


def _create_cursor(now: datetime) -> None:
    """Where the first pass starts; older taps were judged as late events."""
    start = now - SETTLE_DELAY - FIRST_PASS_LOOKBACK
    EngineCursor.objects.bulk_create(
        [EngineCursor(name=CURSOR, position=start)], ignore_conflicts=True
    )


def _judge(
    crowded: list[StoredTap], taps: list[StoredTap], motions: dict[str, list[Motion]]
) -> set[Pair]:
    """Judge the crowded taps from `taps` and `motions` (covering 2 windows around each of
    them) and replace their findings; the record pairs touched."""
    if not crowded:
        return set()  # no tap has another card near it: nothing can be flagged or unflagged
    window = MULTI_CARD_WINDOW
    keys = {f"{MULTI_CARD}:{t.sender}/{t.event_id}" for t in crowded}
    readers = readers_by_device({t.sender for t in crowded})
    cards = cards_by_uid({t.uid for t in taps if t.sender in readers})
    per_reader: dict[str, list[ReaderTap]] = defaultdict(list)
    for t in taps:
        card = cards.get(t.uid)
        if t.sender in readers and card is not None and card.counts_at(t.ts):
            per_reader[t.sender].append(
                ReaderTap(EventKey(t.ts, t.sender, t.event_id), t.uid, card.student_id)
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
