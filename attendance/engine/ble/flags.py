"""Anti-proxy flags from replayed BLE segments, saved as keyed ProxyFlag rows.

Every flag found for a phone's segment has a key `ble:<phone>:<kind>:<moment>[:<detail>]`
and its `at` inside the segment's span; recomputing a segment deletes that phone's `ble:`
flags in the span and writes what the replay found, so nothing is duplicated and a flag the
new evidence no longer supports disappears. Door-derived flags are never touched here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from attendance.engine.ble.clones import cloned_report_findings, save_cloned_report_flags
from attendance.engine.ble.evidence import BeaconBook
from attendance.engine.flags import session_at
from attendance.engine.loading import SessionRow, cards_of_students, readers_by_device
from attendance.engine.travel import travel_model
from attendance.models import ProxyFlag
from beacons.presence import PresenceInterval
from beacons.sightings import ReadReport
from beacons.spoofing import (
    Flag,
    Tap,
    beacon_conflict_flags,
    card_phone_mismatch_flags,
    impossible_travel_flags,
    no_jitter_flags,
    sightings_from,
    stale_eid_flags,
    uncorroborated_ibeacon_flags,
)
from beacons.spoofing.late import late_report_flags
from devices.models import EventType, RawEvent, SenderKind

Pair = tuple[int, int]
# Taps this far outside a segment can still contradict its presence (card_phone_mismatch
# looks two minutes either side of a tap).
TAP_REACH = timedelta(minutes=3)


@dataclass(frozen=True)
class SegmentEvidence:
    phone_id: str
    phone: Any  # attendance.engine.ble.segments.PhoneInfo
    lo: datetime
    hi: datetime
    reads: list[ReadReport]
    intervals: list[PresenceInterval]
    fresh: list[ReadReport] = field(default_factory=list)  # read from storage by this batch


def replace_segment_flags(
    segments: list[SegmentEvidence], book: BeaconBook, sessions: list[SessionRow]
) -> set[Pair]:
    """Derive and save the flags of these segments; the (session, student) pairs touched."""
    if not segments:
        return set()
    taps = _taps_of(segments)
    found: list[tuple[SegmentEvidence, Flag]] = []
    for seg in segments:
        for flag in _segment_flags(seg, book, taps.get(seg.phone_id, [])):
            if seg.lo <= flag.at <= seg.hi:
                found.append((seg, flag))
    rows = {}
    for seg, flag in found:
        row = _row(seg, flag, book, sessions)
        rows[row.key] = row  # one row per key: the same finding twice is one flag
    # One shared range, then each phone's own span in Python (OR'd clauses cost more).
    candidates = ProxyFlag.objects.filter(
        key__startswith="ble:",
        student_id__in={seg.phone.student_id for seg in segments},
        at__gte=min(seg.lo for seg in segments),
        at__lte=max(seg.hi for seg in segments),
    ).values_list("id", "key", "at", "session_id", "student_id")
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for seg in segments:
        spans[f"ble:{seg.phone_id}:"].append((seg.lo, seg.hi))
    stale = [
        (pk, session, student)
        for pk, key, at, session, student in candidates
        if any(lo <= at <= hi for lo, hi in spans.get(_phone_prefix(key), ()))
    ]
    stale += ProxyFlag.objects.filter(key__in=list(rows)).values_list(
        "id", "session_id", "student_id"
    )
    pairs = {(s, st) for _, s, st in stale if s and st}
    ProxyFlag.objects.filter(id__in={pk for pk, _, _ in stale}).delete()
    ProxyFlag.objects.bulk_create(sorted(rows.values(), key=lambda r: r.key))
    # Across batches and workers, so kept apart from the segment's own (see clones).
    fresh = {seg.phone_id: [r.window for r in seg.fresh] for seg in segments}
    save_cloned_report_flags(cloned_report_findings(fresh))
    return pairs | {
        (r.session_id, r.student_id) for r in rows.values() if r.session_id and r.student_id
    }


def _segment_flags(seg: SegmentEvidence, book: BeaconBook, taps: list[Tap]) -> list[Flag]:
    windows = [r.window for r in seg.reads]
    offset = seg.phone.rssi_offset_db
    flags: list[Flag] = []
    for read in seg.reads:
        flags += stale_eid_flags(seg.phone_id, read.window.at, read.eids, book.beacon_rooms)
    late = [(r.window, r.received_at) for r in seg.reads if r.late and r.received_at]
    flags += late_report_flags(seg.phone_id, late, book.beacon_rooms)
    flags += no_jitter_flags(seg.phone_id, [w.at for w in windows])
    flags += uncorroborated_ibeacon_flags(
        seg.phone_id, windows, book.identities, rssi_offset_db=offset
    )
    flags += beacon_conflict_flags(
        seg.phone_id, windows, book.identities, book.adjacent, rssi_offset_db=offset
    )
    near = [t for t in taps if seg.lo - TAP_REACH <= t.at <= seg.hi + TAP_REACH]
    flags += card_phone_mismatch_flags(seg.phone_id, near, seg.intervals)
    travel = impossible_travel_flags(
        seg.phone_id, sightings_from(near, seg.intervals), book.room_places, travel_model()
    )
    # Tap-to-tap travel is the door engine's; here only edges with a BLE end.
    flags += [
        f for f in travel if "ble" in (f.evidence.get("from_source"), f.evidence.get("to_source"))
    ]
    return flags


def _taps_of(segments: list[SegmentEvidence]) -> dict[str, list[Tap]]:
    """The phone owners' accepted-card door taps around the segments (one query)."""
    students = {seg.phone.student_id for seg in segments}
    cards = cards_of_students(students)
    if not cards:
        return {}
    when = Q(
        uid__in=set(cards),
        ts__gte=min(seg.lo for seg in segments) - TAP_REACH,
        ts__lte=max(seg.hi for seg in segments) + TAP_REACH,
    )
    rows = list(
        RawEvent.objects.filter(when, sender_kind=SenderKind.DEVICE, type=EventType.RFID)
        .values_list("sender", "uid", "ts")
        .order_by("ts", "sender")
    )
    readers = readers_by_device({sender for sender, _, _ in rows})
    phones_of: dict[int, list[str]] = defaultdict(list)
    for seg in segments:
        phones_of[seg.phone.student_id].append(seg.phone_id)
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
    seg: SegmentEvidence, flag: Flag, book: BeaconBook, sessions: Iterable[SessionRow]
) -> ProxyFlag:
    room = flag.room
    session = session_at(room, flag.at, sessions) if room else None
    return ProxyFlag(
        kind=flag.kind,
        key=_key(seg.phone_id, flag),
        student_id=seg.phone.student_id,
        room_id=book.room_ids.get(room) if room else None,
        session_id=session.id if session else None,
        at=flag.at,
        detail=flag.detail[:300],
        evidence={**flag.evidence, "phone": seg.phone_id, "source": "ble"},
    )


def _phone_prefix(key: str) -> str:
    """`ble:<phone>:` of a key `ble:<phone>:<kind>:...` (phone ids hold no colon)."""
    return ":".join(key.split(":", 2)[:2]) + ":"


def _key(phone: str, flag: Flag) -> str:
    extra = flag.evidence.get("beacon") or flag.evidence.get("tap_room") or ""
    extra = extra or flag.evidence.get("to") or flag.evidence.get("eid") or ""
    return f"ble:{phone}:{flag.kind}:{flag.at.isoformat()}:{extra}"[:200]
