"""Stored presence checkpoints: where a phone's BLE presence resumes instead of replaying.

After a batch, each phone keeps the state after its last report (its *head*) and, for the
last few `SPACING` slots of event time, the state after the last report of each slot
(beacons.models.PresenceCheckpoint, one row per phone and slot). A report newer than the
head resumes from the head; one older (a phone's offline buffer, a shuffled delivery)
resumes from the latest checkpoint before it, and what follows is taken in again. A state
is resumed only with the setup it was computed with (beacons, thresholds, the phone's
offset, the presence config); otherwise the day is replayed from its start.

Every query here is over the batch's phones and their few rows: none grows with the day.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q

from attendance.engine.ble.recent import RecentReads
from beacons.models import PresenceCheckpoint
from beacons.presence import BeaconPlace, PresenceConfig, PresenceInterval, PresenceTracker

SPACING = timedelta(minutes=5)
_SPACING_S = int(SPACING.total_seconds())


def keep_slots() -> int:
    """Slots kept behind the head: a report still within the offline window (so still
    presence) finds a checkpoint before it, with a slot to spare for clocks."""
    return math.ceil(settings.BLE_OFFLINE_WINDOW_SECONDS / _SPACING_S) + 2


def slot_of(at: datetime) -> int:
    return int(at.timestamp()) // _SPACING_S


@dataclass(frozen=True)
class Held:
    """A stored checkpoint's key, without its state."""

    pk: int
    phone: int  # Phone pk
    slot: int
    day: date
    at: datetime
    event_id: str
    setup: str


@dataclass
class Resume:
    """Where a phone's presence on `day` goes on from: after report (at, event_id), or the
    day's start (`at` None)."""

    day: date
    at: datetime | None
    event_id: str
    tracker: PresenceTracker
    recent: RecentReads
    last_closed: PresenceInterval | None  # the last stay closed (and saved) before `at`
    from_head: bool  # nothing stored after it: nothing to drop when saving


def load_held(phone_pks: Iterable[int]) -> dict[int, list[Held]]:
    """Every kept checkpoint of these phones, newest first (keys only)."""
    rows = PresenceCheckpoint.objects.filter(phone_id__in=set(phone_pks)).values_list(
        "pk", "phone_id", "slot", "day", "at", "event_id", "setup"
    )
    held: dict[int, list[Held]] = defaultdict(list)
    for row in rows:
        held[row[1]].append(Held(*row))
    for rows_ in held.values():
        rows_.sort(key=lambda h: (h.at, h.event_id), reverse=True)
    return held


def head(held: Sequence[Held], day: date, setup: str) -> Held | None:
    """The latest usable checkpoint of the day."""
    return next((h for h in held if h.day == day and h.setup == setup), None)


def before(held: Sequence[Held], day: date, setup: str, moment: datetime) -> Held | None:
    """The latest usable checkpoint of the day strictly before `moment`."""
    return next((h for h in held if h.day == day and h.setup == setup and h.at < moment), None)


def load_states(pks: Iterable[int]) -> dict[int, dict]:
    return dict(PresenceCheckpoint.objects.filter(pk__in=set(pks)).values_list("pk", "state"))


def resume(
    held: Held | None,
    state: dict | None,
    day: date,
    *,
    is_head: bool,
    places: Sequence[BeaconPlace],
    rssi_offset_db: float,
    config: PresenceConfig,
) -> Resume:
    if held is None or state is None:
        tracker = PresenceTracker(places, rssi_offset_db, config)
        return Resume(day, None, "", tracker, RecentReads(), None, from_head=is_head)
    tracker = PresenceTracker.from_state(state["tracker"], places, rssi_offset_db, config)
    closed = state["last_closed"]
    last_closed = (
        None
        if closed is None
        else PresenceInterval(
            closed[0],
            datetime.fromisoformat(closed[1]),
            datetime.fromisoformat(closed[2]),
            closed[3],
        )
    )
    recent = RecentReads.from_state(state["recent"])
    return Resume(day, held.at, held.event_id, tracker, recent, last_closed, from_head=is_head)


def snapshot(
    phone_pk: int, run: Resume, at: datetime, event_id: str, setup: str
) -> PresenceCheckpoint:
    """The state of `run` after report (at, event_id); its closed stays already taken."""
    closed = run.last_closed
    state = {
        "tracker": run.tracker.state(),
        "recent": run.recent.state(),
        "last_closed": None
        if closed is None
        else [closed.room, closed.start.isoformat(), closed.end.isoformat(), closed.confidence],
    }
    return PresenceCheckpoint(
        phone_id=phone_pk,
        slot=slot_of(at),
        day=run.day,
        at=at,
        event_id=event_id,
        setup=setup,
        state=state,
    )


def save(
    snapshots: Sequence[PresenceCheckpoint],
    replayed_from: dict[tuple[int, date], datetime | None],
    held: dict[int, list[Held]],
) -> None:
    """Store the batch's checkpoints. `replayed_from`: (phone, day)s that resumed from before
    their head (or from the day's start, None), whose later checkpoints of that day no longer
    hold (another day's are untouched). `held`:
    the phones' checkpoints as loaded (to prune only where a slot has fallen behind)."""
    stale = Q()
    for (phone, day), at in replayed_from.items():
        of_day = Q(phone_id=phone, day=day)
        stale |= of_day if at is None else of_day & Q(at__gt=at)
    if replayed_from:
        PresenceCheckpoint.objects.filter(stale).delete()
    if not snapshots:
        return
    unique = (
        ["phone", "slot"] if connection.features.supports_update_conflicts_with_target else None
    )
    PresenceCheckpoint.objects.bulk_create(
        snapshots,
        update_conflicts=True,
        unique_fields=unique,
        update_fields=["day", "at", "event_id", "setup", "state"],
    )
    # Keep the last few slots behind each phone's newest.
    newest: dict[int, int] = {}
    for s in snapshots:
        newest[s.phone_id] = max(newest.get(s.phone_id, s.slot), s.slot)
    by_cut: dict[int, list[int]] = defaultdict(list)
    for phone, slot in newest.items():
        cut = slot - keep_slots()
        if any(h.slot < cut for h in held.get(phone, ())):
            by_cut[cut].append(phone)
    if not by_cut:
        return
    old = Q()
    for cut, phones in by_cut.items():
        old |= Q(phone_id__in=phones, slot__lt=cut)
    PresenceCheckpoint.objects.filter(old).delete()
