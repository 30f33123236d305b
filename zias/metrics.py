"""Every Prometheus metric ZIAS exports, and the one-line hooks that move them.

The ingest loop, the HTTP event endpoint and the live page's consumer each call one hook
here; nothing else in the code base names a metric. Figures that live in the database
(readers online, ingest lag, the recompute backlog) are read when /metrics is scraped
(zias.metrics_view), so they are right whichever process serves the scrape.

Several processes (ingest workers, Daphne processes): set PROMETHEUS_MULTIPROC_DIR to a
directory they all share, empty it before they start, and each process writes its counters
there; /metrics adds them up (prometheus_client.multiprocess). Without it each process
counts for itself, which suits the one-process `serve`.
"""

from __future__ import annotations

import atexit
import os
import re
import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge, Histogram, multiprocess, values

if TYPE_CHECKING:
    from devices.mqtt.pipeline import BatchOutcome, Message

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
# Each process's files are named by host and pid, not pid alone: containers sharing the
# directory (web, ingest) all run as pid 1.
_HOST = socket.gethostname().replace("_", "-")


def process_name() -> str:
    return f"{_HOST}-{os.getpid()}"


if MULTIPROCESS:
    values.ValueClass = values.MultiProcessValue(process_name)
    # A process that ends takes its live gauges (connections open now) with it; its counters
    # stay in the directory and keep counting in the totals.
    atexit.register(lambda: multiprocess.mark_process_dead(process_name()))

# --- definitions --------------------------------------------------------------------------

INGEST_MESSAGES = Counter(
    "zias_ingest_messages",
    "MQTT or HTTP messages the ingest handled: accepted (stored, duplicate or partly "
    "refused), rejected whole, or quarantined (the server failed on it; kept to re-run).",
    ["transport", "outcome"],
)
INGEST_EVENTS = Counter(
    "zias_ingest_events",
    "Events inside the messages: stored (new), duplicate (already held) or rejected.",
    ["transport", "outcome"],
)
TAP_ANSWERS = Counter(
    "zias_tap_answers", "Answers sent to readers for card taps, by result.", ["result"]
)
REJECTED = Counter(
    "zias_rejected",
    "Messages or events kept as rejected, by the kind of reason (see REASON_KINDS).",
    ["reason"],
)
BLE_REPORTS = Counter(
    "zias_ble_reports", "Phones' BLE scan reports: stored, duplicate or rejected.", ["outcome"]
)
BATCH_SECONDS = Histogram(
    "zias_ingest_batch_seconds",
    "Time to commit one batch (validate, store, apply, write), answers and acks included.",
    ["transport"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10),
)
BATCH_MESSAGES = Histogram(
    "zias_ingest_batch_messages",
    "Messages per batch.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
TAP_TO_ACK_SECONDS = Histogram(
    "zias_tap_to_ack_seconds",
    "From a card tap's message reaching the ingest to its answer being sent.",
    ["transport"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10),
)
WEBSOCKETS = Gauge(
    "zias_websocket_connections",
    "Live room pages connected now.",
    multiprocess_mode="livesum",
)
LIVE_MESSAGES = Counter(
    "zias_live_messages_sent", "Messages sent to live room pages, by type.", ["type"]
)

# Rejection reasons are sentences naming the sender or the value; a label must come from a
# short fixed list, so each reason is sorted into a kind by its wording (first match wins).
REASON_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("unknown_sender", re.compile(r"^unknown (device|phone)")),
    ("sender_disabled", re.compile(r"is disabled|is not active")),
    ("bad_topic", re.compile(r"^topic |sender id")),
    ("oversized", re.compile(r"bytes; the limit is")),
    ("not_json", re.compile(r"not UTF-8|not JSON")),
)


def reason_kind(reason: str) -> str:
    for kind, pattern in REASON_KINDS:
        if pattern.search(reason):
            return kind
    return "contract"  # a field out of the contract: type, uid, ts, rssi...


# --- hooks --------------------------------------------------------------------------------


def observe_batch(
    messages: Sequence[Message], outcome: BatchOutcome, started: float, transport: str = "mqtt"
) -> None:
    """After a batch committed and its answers went out; `started` is time.monotonic()
    when it was taken in hand."""
    BATCH_SECONDS.labels(transport).observe(max(time.monotonic() - started, 0.0))
    if transport == "mqtt":
        BATCH_MESSAGES.observe(len(messages))
    # A message is refused whole at most once; the rest of the refusals are single events.
    whole = min(sum(r.whole_message for r in outcome.rejections), len(messages))
    quarantined = min(outcome.quarantined, len(messages) - whole)
    _count(
        INGEST_MESSAGES,
        transport,
        accepted=len(messages) - whole - quarantined,
        rejected=whole,
        quarantined=quarantined,
    )
    _count(
        INGEST_EVENTS,
        transport,
        stored=outcome.stored,
        duplicate=outcome.duplicates,
        rejected=len(outcome.rejections) - whole,
    )
    for rejection in outcome.rejections:
        REJECTED.labels(reason_kind(rejection.reason)).inc()
    _observe_ble(messages, outcome)
    _observe_answers(messages, outcome, transport)


def websocket_opened() -> None:
    WEBSOCKETS.inc()


def websocket_closed() -> None:
    WEBSOCKETS.dec()


def live_message_sent(content: Any) -> None:
    kind = content.get("type") if isinstance(content, dict) else None
    LIVE_MESSAGES.labels(kind if kind in _LIVE_TYPES else "other").inc()


_LIVE_TYPES = {"snapshot", "entered", "left", "status", "count"}


def _count(counter: Counter, transport: str, **by_outcome: int) -> None:
    for outcome, amount in by_outcome.items():
        if amount:
            counter.labels(transport, outcome).inc(amount)


def _observe_ble(messages: Sequence[Message], outcome: BatchOutcome) -> None:
    reports = sum(1 for m in messages if m.topic.endswith("/ble"))
    if not reports:
        return
    stored = sum(1 for kind, _, _ in outcome.new_keys if kind == "phone")
    rejected = sum(1 for r in outcome.rejections if r.origin.endswith("/ble"))
    _count_ble(stored=stored, rejected=rejected, duplicate=max(reports - stored - rejected, 0))


def _count_ble(**by_outcome: int) -> None:
    for outcome, amount in by_outcome.items():
        if amount:
            BLE_REPORTS.labels(outcome).inc(amount)


def _observe_answers(messages: Sequence[Message], outcome: BatchOutcome, transport: str) -> None:
    if not outcome.acks:
        return
    # An answer names its reader, not its message: time it from that reader's earliest
    # message in the batch (an upper bound when a reader sent several).
    arrived: dict[str, float] = {}
    for message in messages:
        parts = message.topic.split("/")
        if len(parts) >= 3 and parts[-1] == "events":
            device = parts[-2]
            arrived[device] = min(arrived.get(device, message.received_at), message.received_at)
    now = time.time()
    for answer in outcome.acks:
        TAP_ANSWERS.labels(str(answer.body.get("result", "unknown"))).inc()
        if answer.device in arrived:
            TAP_TO_ACK_SECONDS.labels(transport).observe(max(now - arrived[answer.device], 0.0))
