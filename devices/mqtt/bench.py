"""The pieces of `manage.py bench_ingest`: fixtures, the consumers it compares, timing.

- the real pipeline: IngestLoop (batches, manual ack after commit, engine, answers);
- a naive baseline that does the same job: each message handled alone in paho's callback (the
  same validation, storing and rules in a transaction of its own), its answers published,
  automatic ack; and a bare one, one ORM save per event with no rules;
- the raw limit: paho straight into multi-row inserts, no validation, no engine.
The publisher is always a separate process (devices.mqtt.bench_publisher).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from django.db import connection, connections, transaction
from django.utils import timezone

from attendance.models import ProxyFlag, RejudgeRequest, Room, Student, Visit
from devices.models import Card, RawEvent, Reader, SenderKind
from devices.mqtt import contract
from devices.mqtt.client import BrokerAddress, Inbound, MqttClient
from devices.mqtt.loop import IngestLoop, LoopConfig, contract_topics
from devices.mqtt.pipeline import BatchOutcome, handle_batch, insert_ignoring_duplicates

READER_PREFIX = "bench-r"
ROOM_CODE = "INGEST-BENCH"
STUDENT_PREFIX = "INGEST-S"
BASE_DIR = Path(__file__).resolve().parents[2]


# --- fixtures -------------------------------------------------------------------------------


def prepare_fixtures(readers: int, students: int, mode: str = "toggle") -> list[str]:
    """Readers bench-r-000.., students with one card each; returns the card UIDs."""
    clear_bench_events()
    room, _ = Room.objects.get_or_create(code=ROOM_CODE, defaults={"name": "Benchmark"})
    Visit.objects.filter(student__number__startswith=STUDENT_PREFIX).delete()
    ProxyFlag.objects.filter(student__number__startswith=STUDENT_PREFIX).delete()
    for i in range(readers):
        Reader.objects.update_or_create(
            device_id=f"{READER_PREFIX}-{i:03d}",
            defaults={"room": room, "mode": mode, "enabled": True, "debounce_s": 5},
        )
    uids = []
    for i in range(students):
        student, _ = Student.objects.get_or_create(
            number=f"{STUDENT_PREFIX}{i:05d}",
            defaults={"first_name": "Bench", "last_name": f"Student{i}"},
        )
        uid = f"0B{i:06X}"
        Card.objects.update_or_create(uid=uid, defaults={"student": student})
        uids.append(uid)
    return uids


def clear_bench_events() -> None:
    RawEvent.objects.filter(sender__startswith=READER_PREFIX).delete()
    RejudgeRequest.objects.filter(reader__startswith=READER_PREFIX).delete()


def stored_count(run: str) -> int:
    return RawEvent.objects.filter(
        sender__startswith=READER_PREFIX, event_id__startswith=f"{run}-"
    ).count()


def wait_rejudged(timeout: float) -> float | None:
    """When (epoch seconds) no re-judge request waits any more (the workers judge them
    between batches), or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not RejudgeRequest.objects.exists():
            return time.time()
        time.sleep(0.05)
    return None


# --- the publisher process ------------------------------------------------------------------


def start_publisher(
    url: str,
    prefix: str,
    run: str,
    count: int,
    readers: int,
    uids: Sequence[str],
    *,
    rate: float = 0.0,
    rfid_share: float = 1.0,
    acks: bool = False,
    per_message: int = 1,
    max_inflight: int = 20,
    door_gap_ms: int = 0,
    first_reader: int = 0,
) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "devices.mqtt.bench_publisher",
        url,
        prefix,
        run,
        str(count),
        str(readers),
        f"--rate={rate}",
        f"--rfid-share={rfid_share}",
        f"--uids={','.join(uids)}",
        f"--reader-prefix={READER_PREFIX}",
        f"--per-message={per_message}",
        f"--max-inflight={max_inflight}",
        f"--door-gap-ms={door_gap_ms}",
        f"--first-reader={first_reader}",
    ] + (["--acks"] if acks else [])
    env = {**os.environ, "PYTHONPATH": str(BASE_DIR)}
    return subprocess.Popen(command, cwd=BASE_DIR, stdout=subprocess.PIPE, text=True, env=env)


@dataclass(frozen=True)
class Stream:
    """What every publisher of one benchmark run shares."""

    url: str
    prefix: str
    readers: int
    uids: Sequence[str]
    rfid_share: float
    door_gap_ms: int
    max_inflight: int = 20

    def publish(
        self,
        run: str,
        count: int,
        *,
        per_message: int = 1,
        readers: int | None = None,
        rate: float = 0.0,
        acks: bool = False,
        door_gap_ms: int | None = None,
        first_reader: int = 0,
    ) -> subprocess.Popen[str]:
        """A publisher process; each run may take its own readers, so runs never share a
        door's timeline."""
        return start_publisher(
            self.url,
            self.prefix,
            run,
            count,
            readers or self.readers,
            self.uids,
            rate=rate,
            rfid_share=self.rfid_share,
            acks=acks,
            per_message=per_message,
            max_inflight=self.max_inflight,
            door_gap_ms=self.door_gap_ms if door_gap_ms is None else door_gap_ms,
            first_reader=first_reader,
        )


@dataclass(frozen=True)
class FullSpeed:
    events_per_s: float
    lost: int
    duplicated: int


def publisher_report(process: subprocess.Popen[str], timeout: float) -> dict:
    out, _ = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"publisher failed with exit code {process.returncode}")
    return json.loads(out.strip().splitlines()[-1])


# --- consumer 1: the real pipeline ----------------------------------------------------------


@dataclass
class PipelineRecorder:
    """Collects what the loop committed, for latency and exactly-once checks afterwards."""

    commits: list[tuple[Sequence[Inbound], float]] = field(default_factory=list)
    new_reports: dict[tuple[str, str, str], int] = field(default_factory=dict)
    handled: int = 0
    last_commit: float = 0.0

    def __call__(self, batch: Sequence[Inbound], outcome: BatchOutcome, at: float) -> None:
        self.commits.append((batch, at))
        for key in outcome.new_keys:
            self.new_reports[key] = self.new_reports.get(key, 0) + 1
        self.handled += len(batch)
        self.last_commit = at

    def commit_latencies_ms(self, run: str) -> list[float]:
        tag = f'"id": "{run}-'.encode()
        latencies = []
        for batch, at in self.commits:
            for message in batch:
                if tag in message.payload:
                    body = json.loads(message.payload)
                    for event in body if isinstance(body, list) else [body]:
                        latencies.append((at - event["sent"]) * 1000)
        return sorted(latencies)

    def queued_ms(self, run: str) -> list[float]:
        """For each message of the run: receipt by this process to commit."""
        tag = f'"id": "{run}-'.encode()
        return sorted(
            (at - message.received_at) * 1000
            for batch, at in self.commits
            for message in batch
            if tag in message.payload
        )

    def processing_ms(self, run: str) -> list[float]:
        """For each batch of the run: its last message's receipt to commit (the work)."""
        tag = f'"id": "{run}-'.encode()
        return sorted(
            (at - max(m.received_at for m in batch)) * 1000
            for batch, at in self.commits
            if any(tag in m.payload for m in batch)
        )

    def timeline(self, run: str) -> list[tuple[float, list[float]]]:
        """For each batch holding the run's messages: its commit time and their receipts."""
        tag = f'"id": "{run}-'.encode()
        batches = (
            (at, [m.received_at for m in batch if tag in m.payload]) for batch, at in self.commits
        )
        return [(at, received) for at, received in batches if received]

    def summary(self, run: str) -> dict:
        """What the parent needs of this worker for one run (picklable)."""
        return {
            "timeline": self.timeline(run),
            "latencies": self.commit_latencies_ms(run),
            "queued": self.queued_ms(run),
            "processing": self.processing_ms(run),
            "new": {k: n for k, n in self.new_reports.items() if k[2].startswith(f"{run}-")},
            "last_commit": self.last_commit,
            "batches": len(self.commits),
            "handled": self.handled,
        }


class PipelineRunner:
    def __init__(
        self, url: str, prefix: str, batch_size: int, batch_ms: int, shared_group: str = ""
    ) -> None:
        self.recorder = PipelineRecorder()
        client = MqttClient(
            BrokerAddress.from_url(url),
            f"bench-ingest-{os.getpid()}",
            persistent=True,
            manual_ack=True,
            receive_maximum=min(65535, batch_size * 4),
        )
        config = LoopConfig(
            prefix,
            batch_size,
            batch_ms,
            tick_s=5,
            shared_group=shared_group,
            name=f"bench-ingest-{os.getpid()}",
        )
        self.loop = IngestLoop(client, config, on_committed=self.recorder)
        self.thread = threading.Thread(target=self._run, name="bench-ingest", daemon=True)

    def _run(self) -> None:
        try:
            self.loop.run()
        finally:
            connection.close()

    def start(self) -> None:
        self.thread.start()
        if not self.loop.client.wait_connected(15):
            raise RuntimeError("the ingest loop could not connect to the broker")
        time.sleep(0.5)  # subscriptions in place

    def wait_handled(self, total: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.recorder.handled >= total:
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        self.loop.request_stop()
        self.thread.join(30)


@dataclass
class RunSummary:
    """One run's figures, merged over the workers."""

    latencies_ms: list[float]
    queued_ms: list[float]  # receipt by an ingest process to commit
    processing_ms: list[float]  # per batch: its last message's receipt to commit
    repeated_new: int  # events reported as new more than once: applied twice
    last_commit: float
    batches: int
    handled: int
    # Per batch, in commit order over all workers: (commit time, its messages' receipts).
    timeline: list[tuple[float, list[float]]] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return len(self.queued_ms)


class WorkerPool:
    """Ingest loops in their own processes (the GIL would serialise threads), on one MQTT 5
    shared subscription when there are several: the scale-out a deployment would use."""

    def __init__(self, url: str, prefix: str, batch_size: int, batch_ms: int, workers: int):
        self.args = (url, prefix, batch_size, batch_ms, "bench" if workers > 1 else "")
        self.workers = workers
        self.pipes: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []

    def start(self) -> None:
        # Forked children must not share the parent's database connection.
        connections.close_all()
        context = multiprocessing.get_context("fork")
        for _ in range(self.workers):
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=_worker_main, args=(*self.args, child_end), daemon=True
            )
            process.start()
            self.pipes.append(parent_end)
            self.processes.append(process)
        for pipe in self.pipes:
            if not pipe.poll(30) or pipe.recv() != "ready":
                raise RuntimeError("an ingest worker could not connect to the broker")

    def handled(self) -> int:
        return sum(self._ask_each("handled"))

    def wait_handled(self, total: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.handled() >= total:
                return True
            time.sleep(0.02)
        return False

    def summary(self, run: str) -> RunSummary:
        parts = self._ask_each("summary", run)
        new: dict[tuple[str, str, str], int] = {}
        for part in parts:
            for key, n in part["new"].items():
                new[key] = new.get(key, 0) + n
        return RunSummary(
            latencies_ms=sorted(ms for part in parts for ms in part["latencies"]),
            queued_ms=sorted(ms for part in parts for ms in part["queued"]),
            processing_ms=sorted(ms for part in parts for ms in part["processing"]),
            repeated_new=sum(n - 1 for n in new.values()),
            last_commit=max(part["last_commit"] for part in parts),
            batches=sum(part["batches"] for part in parts),
            handled=sum(part["handled"] for part in parts),
            timeline=sorted(batch for part in parts for batch in part["timeline"]),
        )

    def stop(self) -> None:
        self._ask_each("stop")
        for process in self.processes:
            process.join(30)

    def _ask_each(self, command: str, arg: object = None) -> list:
        for pipe in self.pipes:
            pipe.send((command, arg))
        return [pipe.recv() for pipe in self.pipes]


def _worker_main(
    url: str, prefix: str, batch_size: int, batch_ms: int, group: str, pipe: Connection
) -> None:
    """One ingest process, answering the parent over `pipe`; it never outlives the parent
    (a parent that dies closes the pipe, and recv raises)."""
    code = 1
    try:
        runner = PipelineRunner(url, prefix, batch_size, batch_ms, shared_group=group)
        runner.start()
        pipe.send("ready")
        code = _serve_parent(runner, pipe)
    finally:
        os._exit(code)  # skip the parent's exit handlers, inherited by the fork


def _serve_parent(runner: PipelineRunner, pipe: Connection) -> int:
    while True:
        try:
            command, arg = pipe.recv()
        except (EOFError, OSError):
            return 1  # the parent is gone
        if command == "handled":
            pipe.send(runner.recorder.handled)
        elif command == "summary":
            pipe.send(runner.recorder.summary(str(arg)))
        elif command == "stop":
            runner.stop()
            pipe.send("stopped")
            return 0


# --- consumers 2 and 3: the naive baselines and the raw limit -------------------------------


class SimpleConsumer:
    """A consumer outside the ingest loop: counts what it saved, and when it last did; a
    failure in paho's callback is kept here so the run stops instead of waiting it out."""

    def __init__(self, url: str, name: str, on_message: Callable[[Inbound], None]) -> None:
        self.saved = 0
        self.last_save = 0.0
        self.error: Exception | None = None
        self.client = MqttClient(
            BrokerAddress.from_url(url), f"bench-{name}-{os.getpid()}", on_message=on_message
        )


class NaiveIngest(SimpleConsumer):
    """The ingest's whole job done the naive way, one message at a time in paho's callback:
    the pipeline's validation, storing and rules in a transaction of its own, the answers
    published, and paho acknowledging the message when the callback returns. (It shares the
    engine's code, reference memo included: the only difference is the shape.)"""

    def __init__(self, url: str, prefix: str) -> None:
        super().__init__(url, "naive", self.handle)
        self.prefix = prefix
        self.answers: Counter[str] = Counter()

    def handle(self, message: Inbound) -> None:
        try:
            outcome = handle_batch([message], prefix=self.prefix)
        except Exception as exc:  # paho's thread would die with it, and the run hang
            self.error = exc
            raise
        for answer in outcome.acks:
            self.client.publish(answer.topic, answer.payload, qos=1)
            self.answers[answer.body["result"]] += 1
        self.saved += outcome.stored + outcome.duplicates
        self.last_save = time.time()


class SaveOnlyConsumer(SimpleConsumer):
    """One ORM save per event inside paho's callback, no rules; paho acks automatically."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "save", self.handle)

    def handle(self, message: Inbound) -> None:
        sender = message.topic.split("/")[2]
        now = timezone.now()
        for event in contract.parse_reader_events(message.payload):
            RawEvent(
                sender_kind=SenderKind.DEVICE,
                sender=sender,
                event_id=event.id,
                type=event.type,
                ts=_ms(event.ts_ms) if event.ts_ms else now,
                uid=event.uid or "",
                received_at=now,
                payload=event.raw,
            ).save()
            self.saved += 1
        self.last_save = time.time()


class RawConsumer(SimpleConsumer):
    """paho into multi-row INSERTs (the pipeline's own statement) with no validation and no
    engine: the ceiling for one process."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "raw", self.take)
        self.pending: list[Inbound] = []
        self.lock = threading.Lock()

    def take(self, message: Inbound) -> None:
        with self.lock:
            self.pending.append(message)

    def flush(self) -> None:
        with self.lock:
            batch, self.pending = self.pending, []
        if not batch:
            time.sleep(0.005)
            return
        now = timezone.now()
        rows = []
        for message in batch:
            body = json.loads(message.payload)
            for event in body if isinstance(body, list) else [body]:
                rows.append(
                    RawEvent(
                        sender_kind="device",
                        sender=message.topic.split("/")[2],
                        event_id=event["id"],
                        type=event["type"],
                        ts=now,
                        uid=event.get("uid", ""),
                        received_at=now,
                        payload=event,
                    )
                )
        with transaction.atomic():
            insert_ignoring_duplicates(rows)
        self.saved += len(rows)
        self.last_save = time.time()


def run_simple_consumer(
    consumer: SimpleConsumer,
    publisher: subprocess.Popen[str],
    total: int,
    prefix: str,
    timeout: float,
) -> tuple[dict, float]:
    """Returns (publisher report, events/s from the first publish to the last save)."""
    deadline = time.monotonic() + timeout
    while consumer.saved < total and time.monotonic() < deadline:
        if consumer.error is not None:
            raise RuntimeError(f"the consumer failed: {consumer.error!r}")
        if isinstance(consumer, RawConsumer):
            consumer.flush()
        else:
            time.sleep(0.02)
    report = publisher_report(publisher, timeout=60)
    consumer.client.disconnect()
    elapsed = consumer.last_save - report["start"]
    return report, consumer.saved / elapsed if elapsed > 0 else 0.0


def connect_simple(consumer: SimpleConsumer, prefix: str) -> None:
    consumer.client.connect()
    consumer.client.subscribe(contract_topics(prefix)[:1], qos=1)
    time.sleep(0.5)


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(pct / 100 * (len(sorted_values) - 1)))
    return round(sorted_values[index], 1)


def _ms(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
