"""One batch of incoming messages in, one transaction, the answers out.

`handle_batch(messages)` is the whole ingest step without a broker: validate every message
against the contract, store new events with multi-row inserts, tell new from duplicate (by
what the insert returns on MariaDB, else one read-back of the batch's keys), let the
attendance engine apply the new ones in the same transaction, keep rejected input with its
reason, update reader health, and return the answers to publish once the transaction has
committed. The MQTT loop and the HTTP endpoint
both call it; tests call it directly.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from django.conf import settings
from django.db import connection
from django.db.models import Field
from django.db.models.constants import OnConflict
from django.utils import timezone

from attendance.services import IngestBatch, TapAnswer, ingest_batch
from beacons.models import Phone
from devices import acks as ack_format
from devices.models import RawEvent, RejectedMessage, SenderKind
from devices.mqtt import contract
from devices.mqtt.contract import ContractError
from devices.mqtt.readers import apply_reader_statuses, mark_readers_seen

log = logging.getLogger("devices.ingest")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KEY_CHUNK = 500  # keys per read-back query, well inside every database's parameter limit
_FIELD_LIMITS = {"topic": 255, "reason": 500, "sender": 64}

EventKey = tuple[str, str, str]  # (sender kind, sender, event id)


class Message(Protocol):
    """What the pipeline needs of a message; client.Inbound and IncomingMessage both fit."""

    topic: str
    payload: bytes
    retain: bool
    received_at: float


@dataclass
class IncomingMessage:
    topic: str
    payload: bytes
    retain: bool = False
    received_at: float = field(default_factory=lambda: timezone.now().timestamp())
    # Where a rejected row says it came from; HTTP senders use "http:<device>".
    origin: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """An answer to publish on a reader's .../ack topic after commit."""

    device: str
    topic: str
    body: dict[str, Any]

    @property
    def payload(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Rejection:
    message_index: int
    origin: str
    sender: str
    reason: str
    event_id: str = ""
    whole_message: bool = False


@dataclass
class BatchOutcome:
    acks: list[Outgoing] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    new_keys: list[EventKey] = field(default_factory=list)
    duplicates: int = 0
    quarantined: int = 0

    @property
    def stored(self) -> int:
        return len(self.new_keys)


@dataclass
class _Plan:
    """What a batch will write, gathered before the transaction opens."""

    candidates: list[RawEvent] = field(default_factory=list)
    # Answer slots for rfid events, in arrival order: (device, event id, key or None, reason).
    answers: list[tuple[str, str, EventKey | None, str | None]] = field(default_factory=list)
    statuses: list[tuple[str, contract.ReaderStatus, bool]] = field(default_factory=list)
    readers_seen: set[str] = field(default_factory=set)
    # Registered readers the batch has messages from: their PIR doors are locked first.
    devices: set[str] = field(default_factory=set)
    phones_seen: set[str] = field(default_factory=set)
    rejections: list[Rejection] = field(default_factory=list)
    rejected_rows: list[RejectedMessage] = field(default_factory=list)


def handle_batch(messages: Sequence[Message], *, prefix: str | None = None) -> BatchOutcome:
    """Validate, store and apply a batch; returns the answers to publish after commit."""
    prefix = prefix or settings.MQTT_TOPIC_PREFIX
    with ingest_batch() as batch:  # the readers the plan reads are the engine's too
        return _handle_batch(messages, prefix, batch)


def _handle_batch(messages: Sequence[Message], prefix: str, batch: IngestBatch) -> BatchOutcome:
    now = timezone.now()
    plan = _plan_batch(messages, prefix, now, batch)
    outcome = BatchOutcome(rejections=plan.rejections)
    with batch.writing(plan.devices):
        new_events, duplicate_keys = _store_events(plan.candidates)
        answers = batch.apply_events(new_events)
        if plan.rejected_rows:
            RejectedMessage.objects.bulk_create(plan.rejected_rows)
        apply_reader_statuses(plan.statuses, now)
        mark_readers_seen(plan.readers_seen, now)
        if plan.phones_seen:
            Phone.objects.filter(phone_id__in=plan.phones_seen).update(last_seen=now)
    outcome.new_keys = [_key(e) for e in new_events]
    outcome.duplicates = len(duplicate_keys)
    outcome.acks = _answers(plan.answers, answers, duplicate_keys, prefix)
    for rejection in plan.rejections:
        log.warning(
            "rejected %s%s: %s",
            rejection.origin,
            f" event {rejection.event_id!r}" if rejection.event_id else "",
            rejection.reason,
        )
    return outcome


# --- planning: validation and sender checks, no writes -------------------------------------


def _plan_batch(
    messages: Sequence[Message], prefix: str, now: datetime, batch: IngestBatch
) -> _Plan:
    plan = _Plan()
    topics: list[contract.Topic | None] = []
    for index, message in enumerate(messages):
        try:
            topics.append(contract.parse_topic(prefix, message.topic))
        except ContractError as exc:
            topics.append(None)
            _reject(plan, index, message, "", exc.reason, whole=True, now=now)
    device_ids = {t.sender for t in topics if t and t.kind != "ble"}
    phone_ids = {t.sender for t in topics if t and t.kind == "ble"}
    readers = batch.readers(device_ids)
    phones = Phone.objects.only("id", "phone_id", "active").in_bulk(
        phone_ids, field_name="phone_id"
    )
    for index, (message, topic) in enumerate(zip(messages, topics, strict=True)):
        if topic is None:
            continue
        refusal = _sender_refusal(topic, readers, phones)
        if refusal:
            _reject(plan, index, message, topic.sender, refusal, whole=True, now=now)
            continue
        if topic.kind != "ble":
            plan.devices.add(topic.sender)
        if topic.kind == "events":
            _plan_reader_events(plan, index, message, topic.sender, prefix, now)
        elif topic.kind == "status":
            _plan_status(plan, index, message, topic.sender, now)
        else:
            _plan_ble(plan, index, message, topic.sender, now)
    return plan


def _sender_refusal(
    topic: contract.Topic, readers: dict[str, Any], phones: dict[str, Phone]
) -> str | None:
    if topic.kind == "ble":
        phone = phones.get(topic.sender)
        if phone is None:
            return f"unknown phone {topic.sender!r}"
        return None if phone.active else f"phone {topic.sender!r} is not active"
    reader = readers.get(topic.sender)
    if reader is None:
        return f"unknown device {topic.sender!r}"
    return None if reader.enabled else f"device {topic.sender!r} is disabled"


def _plan_reader_events(
    plan: _Plan, index: int, message: Message, device: str, prefix: str, now: datetime
) -> None:
    try:
        parsed = contract.split_reader_events(message.payload)
    except ContractError as exc:
        _reject(plan, index, message, device, exc.reason, whole=True, now=now)
        return
    received_at = _received_at(message, now)
    for event in parsed.events:
        raw = _raw_event(SenderKind.DEVICE, device, event.id, event.type, event.ts_ms, received_at)
        raw.uid = event.uid or ""
        raw.payload = event.raw
        plan.candidates.append(raw)
        if event.type == "rfid":
            plan.answers.append((device, event.id, _key(raw), None))
    for error in parsed.errors:
        _reject(plan, index, message, device, error.reason, event_id=error.event_id, now=now)
        if error.event_id and error.event_type == "rfid":
            plan.answers.append((device, error.event_id, None, error.reason))
    plan.readers_seen.add(device)


def _plan_status(plan: _Plan, index: int, message: Message, device: str, now: datetime) -> None:
    try:
        status = contract.parse_reader_status(message.payload)
    except ContractError as exc:
        _reject(plan, index, message, device, exc.reason, whole=True, now=now)
        return
    plan.statuses.append((device, status, bool(message.retain)))


def _plan_ble(plan: _Plan, index: int, message: Message, phone: str, now: datetime) -> None:
    try:
        report = contract.parse_phone_ble(message.payload)
    except ContractError as exc:
        _reject(plan, index, message, phone, exc.reason, event_id=exc.event_id, now=now)
        return
    received_at = _received_at(message, now)
    raw = _raw_event(SenderKind.PHONE, phone, report.id, "ble", report.ts_ms, received_at)
    raw.payload = report.raw
    plan.candidates.append(raw)
    plan.phones_seen.add(phone)


def _raw_event(
    kind: str, sender: str, event_id: str, type_: str, ts_ms: int | None, received_at: datetime
) -> RawEvent:
    return RawEvent(
        sender_kind=kind,
        sender=sender,
        event_id=event_id,
        type=type_,
        ts=_EPOCH + timedelta(milliseconds=ts_ms) if ts_ms is not None else received_at,
        ts_from_sender=ts_ms is not None,
        received_at=received_at,
    )


def _reject(
    plan: _Plan,
    index: int,
    message: Message,
    sender: str,
    reason: str,
    *,
    now: datetime,
    event_id: str | None = None,
    whole: bool = False,
) -> None:
    origin = getattr(message, "origin", None) or message.topic
    rejection = Rejection(index, origin, sender, reason, event_id or "", whole)
    plan.rejections.append(rejection)
    plan.rejected_rows.append(
        RejectedMessage(
            topic=_cut(origin, "topic"),
            reason=_cut(reason, "reason"),
            sender=_cut(sender, "sender"),
            event_id=event_id or "",
            payload=message.payload[: contract.MAX_PAYLOAD_BYTES].decode("utf-8", "replace"),
            received_at=_received_at(message, now),
        )
    )


# --- storing: insert-ignore; RETURNING (MariaDB) or one read-back tells new from duplicate --


def _store_events(candidates: list[RawEvent]) -> tuple[list[RawEvent], set[EventKey]]:
    """Insert the batch's events; returns (the new ones with pks, keys already held)."""
    first: dict[EventKey, RawEvent] = {}
    duplicates: set[EventKey] = set()
    for event in candidates:
        key = _key(event)
        if key in first:
            duplicates.add(key)  # the same event twice in one batch: the later one repeats
        else:
            first[key] = event
    if not first:
        return [], duplicates
    token = secrets.randbits(62)
    for event in first.values():
        event.ingest_batch = token
    if _insert_returns_new_rows():
        for pk, kind, sender, event_id in _insert_returning_new(list(first.values())):
            first[(kind, sender, event_id)].pk = pk
        new = [event for event in first.values() if event.pk is not None]
        return new, duplicates | {key for key, event in first.items() if event.pk is None}
    insert_ignoring_duplicates(list(first.values()))
    new = []
    for pk, kind, sender, event_id, batch in _read_back(first.keys()):
        stored = first.get((kind, sender, event_id))
        if stored is None:
            continue
        if batch == token:
            stored.pk = pk
            new.append(stored)
        else:
            duplicates.add((kind, sender, event_id))
    return new, duplicates


_INSERT_FIELDS = (
    "sender_kind",
    "sender",
    "event_id",
    "type",
    "ts",
    "ts_from_sender",
    "uid",
    "received_at",
    "payload",
    "ingest_batch",
)


def _insert_returns_new_rows() -> bool:
    """MariaDB (10.5+) answers INSERT IGNORE .. RETURNING with the rows it inserted, and only
    those: the new events and their ids without reading the batch back."""
    return connection.vendor == "mysql" and connection.features.can_return_rows_from_bulk_insert


def _insert_returning_new(events: list[RawEvent]) -> list[tuple[int, str, str, str]]:
    """(id, sender kind, sender, event id) of each event inserted; duplicates are skipped."""
    sql, rows = _insert_parts(events)
    values, _, _ = sql.partition(" VALUES ")
    one_row = f"({', '.join(['%s'] * len(_INSERT_FIELDS))})"
    inserted: list[tuple[int, str, str, str]] = []
    with connection.cursor() as cursor:
        # One statement per chunk, rows written out: executemany cannot fold RETURNING.
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            cursor.execute(
                f"{values} VALUES {', '.join([one_row] * len(chunk))} "
                "RETURNING id, sender_kind, sender, event_id",
                [value for row in chunk for value in row],
            )
            inserted += cursor.fetchall()
    return inserted


def insert_ignoring_duplicates(events: list[RawEvent]) -> None:
    """One multi-row INSERT that skips keys already held (INSERT IGNORE / INSERT OR IGNORE).

    bulk_create(ignore_conflicts=True) says the same, but spends most of a batch's time
    preparing each field through the ORM; here the few conversions are done directly.
    MySQLdb's executemany folds the rows into multi-row INSERTs; SQLite's runs one prepared
    statement per row inside the transaction, which is as fast there.
    """
    if connection.vendor not in {"mysql", "sqlite"}:
        RawEvent.objects.bulk_create(events, ignore_conflicts=True, batch_size=1000)
        return
    sql, rows = _insert_parts(events)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            cursor.executemany(sql, rows[start : start + 1000])


def _insert_parts(events: list[RawEvent]) -> tuple[str, list[tuple]]:
    """The one-row INSERT IGNORE statement and each event's values, converted for it."""
    ops = connection.ops
    meta = RawEvent._meta
    columns = ", ".join(
        ops.quote_name(cast(Field, meta.get_field(name)).column) for name in _INSERT_FIELDS
    )
    statement = ops.insert_statement(on_conflict=OnConflict.IGNORE)
    sql = (
        f"{statement} {ops.quote_name(meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(_INSERT_FIELDS))})"
    )
    adapt = ops.adapt_datetimefield_value
    rows = [
        (
            e.sender_kind,
            e.sender,
            e.event_id,
            e.type,
            adapt(e.ts),
            e.ts_from_sender,
            e.uid,
            adapt(e.received_at),
            json.dumps(e.payload),
            e.ingest_batch,
        )
        for e in events
    ]
    return sql, rows


def _read_back(keys: Iterable[EventKey]) -> Iterable[tuple[int, str, str, str, int | None]]:
    by_sender: dict[tuple[str, str], list[str]] = {}
    for kind, sender, event_id in keys:
        by_sender.setdefault((kind, sender), []).append(event_id)
    # Group senders so each query is a tight (sender IN .., event_id IN ..) over the unique
    # index; the extra pairs that cross-product may match are filtered out by the caller.
    pending: list[tuple[str, str, str]] = [
        (k, s, e) for (k, s), ids in by_sender.items() for e in ids
    ]
    for start in range(0, len(pending), _KEY_CHUNK):
        chunk = pending[start : start + _KEY_CHUNK]
        yield from RawEvent.objects.filter(
            sender_kind__in={k for k, _, _ in chunk},
            sender__in={s for _, s, _ in chunk},
            event_id__in={e for _, _, e in chunk},
        ).values_list("pk", "sender_kind", "sender", "event_id", "ingest_batch")


# --- answers ---------------------------------------------------------------------------------


def _answers(
    slots: list[tuple[str, str, EventKey | None, str | None]],
    engine_answers: dict[tuple[str, str], TapAnswer],
    duplicate_keys: set[EventKey],
    prefix: str,
) -> list[Outgoing]:
    acks: list[Outgoing] = []
    answered_new: set[EventKey] = set()
    for device, event_id, key, reason in slots:
        if key is None:
            body = ack_format.invalid(event_id, reason or "invalid")
        elif key not in answered_new and (device, event_id) in engine_answers:
            answered_new.add(key)
            body = ack_format.of_answer(engine_answers[(device, event_id)])
        elif key in duplicate_keys or key in answered_new:
            body = ack_format.duplicate(event_id)
        else:  # stored, but the engine gave no answer: should not happen; say so plainly
            body = ack_format.invalid(event_id, "not processed")
        acks.append(Outgoing(device, f"{prefix}/devices/{device}/ack", body))
    return acks


def _key(event: RawEvent) -> EventKey:
    return (event.sender_kind, event.sender, event.event_id)


def _received_at(message: Message, now: datetime) -> datetime:
    stamp = getattr(message, "received_at", None)
    return datetime.fromtimestamp(stamp, tz=UTC) if stamp else now


def _cut(value: str, name: str) -> str:
    return value[: _FIELD_LIMITS[name]]


__all__ = [
    "BatchOutcome",
    "IncomingMessage",
    "Outgoing",
    "Rejection",
    "handle_batch",
    "insert_ignoring_duplicates",
]
