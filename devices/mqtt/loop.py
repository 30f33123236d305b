"""The ingest loop: collect messages into batches, commit them, then answer and acknowledge.

paho's network thread only puts messages on a queue; this loop (the main thread) takes a
batch (N messages, T ms after the first, or a pause in the stream, whichever comes
first), hands it to pipeline.handle_batch, publishes the answers, and only then acknowledges
the messages to the broker. A database outage stops acknowledging and retries the same batch
with backoff; the broker keeps everything unacknowledged, so nothing is lost. A stop request
(SIGTERM/SIGINT set a flag) lets the current batch finish before disconnecting.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import DatabaseError, close_old_connections
from django.db import connection as db_connection
from django.utils import timezone

from attendance import services
from devices.dynsec_sync import reconcile_if_due
from devices.models import IngestWorker
from devices.mqtt.client import BrokerUnavailable, Inbound, MqttClient, MqttError
from devices.mqtt.committing import DatabaseAway, commit_batch, is_lock_conflict
from devices.mqtt.pipeline import BatchOutcome
from devices.mqtt.readers import mark_silent_readers_offline
from zias import metrics

log = logging.getLogger("devices.ingest")

BACKOFF_MIN_S = 0.5
# A batch also closes when the stream pauses this long: a broker's in-flight window (20 on a
# default Mosquitto) can stop the flow until this batch is acknowledged, so waiting out
# INGEST_BATCH_MS would only add latency.
IDLE_GAP_S = 0.003
BACKOFF_MAX_S = 30.0
# Settled door taps are judged in short slices between batches: one a second while caught
# up or while messages wait (batches first: a reader is waiting for its answer), back to
# back while behind and the inbox is empty.
SETTLE_EVERY_S = 1.0
SETTLE_RETRY_S = 5.0  # after a slice failed for a reason other than the database


def contract_topics(prefix: str, shared_group: str = "") -> list[str]:
    topics = [f"{prefix}/devices/+/events", f"{prefix}/devices/+/status", f"{prefix}/phones/+/ble"]
    return [f"$share/{shared_group}/{t}" for t in topics] if shared_group else topics


@dataclass
class LoopConfig:
    prefix: str
    batch_size: int
    batch_ms: int
    tick_s: float
    shared_group: str = ""
    name: str = ""


BatchHook = Callable[[Sequence[Inbound], BatchOutcome, float], None]


class IngestLoop:
    def __init__(
        self, client: MqttClient, config: LoopConfig, on_committed: BatchHook | None = None
    ) -> None:
        self.client = client
        self.config = config
        self.name = config.name or f"{client.client_id}@{socket.gethostname()}"
        self.on_committed = on_committed
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        client.on_message = self.inbox.put
        self._stop = threading.Event()
        self._next_tick = 0.0
        self._next_settle = 0.0
        self._last_settle = 0.0
        self._started_at = timezone.now()
        self._in_hand: list[Inbound] = []
        self.totals = {"stored": 0, "duplicates": 0, "rejected": 0, "quarantined": 0}

    # --- control ------------------------------------------------------------------------

    def request_stop(self, *_: object) -> None:
        """Safe from a signal handler: only sets a flag the loop reads."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> int:
        self._connect_with_backoff()
        while not self.stopping:
            self.run_once()
        self._shutdown()
        return 0

    def run_once(self, wait_s: float = 0.2) -> int:
        """One batch (if any arrives within wait_s), then the periodic tick or a slice of
        judging settled door taps, when due."""
        settling_due = time.monotonic() >= self._next_settle
        batch = self._collect(0 if settling_due else wait_s)
        if batch:
            self.process(batch)
        moment = time.monotonic()
        if moment >= self._next_tick:
            self.tick()
        elif moment >= self._next_settle and (
            self.inbox.empty() or moment >= self._last_settle + SETTLE_EVERY_S
        ):
            self.settle()
        return len(batch)

    # --- batches ------------------------------------------------------------------------

    def _collect(self, wait_s: float) -> list[Inbound]:
        """The next batch: what is queued, then more until INGEST_BATCH_MS after the first
        message arrived (not after this call began: messages that queued up during the
        previous batch have waited already), a full batch, or a pause in the stream."""
        try:
            first = self.inbox.get(timeout=wait_s)
        except queue.Empty:
            return []
        batch = [first]
        self._in_hand = batch
        limit = self.config.batch_size
        while len(batch) < limit:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        # Receipt is stamped by the wall clock; clamped, so a clock step cannot stretch it.
        batch_s = self.config.batch_ms / 1000
        waited = min(max(time.time() - first.received_at, 0.0), batch_s)
        wait_until = time.monotonic() + batch_s - waited
        while len(batch) < limit:
            remaining = wait_until - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self.inbox.get(timeout=min(remaining, IDLE_GAP_S)))
            except queue.Empty:
                break
        return batch

    def process(self, batch: list[Inbound]) -> None:
        started = time.monotonic()  # for zias_ingest_batch_seconds
        outcome = self._commit_with_retry(batch)
        if outcome is None:
            return  # stopping while the database is away: leave it unacknowledged
        committed_at = time.time()
        for answer in outcome.acks:
            try:
                self.client.publish(answer.topic, answer.payload, qos=1)
            except MqttError as exc:  # the broker will have the next one; the event is safe
                log.warning("could not answer %s: %s", answer.topic, exc)
        stale = sum(not self.client.ack(message) for message in batch)
        if stale:
            log.info("%d messages came on an earlier connection; the broker redelivers them", stale)
        self._in_hand = []
        self.totals["stored"] += outcome.stored
        self.totals["duplicates"] += outcome.duplicates
        self.totals["rejected"] += len(outcome.rejections)
        self.totals["quarantined"] += outcome.quarantined
        metrics.observe_batch(batch, outcome, started)
        if self.on_committed:
            self.on_committed(batch, outcome, committed_at)

    def _commit_with_retry(self, batch: list[Inbound]) -> BatchOutcome | None:
        """Commit the batch (conflicts retried, bugs quarantined: see committing); while the
        database is away, keep it unacknowledged and try again with backoff."""
        delay = BACKOFF_MIN_S
        while True:
            try:
                return commit_batch(batch, self.config.prefix, pause=self._stop.wait)
            except DatabaseAway as exc:
                log.error("database unavailable (%s); retrying the batch in %.1fs", exc, delay)
                _reset_db_connection()
                if self._stop.wait(delay):
                    return None
                delay = min(delay * 2, BACKOFF_MAX_S)

    # --- periodic work ------------------------------------------------------------------

    def tick(self) -> None:
        self._next_tick = time.monotonic() + self.config.tick_s
        now = timezone.now()
        try:
            mark_silent_readers_offline(now)
            services.periodic_tick(now)
            self._record_state(now)
        except DatabaseError as exc:
            log.error("periodic tick failed (%s); next one in %ss", exc, self.config.tick_s)
            _reset_db_connection()
        reconcile_if_due()  # the broker's dynamic security users, every few minutes

    def settle(self) -> None:
        """One slice of judging settled door taps. It never stops the loop: a failure is
        logged and the slice tried again later (slices alternate between re-judge requests
        and the cursor, so one that keeps failing does not hold up the other)."""
        behind = False
        self._last_settle = time.monotonic()
        try:
            behind = services.settle_door_taps(timezone.now())
            # Then a slice of what staff changes asked to recompute (a course's policy...).
            behind = services.work_recompute_slice(timezone.now()) or behind
        except DatabaseError as exc:
            if is_lock_conflict(exc):  # a batch held rows the slice needed: nothing broken
                log.info("judging settled door taps rolled back by a lock conflict (%s)", exc)
            else:
                log.error("judging settled door taps failed (%s); trying again shortly", exc)
                _reset_db_connection()
        except Exception:
            log.exception("judging settled door taps failed; trying again in %ss", SETTLE_RETRY_S)
            self._next_settle = time.monotonic() + SETTLE_RETRY_S
            return
        self._next_settle = time.monotonic() + (0 if behind else SETTLE_EVERY_S)

    def _record_state(self, now: datetime, stopped: bool = False) -> None:
        oldest = self._oldest_pending()
        IngestWorker.objects.update_or_create(
            name=self.name[:128],
            defaults={
                "started_at": self._started_at,
                "last_tick_at": now,
                "pending": len(self._in_hand) + self.inbox.qsize(),
                "oldest_pending_at": datetime.fromtimestamp(oldest, tz=UTC) if oldest else None,
                "stored_total": self.totals["stored"],
                "duplicate_total": self.totals["duplicates"],
                "rejected_total": self.totals["rejected"],
                "stopped": stopped,
                **self._broker_contact(now),
            },
        )

    def _broker_contact(self, now: datetime) -> dict[str, datetime]:
        """For /health, which reads it instead of connecting to the broker itself. paho's
        keepalive drops a connection the broker stopped answering, so "connected" means
        the broker answered within about a keepalive."""
        return {"broker_contact_at": now} if self.client.is_connected else {}

    def _oldest_pending(self) -> float | None:
        if self._in_hand:
            return self._in_hand[0].received_at
        with self.inbox.mutex:
            return self.inbox.queue[0].received_at if self.inbox.queue else None

    # --- connection -----------------------------------------------------------------------

    def _connect_with_backoff(self) -> None:
        delay = BACKOFF_MIN_S
        while not self.stopping:
            try:
                self.client.connect()
                break
            except BrokerUnavailable as exc:
                log.error("broker unavailable (%s); retrying in %.1fs", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
        if self.stopping:
            return
        topics = contract_topics(self.config.prefix, self.config.shared_group)
        self.client.subscribe(topics, qos=1)
        log.info("ingest %s listening on %s", self.name, ", ".join(topics))

    def _shutdown(self) -> None:
        # Messages still queued were never handled: not acknowledging them means the broker
        # delivers them again to the next session.
        log.info("ingest %s stopping (%s)", self.name, self.totals)
        self.client.disconnect()
        with contextlib.suppress(DatabaseError):
            self._record_state(timezone.now(), stopped=True)


def _reset_db_connection() -> None:
    """Drop a broken connection so the next query opens a new one."""
    with contextlib.suppress(DatabaseError):
        db_connection.close()
    close_old_connections()
