"""Bulk loaders: one query per kind of evidence for a whole batch, returning rule data."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Q

from attendance.days import day_bounds, local_day
from attendance.engine.days import merged_ranges
from attendance.engine.in_time import (
    Ownership,
    Placement,
    cards_ever_owned_by,
    ownerships_of_cards,
    placements_of_readers,
)
from attendance.engine.reference import kept_memo
from attendance.models import ClassSession, Room, Student
from attendance.names import reader_display_name
from attendance.rules.door import Motion
from attendance.rules.evidence import Policy, SessionInfo
from attendance.rules.proxy import Place
from devices.models import Card, EventType, RawEvent, Reader, SenderKind

T = TypeVar("T")
K = TypeVar("K")


@dataclass(frozen=True)
class ReaderInfo:
    device_id: str
    room: str
    room_id: int
    mode: str
    debounce_s: int
    enabled: bool = True
    placements: tuple[Placement, ...] = ()

    def at(self, moment: datetime) -> Placement:
        """Where the reader was, and its mode, at that moment (now, if nothing earlier
        was recorded)."""
        where = Placement(self.room, self.room_id, self.mode, moment)
        for placement in self.placements:  # sorted by `since`
            if placement.since > moment:
                break
            where = placement
        return where

    def rooms_ever(self) -> set[int]:
        return {self.room_id} | {p.room_id for p in self.placements}


@dataclass(frozen=True)
class CardInfo:
    uid: str
    student_id: int  # the owner now
    active: bool
    revoked_at: datetime | None
    display: str
    registered_at: datetime | None = None
    owners: tuple[Ownership, ...] = ()

    def counts_at(self, moment: datetime) -> bool:
        """A revoked card's earlier taps still count: revoking is not rewriting history."""
        return self.active or (self.revoked_at is not None and moment < self.revoked_at)

    def owner_at(self, moment: datetime) -> Ownership | None:
        """Whose tap a tap of this card at that moment was; None when it did not count
        (revoked by then, or before anyone had it). A card with no recorded ownership has
        been its student's all along."""
        if not self.counts_at(moment):
            return None
        if not self.owners:
            return Ownership(self.student_id, moment, None, self.display)
        return next((o for o in self.owners if o.holds(moment)), None)

    def registered_after(self, moment: datetime) -> bool:
        """Was this tap made before the card was registered (counted for its first owner
        from the start of that day)?"""
        return self.registered_at is not None and moment < self.registered_at


@dataclass(frozen=True)
class StoredTap:
    sender: str
    event_id: str
    uid: str
    ts: datetime
    reported_dir: str | None


# What the current batch has looked up (readers, cards, student numbers, sessions of
# room-days), by key; None: not there. Several steps of a batch ask for the same ones, and
# at about 0.9 ms a query through the ORM, asking once matters at a steady rate of small
# batches. The memo outlives the batch while the reference stamp is unchanged
# (attendance.engine.reference).
_batch_memo: ContextVar[dict[str, dict[Any, Any]] | None] = ContextVar("batch_memo", default=None)


@contextmanager
def one_batch() -> Iterator[None]:
    """Read each reader, card, student number and room-day of sessions at most once inside
    this block (one batch's work), or not at all if an earlier batch did and nothing has
    changed since. Nested blocks share the outer one's reads."""
    if _batch_memo.get() is not None:
        yield
        return
    token = _batch_memo.set(kept_memo())
    try:
        yield
    finally:
        _batch_memo.reset(token)


def memoised(kind: str, keys: set[K], load: Callable[[set[K]], dict[K, T]]) -> dict[K, T]:
    memo = _batch_memo.get()
    if memo is None:
        return load(keys)
    known = memo[kind]
    missing = keys - known.keys()
    if missing:
        loaded = load(missing)
        known.update({key: loaded.get(key) for key in missing})
    return {key: known[key] for key in keys if known[key] is not None}


def readers_by_device(device_ids: Iterable[str]) -> dict[str, ReaderInfo]:
    return memoised("readers", set(device_ids), _load_readers)


def _load_readers(device_ids: set[str]) -> dict[str, ReaderInfo]:
    rows = list(
        Reader.objects.filter(device_id__in=device_ids).values_list(
            "id", "device_id", "room__code", "room_id", "mode", "debounce_s", "enabled"
        )
    )
    placed = placements_of_readers(row[0] for row in rows)
    return {row[1]: ReaderInfo(*row[1:], placements=tuple(placed.get(row[0], ()))) for row in rows}


def _cards(query: Q) -> dict[str, CardInfo]:
    rows = list(
        Card.objects.filter(query).values_list(
            "id", "uid", "student_id", "active", "revoked_at", "issued_at",
            "student__first_name", "student__last_name", "student__number",
        )
    )  # fmt: skip
    owners = ownerships_of_cards(row[0] for row in rows)
    cards, numbers = {}, {}
    for card_id, uid, student_id, active, revoked_at, issued, first, last, number in rows:
        held = tuple(sorted(owners.get(card_id, ()), key=lambda o: o.since))
        # A new card counts for its first owner from the start of its registration day:
        # that day's taps before the registration were made while it was still unknown.
        since = held[0].since if held else None
        same_day = since is not None and since < issued and local_day(since) == local_day(issued)
        registered = issued if same_day else None
        cards[uid] = CardInfo(
            uid, student_id, active, revoked_at, reader_display_name(first, last), registered, held
        )
        numbers[student_id] = number
    memo = _batch_memo.get()
    if memo is not None:
        memo["cards"].update(cards)
        memo["numbers"].update(numbers)
    return cards


def student_numbers(student_ids: Iterable[int]) -> dict[int, str]:
    return memoised("numbers", set(student_ids), _load_numbers)


def _load_numbers(student_ids: set[int]) -> dict[int, str]:
    return dict(Student.objects.filter(id__in=student_ids).values_list("id", "number"))


def cards_by_uid(uids: Iterable[str]) -> dict[str, CardInfo]:
    return memoised("cards", set(uids), lambda missing: _cards(Q(uid__in=missing)))


def cards_of_students(student_ids: Iterable[int]) -> dict[str, CardInfo]:
    found = memoised("student_cards", set(student_ids), _load_cards_of_students)
    return {uid: card for cards in found.values() for uid, card in cards.items()}


def _load_cards_of_students(student_ids: set[int]) -> dict[int, dict[str, CardInfo]]:
    """Every card each student has ever held (its taps then were theirs)."""
    by_student: dict[int, dict[str, CardInfo]] = defaultdict(dict)
    query = Q(student_id__in=student_ids) | Q(id__in=cards_ever_owned_by(student_ids))
    for uid, card in _cards(query).items():
        holders = {o.student_id for o in card.owners} or {card.student_id}
        for student in holders & student_ids:
            by_student[student][uid] = card
    return by_student


def rooms_by_id(room_ids: Iterable[int]) -> dict[int, tuple[str, Place]]:
    """Room id -> (code, place)."""
    return memoised("rooms", set(room_ids), _load_rooms)


def _load_rooms(room_ids: set[int]) -> dict[int, tuple[str, Place]]:
    rows = Room.objects.filter(id__in=room_ids).values_list("id", "code", "building", "floor")
    return {pk: (code, Place(building, floor)) for pk, code, building, floor in rows}


def _reported_dir(value: object) -> str | None:
    return value if value in ("in", "out") else None  # type: ignore[return-value]


def taps_of_cards_on_days(uids: Iterable[str], days: Iterable[date]) -> list[StoredTap]:
    """Every stored door tap of these cards on these local days."""
    uids = set(uids)
    ranges = [day_bounds(day) for day in sorted(set(days))]
    if not uids or not ranges:
        return []
    when = Q()
    for lo, hi in ranges:
        when |= Q(ts__gte=lo, ts__lt=hi)
    rows = (
        RawEvent.objects.filter(when, type=EventType.RFID, sender_kind=SenderKind.DEVICE)
        .filter(uid__in=uids)
        .values_list("sender", "event_id", "uid", "ts", "payload__dir")
    )
    return [StoredTap(s, e, u, ts, _reported_dir(d)) for s, e, u, ts, d in rows]


def taps_between(lo: datetime, hi: datetime) -> list[StoredTap]:
    """Every stored door tap, on any reader, with lo <= ts <= hi."""
    rows = RawEvent.objects.filter(
        type=EventType.RFID, sender_kind=SenderKind.DEVICE, ts__gte=lo, ts__lte=hi
    ).values_list("sender", "event_id", "uid", "ts", "payload__dir")
    return [StoredTap(s, e, u, ts, _reported_dir(d)) for s, e, u, ts, d in rows]


def nth_tap_moment(lo: datetime, hi: datetime, n: int) -> datetime | None:
    """The moment of the n-th stored door tap with lo < ts <= hi, if there are n."""
    moments = (
        RawEvent.objects.filter(
            type=EventType.RFID, sender_kind=SenderKind.DEVICE, ts__gt=lo, ts__lte=hi
        )
        .order_by("ts")
        .values_list("ts", flat=True)
    )
    return next(iter(moments[n - 1 : n]), None)


def motions_near(windows: dict[str, list[tuple[datetime, datetime]]]) -> dict[str, list[Motion]]:
    """PIR motion (state 1) per reader within these windows; `clear` events carry no order."""
    return neighbourhood(windows).motions


@dataclass
class Neighbourhood:
    """Every door event stored on some readers within some windows (one query)."""

    windows: dict[str, list[tuple[datetime, datetime]]]
    taps: list[StoredTap]
    motions: dict[str, list[Motion]]

    def covers(self, sender: str, lo: datetime, hi: datetime) -> bool:
        return any(a <= lo and hi <= b for a, b in self.windows.get(sender, ()))


def neighbourhood(windows: dict[str, list[tuple[datetime, datetime]]]) -> Neighbourhood:
    taps: list[StoredTap] = []
    motions: dict[str, list[Motion]] = defaultdict(list)
    for sender, event_id, kind, uid, ts, reported, sensor, state in _door_rows(windows):
        if kind == EventType.RFID:
            taps.append(StoredTap(sender, event_id, uid, ts, _reported_dir(reported)))
        elif is_motion(sensor, state):
            motions[sender].append(Motion(sensor, ts))  # type: ignore[arg-type]  # narrowed above
    return Neighbourhood(windows, taps, motions)


# A PIR `state` as a payload or the ORM's JSON lookup gives it (1, True) or as MariaDB's
# JSON_VALUE does.
_MOTION = (1, "1", True, "true")


def is_motion(sensor: object, state: object) -> bool:
    """A PIR event that saw someone (not `clear`) on the outer or inner sensor."""
    return sensor in ("outer", "inner") and state in _MOTION


_DOOR_COLUMNS = (
    "sender", "event_id", "type", "uid", "ts", "payload__dir", "payload__sensor", "payload__state",
)  # fmt: skip
DoorRow = tuple[str, str, str, str, datetime, object, object, object]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _door_rows(windows: dict[str, list[tuple[datetime, datetime]]]) -> list[DoorRow]:
    """Door events (taps and motion) on these readers within these windows.

    At a busy door this is most of a batch's reading (every event within 20 s of each new
    one), so on MySQL it is one plain query whose columns need no conversion: times as
    integer microseconds and the few payload fields as JSON_VALUE strings. Through the ORM
    the same rows cost about five times as much (datetime parsing and a json.loads per
    field and row). Other databases take the ORM path.
    """
    if not windows:
        return []
    if connection.vendor != "mysql":
        query = _windows_query(windows)
        orm_rows = RawEvent.objects.filter(
            query, sender_kind=SenderKind.DEVICE, type__in=[EventType.RFID, EventType.PIR]
        ).values_list(*_DOOR_COLUMNS)
        return list(orm_rows)  # type: ignore[arg-type]
    clauses, params = [], []
    adapt = connection.ops.adapt_datetimefield_value
    for lo, hi, senders in _time_bands(windows):
        clauses.append(f"(sender IN ({', '.join(['%s'] * len(senders))}) AND ts BETWEEN %s AND %s)")
        params += [*sorted(senders), adapt(lo), adapt(hi)]
    # Only the table name and placeholders are formatted into the text; values are params.
    sql = (
        "SELECT sender, event_id, type, uid, "  # noqa: S608
        "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ts), "
        "JSON_VALUE(payload, '$.dir'), JSON_VALUE(payload, '$.sensor'), "
        "JSON_VALUE(payload, '$.state') "
        f"FROM {connection.ops.quote_name(RawEvent._meta.db_table)} "
        f"WHERE sender_kind = %s AND ({' OR '.join(clauses)}) "
        # Taps, and motion that saw someone (`clear` events say nothing about order).
        "AND (type = %s OR (type = %s AND JSON_VALUE(payload, '$.state') IN ('1', 'true'))) "
        "ORDER BY ts, id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [SenderKind.DEVICE, *params, EventType.RFID, EventType.PIR])
        found = cursor.fetchall()
    rows = []
    for s, e, k, u, us, d, sensor, state in found:
        ts = _EPOCH + timedelta(microseconds=us)
        if any(lo <= ts <= hi for lo, hi in windows[s]):  # a band can be wider than a window
            rows.append((s, e, k, u, ts, d, sensor, state))
    return rows


# Windows of different readers that lie within this span share one `sender IN (..) AND ts
# BETWEEN` clause. One OR-clause per reader window instead makes MariaDB spend longer
# planning than reading at a few hundred readers, and then scan every device event.
_BAND_SPAN = timedelta(minutes=2)


def _time_bands(
    windows: dict[str, list[tuple[datetime, datetime]]],
) -> list[tuple[datetime, datetime, set[str]]]:
    """Group the windows into (lo, hi, readers) bands, each at most _BAND_SPAN long unless
    one window alone is longer; the rows a band fetches beyond a window are filtered out."""
    ranges = sorted((lo, hi, sender) for sender, found in windows.items() for lo, hi in found)
    bands: list[tuple[datetime, datetime, set[str]]] = []
    for lo, hi, sender in ranges:
        if bands and lo <= bands[-1][0] + _BAND_SPAN and hi <= bands[-1][0] + _BAND_SPAN:
            band_lo, band_hi, senders = bands[-1]
            senders.add(sender)
            bands[-1] = (band_lo, max(band_hi, hi), senders)
        else:
            bands.append((lo, hi, {sender}))
    return bands


def windows_around(
    moments: Iterable[tuple[str, datetime]], before: timedelta, after: timedelta
) -> dict[str, list[tuple[datetime, datetime]]]:
    per_reader: dict[str, list[datetime]] = defaultdict(list)
    for sender, moment in moments:
        per_reader[sender].append(moment)
    return {sender: merged_ranges(points, before, after) for sender, points in per_reader.items()}


def _windows_query(windows: dict[str, list[tuple[datetime, datetime]]]) -> Q | None:
    query = Q()
    for sender, ranges in windows.items():
        for lo, hi in ranges:
            query |= Q(sender=sender, ts__gte=lo, ts__lte=hi)
    return query if windows else None


@dataclass(frozen=True)
class SessionRow:
    id: int
    room: str
    room_id: int
    course_id: int
    info: SessionInfo


def session_rows(query: Q) -> list[SessionRow]:
    rows = ClassSession.objects.filter(query, cancelled=False).values_list(
        "id", "room__code", "room_id", "course_id", "starts_at", "ends_at",
        "course__grace_minutes", "course__min_presence_pct", "course__early_minutes",
        "course__tap_required",
    )  # fmt: skip
    return [
        SessionRow(pk, room, room_id, course_id,
                   SessionInfo(pk, room, starts, ends, Policy(grace, share, early, tap)))
        for pk, room, room_id, course_id, starts, ends, grace, share, early, tap in rows
    ]  # fmt: skip


def sessions_in_rooms_on_days(room_ids: Iterable[int], days: Iterable[date]) -> list[SessionRow]:
    """The sessions starting on these local days in these rooms."""
    wanted = {(room, day) for room in set(room_ids) for day in set(days)}
    found = memoised("sessions", wanted, _load_sessions_of_room_days)
    rows = (row for room_day_rows in found.values() for row in room_day_rows)
    return sorted(rows, key=lambda row: (row.info.starts_at, row.id))


def _load_sessions_of_room_days(
    room_days: set[tuple[int, date]],
) -> dict[tuple[int, date], list[SessionRow]]:
    if not room_days:
        return {}
    when = Q()
    for day in {day for _, day in room_days}:
        lo, hi = day_bounds(day)
        when |= Q(starts_at__gte=lo, starts_at__lt=hi)
    rows = session_rows(when & Q(room_id__in={room for room, _ in room_days}))
    found: dict[tuple[int, date], list[SessionRow]] = {room_day: [] for room_day in room_days}
    for row in rows:
        room_day = (row.room_id, local_day(row.info.starts_at))
        if room_day in found:
            found[room_day].append(row)
    return found
