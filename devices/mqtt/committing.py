"""A batch's fate, sorted by what fixes it (the MQTT loop and the HTTP endpoint share this).

- A concurrent writer's conflict (deadlock, lock wait, a unique-key race) rolled the batch
  back: nothing is wrong with it, so it is run again at once, a few times.
- The database being away raises DatabaseAway: the loop stops acknowledging and backs off,
  HTTP answers 503. Nothing is lost: the broker (or the sender) still holds the messages.
- Input the contract refuses was answered and kept as rejected by the pipeline itself.
- Anything else is our bug. A batch of several messages is split so the others go in; the
  one message that still fails is kept whole in quarantine with the error, each of its taps
  is answered `invalid` with reason `server_error`, and staff can re-run it from the admin.
"""

from __future__ import annotations

import json
import logging
import random
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError

from devices import acks as ack_format
from devices.models import QuarantinedMessage
from devices.mqtt import contract
from devices.mqtt.pipeline import BatchOutcome, Message, Outgoing, handle_batch

log = logging.getLogger("devices.ingest")

CONFLICT_RETRIES = 30  # a conflict is rare; thirty in a row means something else is wrong
# MySQL/MariaDB: deadlock, lock wait timeout. PostgreSQL: serialization failure, deadlock.
_LOCK_CONFLICT_CODES = {1213, 1205, "40001", "40P01"}


class DatabaseAway(Exception):
    """The database cannot be reached: try the same batch again later."""


def is_lock_conflict(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc
    code = getattr(cause, "pgcode", None) or (cause.args[0] if cause.args else None)
    return code in _LOCK_CONFLICT_CODES


def commit_batch(
    messages: Sequence[Message],
    prefix: str,
    *,
    pause: Callable[[float], object] = time.sleep,
    quarantine: bool = True,
) -> BatchOutcome:
    """Store and apply the batch; retries conflicts, quarantines what fails on its own.
    With quarantine=False (a staff re-run) a failing message raises instead."""
    try:
        return _with_conflicts_retried(messages, prefix, pause)
    except DatabaseAway:
        raise
    except Exception as exc:
        if len(messages) > 1:
            log.exception("batch of %d failed; running its messages one by one", len(messages))
            return _merged(
                [commit_batch([m], prefix, pause=pause, quarantine=quarantine) for m in messages]
            )
        if not quarantine:
            raise
        return _quarantine(messages[0], prefix, exc)


def _with_conflicts_retried(
    messages: Sequence[Message], prefix: str, pause: Callable[[float], object]
) -> BatchOutcome:
    for attempt in range(CONFLICT_RETRIES):
        try:
            return handle_batch(messages, prefix=prefix)
        except (OperationalError, InterfaceError) as exc:
            if not is_lock_conflict(exc):
                raise DatabaseAway(str(exc)) from exc
            log.info("batch rolled back by a lock conflict (%s); running it again", exc)
        except IntegrityError as exc:
            # Every writer locks its students first, so two writers of one new row wait for
            # each other; a unique key still hit comes from a writer outside that order
            # (an old process in a rolling deploy, a script). Either way it is not the input.
            log.warning("batch hit a unique key another writer took (%s); running it again", exc)
            if attempt >= 4:
                raise
        pause(random.uniform(0.005, 0.05) * (attempt + 1))
    raise DatabaseError(f"still conflicting after {CONFLICT_RETRIES} attempts")


def _merged(outcomes: list[BatchOutcome]) -> BatchOutcome:
    merged = BatchOutcome()
    for single in outcomes:
        merged.acks += single.acks
        merged.rejections += single.rejections
        merged.new_keys += single.new_keys
        merged.duplicates += single.duplicates
        merged.quarantined += single.quarantined
    return merged


def _quarantine(message: Message, prefix: str, exc: Exception) -> BatchOutcome:
    log.error("processing %s failed; keeping it whole in quarantine", message.topic, exc_info=exc)
    QuarantinedMessage.objects.create(
        topic=message.topic[:255],
        payload=bytes(message.payload),
        retain=bool(message.retain),
        received_at=datetime.fromtimestamp(message.received_at, tz=UTC),
        error="".join(traceback.format_exception(exc))[-20_000:],
    )
    outcome = BatchOutcome(quarantined=1)
    device = _reader_of(message.topic, prefix)
    if device:
        topic = f"{prefix}/devices/{device}/ack"
        for event_id in _tap_ids(message.payload):
            body = ack_format.invalid(event_id, ack_format.SERVER_ERROR)
            outcome.acks.append(Outgoing(device, topic, body))
    return outcome


def _reader_of(topic: str, prefix: str) -> str | None:
    try:
        parsed = contract.parse_topic(prefix, topic)
    except contract.ContractError:
        return None
    return parsed.sender if parsed.kind == "events" else None


def _tap_ids(payload: bytes) -> list[str]:
    """The ids of the rfid events in a reader's message, so each tap gets its answer."""
    try:
        body = json.loads(payload)
    except ValueError:
        return []
    items = body if isinstance(body, list) else [body]
    return [
        str(item["id"])[:64]
        for item in items
        if isinstance(item, dict) and item.get("type") == "rfid" and item.get("id")
    ]
