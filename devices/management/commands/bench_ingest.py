"""`manage.py bench_ingest`: how fast is the ingest, and what does it cost over the limits?"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from devices.mqtt import bench
from devices.mqtt.private_broker import PrivateBroker


class Command(BaseCommand):
    help = (
        "Benchmark the MQTT ingest against the configured database: a separate publisher "
        "process sends reader events at full speed; prints events/s, publish-to-commit "
        "latency, tap-to-ack latency at a steady rate, and the same for a naive baseline "
        "(one ORM save per message) and the raw limit (paho into multi-row inserts). "
        "The last line is machine-readable."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", type=int, default=20_000, help="events at full speed")
        parser.add_argument("--readers", type=int, default=50)
        parser.add_argument("--students", type=int, default=500, help="cards tapped")
        parser.add_argument(
            "--rate", type=int, default=1000, help="steady events/s for tap-to-ack latency"
        )
        parser.add_argument("--latency-seconds", type=int, default=10)
        parser.add_argument(
            "--latency-readers",
            type=int,
            default=200,
            help="readers in the steady stream (default 200: at 1,000 events/s with 20%% taps, "
            "about one passage a second at each door)",
        )
        parser.add_argument(
            "--rfid-share",
            type=float,
            default=0.2,
            help="share of card taps in the full-speed stream; the rest are PIR events "
            "(a passage is about one tap and four motion events). Default 0.2.",
        )
        parser.add_argument(
            "--per-message",
            type=int,
            default=1,
            help="events per message in the full-speed stream (1 = live taps; up to 100 = "
            "readers replaying their offline buffers)",
        )
        parser.add_argument(
            "--door-gap-ms",
            type=int,
            default=0,
            help="in the full-speed stream, each reader's events are this far apart on its "
            "own clock (a backlog at a real door's pace); 0 = all stamped as sent",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="ingest processes; several share one MQTT 5 subscription (as `ingest "
            "--shared-group` would in production)",
        )
        parser.add_argument("--baseline-events", type=int, default=3000)
        parser.add_argument("--batch-size", type=int, default=settings.INGEST_BATCH_SIZE)
        parser.add_argument("--batch-ms", type=int, default=settings.INGEST_BATCH_MS)
        parser.add_argument(
            "--broker-url",
            default="",
            help="use this broker (e.g. the machine's); default: a private Mosquitto sized "
            "for the burst (no queue or in-flight limit)",
        )

    def handle(self, *args: object, **opts: object) -> None:
        broker = None
        url = str(opts["broker_url"] or "")
        # The publisher's in-flight window: Mosquitto's default, and paho's sweet spot.
        self.max_inflight = 20
        if not url:
            broker = PrivateBroker().start()
            url = broker.url
        try:
            self._bench(url, opts)
        finally:
            if broker:
                broker.close()
            bench.clear_bench_events()

    def _bench(self, url: str, o: dict) -> None:
        prefix = f"{settings.MQTT_TOPIC_PREFIX}-bench"
        readers, events = int(o["readers"]), int(o["events"])
        say = self.stdout.write
        say(f"broker {url}, database {settings.DATABASES['default']['ENGINE'].split('.')[-1]}")
        uids = bench.prepare_fixtures(max(readers, int(o["latency_readers"])), int(o["students"]))

        workers = int(o["workers"])
        pipeline = bench.WorkerPool(
            url, prefix, int(o["batch_size"]), int(o["batch_ms"]), workers=workers
        )
        pipeline.start()
        run = f"t{secrets.token_hex(3)}"
        say(
            f"pipeline ({workers} ingest process{'es' if workers > 1 else ''}): {events} events "
            f"from {readers} readers at full speed, {o['per_message']} per message, "
            f"{100 * float(o['rfid_share']):.0f}% card taps, "
            + (
                f"{o['door_gap_ms']} ms apart at each door ..."
                if o["door_gap_ms"]
                else "all stamped as sent ..."
            )
        )
        publisher = bench.start_publisher(
            url,
            prefix,
            run,
            events,
            readers,
            uids,
            rfid_share=float(o["rfid_share"]),
            per_message=int(o["per_message"]),
            max_inflight=self.max_inflight,
            door_gap_ms=int(o["door_gap_ms"]),
        )
        pub = bench.publisher_report(publisher, timeout=600)
        per = max(1, min(100, int(o["per_message"])))
        pipeline.wait_handled(-(-events // per), timeout=300)
        result = pipeline.summary(run)
        elapsed = result.last_commit - pub["start"]
        events_per_s = events / elapsed
        commit_ms = result.latencies_ms
        stored = bench.stored_count(run)
        lost = events - stored
        duplicated = result.repeated_new
        say(
            f"  {events_per_s:,.0f} events/s ({events} in {elapsed:.2f}s; publisher alone "
            f"{events / (pub['last_sent'] - pub['start']):,.0f}/s); stored {stored}, "
            f"lost {lost}, applied twice {duplicated}"
        )
        say(
            f"  publish-to-commit p50 {bench.percentile(commit_ms, 50)} ms, "
            f"p99 {bench.percentile(commit_ms, 99)} ms; {result.batches} batches, "
            f"{result.handled / max(1, result.batches):.0f} messages each on average"
        )

        rate, seconds = int(o["rate"]), int(o["latency_seconds"])
        share, steady_readers = float(o["rfid_share"]), int(o["latency_readers"])
        say(
            f"tap-to-ack at a steady {rate} events/s ({100 * share:.0f}% card taps) from "
            f"{steady_readers} readers for {seconds}s ..."
        )
        run_l = f"l{secrets.token_hex(3)}"
        publisher = bench.start_publisher(
            url,
            prefix,
            run_l,
            rate * seconds,
            steady_readers,
            uids,
            rate=rate,
            rfid_share=share,
            acks=True,
        )
        lat = bench.publisher_report(publisher, timeout=seconds + 120)
        steady = pipeline.summary(run_l)
        say(
            f"  p50 {lat['ack_p50_ms']} ms, p99 {lat['ack_p99_ms']} ms; "
            f"{lat['answers']}/{lat['taps']} answered {lat['results']}"
        )
        say(
            f"  publish-to-commit p50 {bench.percentile(steady.latencies_ms, 50)} ms, "
            f"p99 {bench.percentile(steady.latencies_ms, 99)} ms; receipt-to-commit p50 "
            f"{bench.percentile(steady.queued_ms, 50)} ms, p99 "
            f"{bench.percentile(steady.queued_ms, 99)} ms; {len(steady.processing_ms)} batches "
            f"of {steady.messages / max(1, len(steady.processing_ms)):.0f} messages, each "
            f"committed {bench.percentile(steady.processing_ms, 50)} ms (p50) after its last "
            f"message arrived"
        )
        pipeline.stop()

        n = int(o["baseline_events"])
        say(f"baseline: {n} events, one ORM save per message, automatic ack ...")
        naive = bench.NaiveConsumer(url, prefix)
        bench.connect_simple(naive, prefix)
        publisher = bench.start_publisher(
            url, prefix, f"b{secrets.token_hex(3)}", n, readers, uids, per_message=per
        )
        _, baseline_per_s = bench.run_simple_consumer(naive, publisher, n, prefix, timeout=300)
        say(f"  {baseline_per_s:,.0f} events/s")

        say(f"raw limit: {events} events, paho into multi-row inserts, no logic ...")
        raw = bench.RawConsumer(url, prefix, int(o["batch_size"]))
        bench.connect_simple(raw, prefix)
        publisher = bench.start_publisher(
            url, prefix, f"r{secrets.token_hex(3)}", events, readers, uids, per_message=per
        )
        _, raw_per_s = bench.run_simple_consumer(raw, publisher, events, prefix, timeout=300)
        say(f"  {raw_per_s:,.0f} events/s")

        say(
            f"pipeline = {events_per_s / baseline_per_s:.1f} x baseline, "
            f"{100 * events_per_s / raw_per_s:.0f}% of the raw limit"
        )
        say(
            f"events_per_s={events_per_s:.0f} baseline_events_per_s={baseline_per_s:.0f} "
            f"raw_events_per_s={raw_per_s:.0f} ack_p99_ms={lat['ack_p99_ms']} "
            f"lost={lost} duplicated={duplicated}"
        )
