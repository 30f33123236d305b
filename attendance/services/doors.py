"""A batch of door events into visits and records: the door path of the one door.

The ingest (MQTT or HTTP) stores new RawEvent rows inside the batch's transaction
(attendance.services.ingest) and hands them here; the answers go to the readers only after
commit. Decisions come from attendance.rules; attendance.engine loads evidence in bulk and
saves the difference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from attendance.days import local_day
from attendance.engine.ble.apply import apply_ble
from attendance.engine.ble.segments import moments_of_taps, phone_moments, students_of_phones
from attendance.engine.crowd import ask_to_rejudge
from attendance.engine.doors import replay_student_days
from attendance.engine.enrol_by_tap import enrol_unknown_cards
from attendance.engine.in_time import Ownership
from attendance.engine.loading import (
    Neighbourhood,
    StoredTap,
    cards_by_uid,
    is_motion,
    neighbourhood,
    one_batch,
    readers_by_device,
    windows_around,
)
from attendance.engine.locks import lock_pir_readers, lock_students
from attendance.engine.publishing import publish_changes
from attendance.engine.records import recompute_records
from attendance.rules.door import PIR_ORDER_WINDOW, Motion, direction_from_pir
from attendance.rules.evidence import EventKey
from attendance.rules.records import merged_spans
from devices.models import EventType, RawEvent, SenderKind


@dataclass(frozen=True)
class TapAnswer:
    """What a reader is told about one of its card taps (CONTRACT `.../ack`)."""

    event_id: str
    result: str  # accepted, repeat, unknown_card, revoked_card, invalid
    dir: str | None = None
    display: str | None = None
    reason: str | None = None


def apply_new_events(events: Sequence[RawEvent]) -> dict[tuple[str, str], TapAnswer]:
    """Apply newly stored reader events; answers keyed by (device id, event id) for taps.

    Call inside the transaction that stored them. Works per batch: a bounded number of
    queries however many events, in order or not.
    """
    with one_batch():
        return _apply_new_events(events)


def _apply_new_events(events: Sequence[RawEvent]) -> dict[tuple[str, str], TapAnswer]:
    now = timezone.now()
    reports = phone_moments(events)
    door_events = [e for e in events if e.sender_kind == SenderKind.DEVICE]
    taps = [e for e in door_events if e.type == EventType.RFID]
    motions = [e for e in door_events if e.type == EventType.PIR]
    if not taps and not motions:
        if reports:
            lock_students(students_of_phones(p for p, _ in reports))
            apply_ble(reports, now, _cause(events, set()), stored=events)
        return {}
    cards = cards_by_uid(e.uid for e in taps)
    cards.update(enrol_unknown_cards(taps, cards, now))  # staff waiting to enrol a card there
    answers: dict[tuple[str, str], TapAnswer] = {}
    # Each student-day is replayed from its earliest new tap on.
    replay_from: dict[tuple[int, date], datetime] = {}
    owners: dict[tuple[str, str], Ownership] = {}  # whose each tap was, at its moment
    for e in taps:
        card = cards.get(e.uid)
        owner = card.owner_at(e.ts) if card is not None else None
        if owner is not None:
            owners[(e.sender, e.event_id)] = owner
            _earliest(replay_from, (owner.student_id, local_day(e.ts)), e.ts)
        elif card is not None and not card.counts_at(e.ts):
            answers[(e.sender, e.event_id)] = TapAnswer(e.event_id, "revoked_card")
        else:  # no such card, or none that anyone held at that moment
            answers[(e.sender, e.event_id)] = TapAnswer(e.event_id, "unknown_card")
    # Before reading their motion, and before any student (the order every batch locks in).
    pir_doors = _pir_doors(door_events)
    lock_pir_readers(pir_doors)
    near = neighbourhood(_pir_windows(door_events, pir_doors))
    for student_day, moment in _days_revised_by_motion(motions, near).items():
        _earliest(replay_from, student_day, moment)
    # Every student this batch may write, locked at once in id order (attendance.services):
    # the door replay's, and the phone owners' of the BLE reports and accepted taps.
    lock_students(
        {student for student, _ in replay_from}
        | students_of_phones(p for p, _ in reports)
        | {owner.student_id for owner in owners.values()}
    )
    new_keys = {EventKey(e.ts, e.sender, e.event_id) for e in taps}
    door = replay_student_days(replay_from, now, new_keys, near)  # type: ignore[arg-type]
    for e in taps:
        if (e.sender, e.event_id) in answers:
            continue
        verdict = door.verdicts.get(EventKey(e.ts, e.sender, e.event_id))
        if verdict is None:  # a tap from a device that is not a registered reader
            answers[(e.sender, e.event_id)] = TapAnswer(
                e.event_id, "invalid", reason="not a registered reader"
            )
        else:
            answers[(e.sender, e.event_id)] = TapAnswer(
                e.event_id, verdict.result, verdict.dir, owners[(e.sender, e.event_id)].display
            )
    changes = recompute_records(
        door.record_pairs, now, _cause(events, door.late_students), revising=door.late_students
    )
    publish_changes(door.moves, changes)
    # BLE after the door: its flags compare the phone with the taps just applied.
    accepted = [(owners[(e.sender, e.event_id)].student_id, e.ts) for e in taps
                if answers[(e.sender, e.event_id)].result == "accepted"]  # fmt: skip
    if reports or accepted:
        apply_ble(reports + moments_of_taps(accepted), now, _cause(events, set()), stored=events)
    return answers


def request_rejudging(events: Sequence[RawEvent]) -> None:
    """Ask the pass to judge again, for several cards at one door, the taps near those of
    these newly stored events that arrived late. Call as the last thing in the transaction
    that stored them, just before it commits: whether an event is late is decided by the
    clock, and the pass must not have moved past its neighbours between that decision and
    the commit (see attendance.engine.crowd)."""
    door = [(e.sender, e.ts) for e in events if e.sender_kind == SenderKind.DEVICE]
    if door:
        ask_to_rejudge(door, timezone.now())


def _earliest(
    found: dict[tuple[int, date], datetime], key: tuple[int, date], moment: datetime
) -> None:
    if key not in found or moment < found[key]:
        found[key] = moment


def _pir_doors(door_events: Sequence[RawEvent]) -> set[str]:
    """The senders of these events that are PIR readers."""
    readers = readers_by_device({e.sender for e in door_events})
    return {
        e.sender for e in door_events if e.sender in readers and readers[e.sender].mode == "pir"
    }


def _pir_windows(
    door_events: Sequence[RawEvent], pir_doors: set[str]
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Around new events on PIR readers, what direction needs: a new tap is read from the
    motion within a PIR window of it; new motion may turn the taps within a PIR window of
    it, each read from the motion around it. A `clear` event changes nothing."""
    on_pir = [e for e in door_events if e.sender in pir_doors]
    taps = [(e.sender, e.ts) for e in on_pir if e.type == EventType.RFID]
    seen = [(e.sender, e.ts) for e in on_pir if _motion_of(e) is not None]
    windows = windows_around(taps, PIR_ORDER_WINDOW, PIR_ORDER_WINDOW)
    for sender, ranges in windows_around(seen, 2 * PIR_ORDER_WINDOW, 2 * PIR_ORDER_WINDOW).items():
        windows[sender] = merged_spans(windows.get(sender, []) + ranges)
    return windows


def _days_revised_by_motion(
    motions: Sequence[RawEvent], near: Neighbourhood
) -> dict[tuple[int, date], datetime]:
    """Taps on PIR readers near new motion may change direction: replay from the earliest."""
    if not motions:
        return {}
    readers = readers_by_device({e.sender for e in motions})
    windows = windows_around(
        [
            (e.sender, e.ts)
            for e in motions
            if e.sender in readers and readers[e.sender].mode == "pir"
        ],
        PIR_ORDER_WINDOW,
        PIR_ORDER_WINDOW,
    )
    new_motion = Counter(_motion_of(e) for e in motions)
    affected = [
        t
        for t in near.taps
        if any(lo <= t.ts <= hi for lo, hi in windows.get(t.sender, ()))
        and t.reported_dir is None  # a reader's own `dir` wins over its sensors
        and _turned(t, near.motions.get(t.sender, []), new_motion)
    ]
    if not affected:
        return {}
    cards = cards_by_uid({t.uid for t in affected})
    found: dict[tuple[int, date], datetime] = {}
    for t in affected:
        card = cards.get(t.uid)
        owner = card.owner_at(t.ts) if card is not None else None
        if owner is not None:
            _earliest(found, (owner.student_id, local_day(t.ts)), t.ts)
    return found


def _motion_of(event: RawEvent) -> tuple[str, str, datetime] | None:
    """(reader, sensor, moment) of a PIR event that saw someone; None for `clear`."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    if is_motion(payload.get("sensor"), payload.get("state")):
        return (event.sender, payload["sensor"], event.ts)
    return None


def _turned(tap: StoredTap, motions: list[Motion], new: Counter) -> bool:
    """Does the batch's new motion change the direction the sensors give this tap? At a
    busy door most new motion only repeats what the order already said, and replaying
    every student who tapped within the window would be most of the batch's work."""
    before, unseen = [], new.copy()
    for m in motions:
        if unseen[(tap.sender, m.sensor, m.at)] > 0:
            unseen[(tap.sender, m.sensor, m.at)] -= 1
        else:
            before.append(m)
    return direction_from_pir(motions, tap.ts) != direction_from_pir(before, tap.ts)


def _cause(events: Sequence[RawEvent], late_students: set[int]) -> str:
    senders = sorted({e.sender for e in events})
    what = "late event" if late_students else "new events"
    shown = ", ".join(senders[:3]) + (f" (+{len(senders) - 3})" if len(senders) > 3 else "")
    return f"{what} from {shown}"
