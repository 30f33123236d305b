"""A transport's batch: the memo, the transaction and the door locks, owned here.

The MQTT loop and the HTTP endpoint validate messages against the contract and store the
events (devices.mqtt.pipeline); everything that decides where students are and what their
records say happens through an IngestBatch:

    with ingest_batch() as batch:
        readers = batch.readers(senders)          # sender checks, before any write
        with batch.writing(senders):              # transaction; PIR doors locked first
            ...store the new events...
            answers = batch.apply_events(new_events)
        # committed: publish the answers

Leaving `writing` asks for late events' windows to be judged again as the last statement
before commit (whether an event is late is decided by the clock; see engine.crowd).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from django.db import transaction

from attendance.engine.loading import ReaderInfo, one_batch, readers_by_device
from attendance.engine.locks import lock_pir_readers
from attendance.services.doors import TapAnswer, apply_new_events, request_rejudging
from devices.models import RawEvent, ReaderMode


class IngestBatch:
    def __init__(self) -> None:
        self._applied: list[RawEvent] = []

    def readers(self, device_ids: Iterable[str]) -> dict[str, ReaderInfo]:
        """The registered readers among these senders (read once per batch, or kept)."""
        return readers_by_device(device_ids)

    def pir_doors(self, device_ids: Iterable[str]) -> set[str]:
        return {d for d, info in self.readers(device_ids).items() if info.mode == ReaderMode.PIR}

    @contextmanager
    def writing(self, device_ids: Iterable[str]) -> Iterator[None]:
        """The batch's one transaction, holding the PIR doors of these senders first:
        the engine reads a door's motion under its lock, and the transport may write the
        door's row (status, last seen) after the engine has locked students."""
        with transaction.atomic():
            lock_pir_readers(self.pir_doors(device_ids))
            yield
            request_rejudging(self._applied)

    def apply_events(self, new_events: Sequence[RawEvent]) -> dict[tuple[str, str], TapAnswer]:
        """Apply newly stored events (door and phone); answers to taps by (device, id)."""
        if not new_events:
            return {}
        self._applied += new_events
        return apply_new_events(new_events)


@contextmanager
def ingest_batch() -> Iterator[IngestBatch]:
    with one_batch():
        yield IngestBatch()
