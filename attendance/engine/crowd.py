"""Several cards tapped at one door with one person seen: judged around each new event.

A tap's finding depends on taps within the window and motion within twice the window, so
a new tap or motion event at t can change the findings of taps within 2 * window of t;
those taps are judged again from everything stored within 4 * window (the batch's
neighbourhood, loaded once by the caller), and their findings replaced (keyed by the tap).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from attendance.engine import flags as flag_store
from attendance.engine.days import local_day
from attendance.engine.loading import (
    Neighbourhood,
    StoredTap,
    cards_by_uid,
    readers_by_device,
    sessions_in_rooms_on_days,
    windows_around,
)
from attendance.rules.evidence import EventKey
from attendance.rules.proxy import (
    MULTI_CARD,
    MULTI_CARD_WINDOW,
    Place,
    ReaderTap,
    multi_card_findings,
)

Pair = tuple[int, int]
T = TypeVar("T")


# How far around new events the batch loads its neighbourhood: enough for this rule
# (4 windows) and for the PIR order around taps near new motion (2 PIR windows).
NEIGHBOURHOOD = 4 * MULTI_CARD_WINDOW


def rejudge_multi_card(events: Iterable[tuple[str, datetime]], near: Neighbourhood) -> set[Pair]:
    """Re-judge the taps near these (reader, moment) events; the record pairs touched.

    `near` must hold the stored events within NEIGHBOURHOOD of them.
    """
    window = MULTI_CARD_WINDOW
    near_new = windows_around(events, 2 * window, 2 * window)
    about = [t for t in near.taps if any(lo <= t.ts <= hi for lo, hi in near_new.get(t.sender, ()))]
    crowded = _with_company(near.taps, about, window)
    if not crowded:
        return set()  # no tap has another card near it: nothing can be flagged or unflagged
    keys = {f"{MULTI_CARD}:{t.sender}/{t.event_id}" for t in crowded}
    readers = readers_by_device({t.sender for t in crowded})
    cards = cards_by_uid({t.uid for t in near.taps if t.sender in readers})
    per_reader: dict[str, list[ReaderTap]] = defaultdict(list)
    for t in near.taps:
        card = cards.get(t.uid)
        if card is not None and card.counts_at(t.ts):
            per_reader[t.sender].append(
                ReaderTap(EventKey(t.ts, t.sender, t.event_id), t.uid, card.student_id)
            )
    findings = []
    judged: dict[str, list[EventKey]] = defaultdict(list)
    for t in crowded:
        judged[t.sender].append(EventKey(t.ts, t.sender, t.event_id))
    for sender, reader in readers.items():
        findings += multi_card_findings(
            sender, reader.room, per_reader[sender], near.motions.get(sender, []),
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
