"""Anti-proxy flags from a batch's BLE runs, saved as keyed ProxyFlag rows.

Every flag has a key `ble:<phone>:<kind>:<moment>[:<detail>]`, so finding it again (a
redelivered report, a run resumed from an earlier checkpoint) rewrites one row. A batch
judges only what is new to it, with just the context each detector needs:
- per report (stale_eid, late_report): the batch's reports;
- runs of windows (cloned_beacon, beacons of two far rooms at once): the batch's windows
  after the last few before them (recent.py); a run that seems to begin at the first of
  those may be longer, so it is left to the batch that found its beginning;
- cloned reports (two phones, the same windows): the batch's fresh windows against a short
  store shared by every batch and worker (clones.py), flagged there;
- timing jitter: judged report by report as the run takes them in (recent.py);
- taps against presence (card_phone_mismatch, impossible travel with a BLE end): the stays
  the batch touched and the one before, against the owner's taps around them.
A run resumed from before its phone's head first drops that phone's `ble:` flags after
its checkpoint, so a flag the new evidence no longer supports disappears. Door-derived
flags are never touched here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from attendance.engine.ble.clones import cloned_report_findings, save_cloned_report_flags
from attendance.engine.ble.evidence import BeaconBook
from attendance.engine.flags import session_at
from attendance.engine.loading import SessionRow, cards_of_students, readers_by_device
from attendance.engine.travel import travel_model
from attendance.models import ProxyFlag
from beacons.presence import PresenceInterval, ScanWindow
from beacons.sightings import ReadReport
from beacons.spoofing import (
    Flag,
    Tap,
    beacon_conflict_flags,
    card_phone_mismatch_flags,
    impossible_travel_flags,
    sightings_from,
    stale_eid_flags,
    uncorroborated_ibeacon_flags,
)
from beacons.spoofing.late import late_report_flags
from devices.models import EventType, RawEvent, SenderKind

Pair = tuple[int, int]
# Taps this far outside a batch's reports can still contradict its presence
# (card_phone_mismatch looks two minutes either side of a tap).
TAP_REACH = timedelta(minutes=3)
# A tap this long before a batch's first report may be judged by it: the stay around it
# has only now grown past the two minutes after it.
TAP_LOOKBACK = timedelta(minutes=5)


@dataclass(frozen=True)
class PhoneEvidence:
    """What one phone's run in a batch gives flag detection."""

    phone_id: str
    phone: Any  # attendance.engine.ble.segments.PhoneInfo
    lo: datetime | None  # the run's checkpoint (None: only late reports, judged alone)
    hi: datetime | None  # the last report it took in
    replayed: bool  # resumed from before its head: its flags after `lo` are recomputed
    reads: list[ReadReport]  # the batch's reports, late ones too
    context: list[ScanWindow]  # the windows before the batch's
    context_full: bool
    windows: list[ScanWindow]  # the batch's windows taken as presence
    found: list[Flag]  # flags found while taking them in (no_jitter)
    intervals: list[PresenceInterval]  # the stays the batch touched, and the one before

    @property
    def judged_windows(self) -> list[ScanWindow]:
        return self.context + self.windows

    def accepts_window_flag(self, flag: Flag) -> bool:
        """A run flag inside the batch's windows, not one cut short by the context."""
        if self.hi is None or flag.at > self.hi:
            return False
        return not (self.context_full and flag.at <= self.context[0].at)

    def accepts_tap_flag(self, flag: Flag) -> bool:
        if self.lo is None or self.hi is None:
            return False
        return self.lo - TAP_LOOKBACK <= flag.at <= self.hi


def replace_ble_flags(
    evidence: list[PhoneEvidence], book: BeaconBook, sessions: list[SessionRow]
) -> set[Pair]:
    """Judge the batch's fresh BLE evidence and save the flags; the (session, student)
    pairs touched. The one place a batch's reads reach flag detection."""
    if not evidence:
        return set()
    taps = _taps_of([e for e in evidence if e.lo is not None])
    found: list[tuple[PhoneEvidence, Flag]] = []
    for ev in evidence:
        found += [(ev, flag) for flag in _phone_flags(ev, book, taps.get(ev.phone_id, []))]
    rows = {}
    for ev, flag in found:
        row = _row(ev, flag, book, sessions)
        rows[row.key] = row  # one row per key: the same finding twice is one flag
    stale = list(
        ProxyFlag.objects.filter(key__in=list(rows)).values_list("id", "session_id", "student_id")
    )
    replayed = [e for e in evidence if e.replayed and e.lo is not None]
    if replayed:
        after = Q()
        for e in replayed:
            after |= Q(key__startswith=f"ble:{e.phone_id}:", at__gt=e.lo)
        stale += ProxyFlag.objects.filter(after).values_list("id", "session_id", "student_id")
    pairs = {(s, st) for _, s, st in stale if s and st}
    if stale:
        ProxyFlag.objects.filter(id__in={pk for pk, _, _ in stale}).delete()
    ProxyFlag.objects.bulk_create(sorted(rows.values(), key=lambda r: r.key))
    # Across batches and workers, so kept apart from the phone's own (see clones).
    fresh: dict[str, list[ScanWindow]] = defaultdict(list)
    for ev in evidence:  # a phone may have a run and late reports, or two days
        fresh[ev.phone_id] += [r.window for r in ev.reads]
    save_cloned_report_flags(cloned_report_findings(fresh))
    return pairs | {
        (r.session_id, r.student_id) for r in rows.values() if r.session_id and r.student_id
    }


def _phone_flags(ev: PhoneEvidence, book: BeaconBook, taps: list[Tap]) -> list[Flag]:
    flags: list[Flag] = list(ev.found)
    for read in ev.reads:
        flags += stale_eid_flags(ev.phone_id, read.window.at, read.eids, book.beacon_rooms)
    late = [(r.window, r.received_at) for r in ev.reads if r.late and r.received_at]
    flags += late_report_flags(ev.phone_id, late, book.beacon_rooms)
    if ev.lo is None or not (ev.windows or taps):
        return flags
    offset = ev.phone.rssi_offset_db
    windows = ev.judged_windows
    runs = uncorroborated_ibeacon_flags(
        ev.phone_id, windows, book.identities, rssi_offset_db=offset
    ) + beacon_conflict_flags(
        ev.phone_id, windows, book.identities, book.adjacent, rssi_offset_db=offset
    )
    flags += [f for f in runs if ev.accepts_window_flag(f)]
    near = [
        t for t in taps if ev.lo - TAP_LOOKBACK - TAP_REACH <= t.at <= (ev.hi or ev.lo) + TAP_REACH
    ]
    against = card_phone_mismatch_flags(ev.phone_id, near, ev.intervals)
    travel = impossible_travel_flags(
        ev.phone_id, sightings_from(near, ev.intervals), book.room_places, travel_model()
    )
    # Tap-to-tap travel is the door engine's; here only edges with a BLE end.
    against += [
        f for f in travel if "ble" in (f.evidence.get("from_source"), f.evidence.get("to_source"))
    ]
    flags += [f for f in against if ev.accepts_tap_flag(f)]
    return flags


def _taps_of(evidence: list[PhoneEvidence]) -> dict[str, list[Tap]]:
    """The phone owners' accepted-card door taps around the runs (one query)."""
    if not evidence:
        return {}
    students = {ev.phone.student_id for ev in evidence}
    cards = cards_of_students(students)
    if not cards:
        return {}
    reach = TAP_LOOKBACK + TAP_REACH
    when = Q(
        uid__in=set(cards),
        ts__gte=min(ev.lo for ev in evidence if ev.lo is not None) - reach,
        ts__lte=max(ev.hi or ev.lo for ev in evidence if ev.lo is not None) + TAP_REACH,
    )
    rows = list(
        RawEvent.objects.filter(when, sender_kind=SenderKind.DEVICE, type=EventType.RFID)
        .values_list("sender", "uid", "ts")
        .order_by("ts", "sender")
    )
    readers = readers_by_device({sender for sender, _, _ in rows})
    phones_of: dict[int, list[str]] = defaultdict(list)
    for ev in evidence:
        phones_of[ev.phone.student_id].append(ev.phone_id)
    taps: dict[str, list[Tap]] = defaultdict(list)
    for sender, uid, ts in rows:
        card, reader = cards.get(uid), readers.get(sender)
        owner = card.owner_at(ts) if card is not None else None
        if owner is None or reader is None:
            continue
        for phone_id in set(phones_of[owner.student_id]):
            taps[phone_id].append(Tap(reader.at(ts).room, ts))
    return taps


def _row(
    ev: PhoneEvidence, flag: Flag, book: BeaconBook, sessions: Iterable[SessionRow]
) -> ProxyFlag:
    room = flag.room
    session = session_at(room, flag.at, sessions) if room else None
    return ProxyFlag(
        kind=flag.kind,
        key=_key(ev.phone_id, flag),
        student_id=ev.phone.student_id,
        room_id=book.room_ids.get(room) if room else None,
        session_id=session.id if session else None,
        at=flag.at,
        detail=flag.detail[:300],
        evidence={**flag.evidence, "phone": ev.phone_id, "source": "ble"},
    )


def _key(phone: str, flag: Flag) -> str:
    extra = flag.evidence.get("beacon") or flag.evidence.get("tap_room") or ""
    extra = extra or flag.evidence.get("to") or flag.evidence.get("eid") or ""
    return f"ble:{phone}:{flag.kind}:{flag.at.isoformat()}:{extra}"[:200]
