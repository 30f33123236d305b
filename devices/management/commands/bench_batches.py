"""`manage.py bench_batches`: the cost of one ingest batch, without a broker or a second process.

    python manage.py bench_batches                         # 10,000 live events, 10 per batch
    python manage.py bench_batches --batch 300 --gap-ms 1000 --readers 50   # a backlog
    python manage.py bench_batches --reader-mode pir --profile 30           # where the time goes

Builds the messages of a door stream (20% card taps, the rest PIR motion), hands them to
the pipeline (devices.mqtt.pipeline.handle_batch) batch after batch in this process, and
prints the time and the queries per batch, the queries that cost most, and optionally a
cProfile listing. Repeatable within a few percent on an idle machine, so a change to the
per-batch path can be measured before running bench_ingest. The last line is
machine-readable: events_per_s=... ms_per_batch=... queries_per_batch=... db_ms_per_batch=...
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from devices.mqtt import bench
from devices.mqtt.bench_publisher import door_event
from devices.mqtt.pipeline import IncomingMessage, handle_batch

PREFIX = "zias-batches"


class QueryLedger:
    """Counts and times every query by the start of its statement (an execute_wrapper)."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.seconds: dict[str, float] = {}

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            shape = sql.split(" WHERE")[0][:90]
            self.count[shape] += 1
            self.seconds[shape] = self.seconds.get(shape, 0.0) + time.perf_counter() - started


def door_stream(
    readers: int, events: int, uids: list[str], gap_ms: int, seed: int
) -> list[IncomingMessage]:
    """One event per message, round the readers: live (gap_ms 0) or a backlog whose events
    are late (each reader's gap_ms apart on its own clock, ending now)."""
    rng = random.Random(seed)
    run = f"b{rng.randrange(1 << 24):06x}"
    now_ms = int(time.time() * 1000)
    per_reader = -(-events // readers)
    messages = []
    for seq in range(events):
        reader = seq % readers
        # Live: 1 ms apart from a second ago on, about the pace they are handled at, so
        # each is fresh when its batch runs. A backlog: readers' clocks gap_ms apart.
        live_ts = now_ms - 1000 + seq
        ts = now_ms - (per_reader - seq // readers) * gap_ms if gap_ms else live_ts
        event = door_event(run, seq, rng.choice(uids) if rng.random() < 0.2 else None, ts)
        topic = f"{PREFIX}/devices/{bench.READER_PREFIX}-{reader:03d}/events"
        messages.append(IncomingMessage(topic, json.dumps(event).encode()))
    return messages


class Command(BaseCommand):
    help = (
        "Time ingest batches in this process (no broker): ms and queries per batch, the "
        "costliest queries, optionally a profile. The last line is machine-readable."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", type=int, default=10_000)
        parser.add_argument("--readers", type=int, default=200)
        parser.add_argument("--students", type=int, default=500)
        parser.add_argument("--batch", type=int, default=10, help="messages per batch")
        parser.add_argument(
            "--gap-ms",
            type=int,
            default=0,
            help="0: live events, 1 ms apart overall; else a backlog, each reader's events "
            "this far apart on its own clock",
        )
        parser.add_argument(
            "--reader-mode", choices=["toggle", "pir", "in", "out"], default="toggle"
        )
        parser.add_argument(
            "--profile", type=int, default=0, help="print the N costliest functions (cProfile)"
        )
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: object, **o: Any) -> None:
        say = self.stdout.write
        uids = bench.prepare_fixtures(o["readers"], o["students"], o["reader_mode"])
        messages = door_stream(o["readers"], o["events"], uids, o["gap_ms"], o["seed"])
        size = max(1, o["batch"])
        batches = [messages[i : i + size] for i in range(0, len(messages), size)]
        ledger = QueryLedger()
        profiler = cProfile.Profile() if o["profile"] else None
        kind = f"a backlog {o['gap_ms']} ms apart" if o["gap_ms"] else "live"
        say(
            f"{len(messages)} events from {o['readers']} {o['reader_mode']} readers, "
            f"{size} per batch, {kind}"
        )
        try:
            started = time.perf_counter()
            with connection.execute_wrapper(ledger):
                if profiler:
                    profiler.enable()
                for number, batch in enumerate(batches, 1):
                    handle_batch(batch, prefix=PREFIX)
                    if number % max(1, len(batches) // 10) == 0:
                        self.stderr.write(f"  {number}/{len(batches)} batches")
                if profiler:
                    profiler.disable()
            elapsed = time.perf_counter() - started
        finally:
            bench.clear_bench_events()
        n = len(batches)
        queries = sum(ledger.count.values()) / n
        db_ms = 1000 * sum(ledger.seconds.values()) / n
        say(f"  {len(messages) / elapsed:,.0f} events/s, {1000 * elapsed / n:.1f} ms per batch")
        say(f"  {queries:.1f} queries per batch, {db_ms:.1f} ms of them waiting on the database")
        costliest = sorted(ledger.seconds.items(), key=lambda item: -item[1])[:12]
        for shape, seconds in costliest:
            say(f"  {ledger.count[shape] / n:5.2f}/batch {1000 * seconds / n:6.2f} ms  {shape}")
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(o["profile"])
            say(out.getvalue())
        say(
            f"events_per_s={len(messages) / elapsed:.0f} ms_per_batch={1000 * elapsed / n:.2f} "
            f"queries_per_batch={queries:.2f} db_ms_per_batch={db_ms:.2f}"
        )
