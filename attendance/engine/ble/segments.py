"""BLE presence from stored phone reports: the Django side of beacons.presence.

A phone's presence on a local day is its reports fed in event-time order (ties by event
id) through one tracker, which starts afresh each day and forgets everything across a
silence longer than its timeout. A batch names moments (a new report, a card tap of the
phone's owner, a phone gone quiet); for each phone and day it resumes from the stored
checkpoint before its earliest moment (checkpoints.py), takes in the stored reports after
it (runs.py), saves the checkpoints it passes, and replaces the student's `ble` visits
from that point on (visits.py). A report in event-time order resumes from the phone's
latest checkpoint, so its cost is the same at 16:00 as at 08:00; a late one re-runs from
the checkpoint before it; any order or repetition of the same reports gives the same
visits. A report far from its receipt (beacons.spoofing.late) is evidence, never
presence: it is judged for flags on its own and resumes nothing.

Queries are per batch: phones, checkpoints, report times, report payloads, visits and
flags each in one go, whatever the number of reports; none of them reads the whole day.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from django.db.models import Max, Q

from attendance.days import day_bounds, local_day
from attendance.engine.ble import checkpoints
from attendance.engine.ble.evidence import BeaconBook, load_beacon_book, update_beacon_health
from attendance.engine.ble.flags import PhoneEvidence, replace_ble_flags
from attendance.engine.ble.revisions import late_among
from attendance.engine.ble.runs import (
    PhoneRun,
    ReportRow,
    late_reads,
    late_reports_at,
    load_rows,
    take_in,
)
from attendance.engine.ble.trust import offline_window
from attendance.engine.ble.visits import Pair, diff, held_visits, pairs_overlapping
from attendance.engine.loading import SessionRow, memoised, sessions_in_rooms_on_days
from attendance.models import Visit, VisitSource
from beacons.models import Phone, PresenceCheckpoint, active_phones_of
from beacons.presence import PresenceConfig, PresenceInterval
from devices.models import EventType, RawEvent, SenderKind

PRESENCE = PresenceConfig()


@dataclass(frozen=True)
class PhoneInfo:
    phone_id: str
    student_id: int
    rssi_offset_db: int
    pk: int = 0


@dataclass
class BleOutcome:
    record_pairs: set[Pair] = field(default_factory=set)
    # (student id, room or None, since, basis): where BLE places a student now.
    moves: list[tuple[int, str | None, datetime | None, datetime]] = field(default_factory=list)
    segments: int = 0  # phone days taken forward
    windows: int = 0  # reports taken in
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
    phones = memoised("phones_of_students", {s for s, _ in student_taps}, active_phones_of)
    return [(phones[s], at) for s, at in student_taps if s in phones]


def apply_phone_evidence(
    moments: Sequence[tuple[str, datetime]], now: datetime, stored: Sequence[RawEvent] = ()
) -> BleOutcome:
    """Take each phone's day forward from the checkpoint before its earliest moment; save
    visits, checkpoints and flags. `stored`: reports this batch has just stored."""
    outcome = BleOutcome()
    phones = _phones({p for p, _ in moments}) if moments else {}
    by_unit: dict[tuple[str, date], list[datetime]] = defaultdict(list)
    for p, at in moments:
        if p in phones:
            by_unit[(p, local_day(at))].append(at)
    if not by_unit:
        return outcome
    book = load_beacon_book()
    offline = offline_window()
    held = checkpoints.load_held(phones[p].pk for p, _ in by_unit)
    runs, late_only = _plan(by_unit, phones, held, book, offline)
    new_moments: dict[str, set[datetime]] = defaultdict(set)
    for p, at in moments:
        new_moments[p].add(at)
    load_rows(runs, stored)
    for run in runs:
        take_in(run, book, now, offline, PRESENCE.silence_timeout)
    days = {r.resume.day for r in runs} | {day for _, day in late_only}
    sessions = sessions_in_rooms_on_days(book.room_ids.values(), days)
    evidence = _save_visits(runs, book, sessions, now, outcome)
    for (p, _), rows in late_only.items():
        reads = late_reads(rows, book)
        evidence.append(
            PhoneEvidence(p, phones[p], None, None, False, reads, [], False, [], [], [])
        )
        outcome.late[p] = phones[p].student_id  # late evidence: what it changes is a revision
    for run in runs:
        if late_among(run.reads, new_moments[run.phone.phone_id]):
            outcome.late[run.phone.phone_id] = run.phone.student_id
    checkpoints.save(
        [s for run in runs for s in run.snapshots],
        {
            (run.phone.pk, run.resume.day): run.started_at
            for run in runs
            if not run.resume.from_head
        },
        held,
    )
    outcome.record_pairs |= replace_ble_flags(evidence, book, sessions)
    seen: dict[int, datetime] = {}
    for w in (w for run in runs for w in run.windows):
        for sighting in w.sightings:
            seen[sighting.beacon_id] = max(seen.get(sighting.beacon_id, w.at), w.at)
    update_beacon_health(book, seen, [r.rows for r in runs] + list(late_only.values()))
    return outcome


def _plan(
    by_unit: dict[tuple[str, date], list[datetime]],
    phones: dict[str, PhoneInfo],
    held: dict[int, list[checkpoints.Held]],
    book: BeaconBook,
    offline: timedelta,
) -> tuple[list[PhoneRun], dict[tuple[str, date], list[ReportRow]]]:
    """Per (phone, day): the run from the checkpoint before its earliest moment; and the
    late reports older than its head, which resume nothing and are judged on their own."""
    setups = {p: _setup(book, phones[p]) for p, _ in by_unit}
    presence = replace(PRESENCE, rooms=book.room_thresholds)  # the rooms' own thresholds
    older = []
    for (p, day), ats in by_unit.items():
        top = checkpoints.head(held.get(phones[p].pk, []), day, setups[p])
        older += [(p, at) for at in ats if top is not None and at <= top.at]
    late_rows, only_late = late_reports_at(older, offline)
    starts: dict[tuple[str, date], checkpoints.Held | None] = {}
    from_head: dict[tuple[str, date], bool] = {}
    late_only: dict[tuple[str, date], list[ReportRow]] = {}
    for (p, day), ats in sorted(by_unit.items()):
        rows = held.get(phones[p].pk, [])
        late = [r for r in late_rows.get(p, []) if local_day(r[0]) == day]
        if late:
            late_only[(p, day)] = late
        resuming = [at for at in ats if (p, at) not in only_late]
        if resuming:
            start = checkpoints.before(rows, day, setups[p], min(resuming))
            starts[(p, day)] = start
            # Nothing stored after it: its head, or no checkpoint of that day at all.
            from_head[(p, day)] = start == checkpoints.head(rows, day, setups[p]) and (
                start is not None or not any(h.day == day for h in rows)
            )
    states = checkpoints.load_states(h.pk for h in starts.values() if h is not None)
    runs = []
    for (p, day), start in starts.items():
        resume = checkpoints.resume(
            start, states.get(start.pk) if start else None, day, is_head=from_head[(p, day)],
            places=book.places, rssi_offset_db=phones[p].rssi_offset_db, config=presence,
        )  # fmt: skip
        runs.append(PhoneRun(phones[p], resume, *day_bounds(day), setups[p]))
    return runs, late_only


def _save_visits(
    runs: list[PhoneRun],
    book: BeaconBook,
    sessions: list[SessionRow],
    now: datetime,
    outcome: BleOutcome,
) -> list[PhoneEvidence]:
    """Replace each run's visits from its checkpoint on; note the records and live moves
    they change; what each run hands flag detection."""
    existing = held_visits(runs)
    creates: list[Visit] = []
    deletes: list[int] = []
    evidence: list[PhoneEvidence] = []
    today = local_day(now)
    for i, run in enumerate(runs):
        student = run.phone.student_id
        outcome.segments += 1
        outcome.windows += len(run.rows)
        c, d, changed = diff(student, existing.get(i, []), run.intervals, book)
        creates += c
        deletes += d
        for room, start, end in changed:
            outcome.record_pairs |= pairs_overlapping(student, room, start, end, sessions, now)
        before = [run.kept] if run.kept is not None else []
        evidence.append(PhoneEvidence(
            run.phone.phone_id, run.phone, run.start, run.last, not run.resume.from_head,
            run.reads, run.context, run.context_full, run.windows, run.found,
            before + run.intervals,
        ))  # fmt: skip
        if run.resume.day == today:
            outcome.moves.append(_where_now(student, run.intervals, run.last))
    Visit.objects.filter(id__in=deletes).delete()
    Visit.objects.bulk_create(creates)
    return evidence


# -- loading ----------------------------------------------------------------------------------


def students_of_phones(phone_ids: Iterable[str]) -> set[int]:
    """The students whose phones these are: the writer locks them before replaying."""
    return {info.student_id for info in _phones(set(phone_ids)).values()}


def _phones(phone_ids: set[str]) -> dict[str, PhoneInfo]:
    return memoised("phones", phone_ids, _load_phones)


def _load_phones(phone_ids: set[str]) -> dict[str, PhoneInfo]:
    rows = Phone.objects.filter(phone_id__in=phone_ids).values_list(
        "phone_id", "student_id", "rssi_offset_db", "pk"
    )
    return {p: PhoneInfo(p, s, o, pk) for p, s, o, pk in rows}


def _setup(book: BeaconBook, phone: PhoneInfo) -> str:
    """What a phone's presence was computed with: a checkpoint resumes only with the same."""
    text = f"{book.setup_digest}|{phone.rssi_offset_db}|{PRESENCE!r}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


# -- where a student is now -------------------------------------------------------------------


def _where_now(
    student: int, intervals: list[PresenceInterval], basis: datetime
) -> tuple[int, str | None, datetime | None, datetime]:
    last = intervals[-1] if intervals else None
    if last is not None and last.open:
        return (student, last.room, last.start, basis)
    return (student, None, None, basis)


def silent_phone_moments(now: datetime) -> list[tuple[str, datetime]]:
    """Open ble visits whose phone has gone quiet past the timeout: take each forward from
    its latest checkpoint (a moment just after it), which closes the stay."""
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
    quiet_phones = list(rows.values_list("phone_id", "student_id", "pk"))
    heads = dict(
        PresenceCheckpoint.objects.filter(phone_id__in=[pk for _, _, pk in quiet_phones])
        .values("phone_id")
        .annotate(last=Max("at"))
        .values_list("phone_id", "last")
    )
    moments = []
    for phone, student, pk in quiet_phones:
        since, last = open_visits[student], heads.get(pk)
        after = last + timedelta(microseconds=1) if last is not None else since
        moments.append((phone, after if local_day(after) == local_day(since) else since))
    return moments
