"""`manage.py bench_ingest`: how fast is the ingest, and what does it cost over the limits?"""

from __future__ import annotations

import dataclasses
import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from devices.mqtt import bench
from devices.mqtt.private_broker import PrivateBroker


class Command(BaseCommand):
    help = (
        "Benchmark the MQTT ingest against the configured database: a separate publisher "
        "process sends reader events at full speed; prints events/s, publish-to-commit "
        "latency, tap-to-ack latency at a steady rate, and the same for naive baselines "
        "(the same job one message at a time with automatic acks; a bare ORM save per event) "
        "and the raw limit (paho into multi-row inserts). "
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
            default=1000,
            help="in the full-speed stream, each reader's events are this far apart on its "
            "own clock: a backlog at a busy door's pace (default 1000: a passage, one tap and "
            "four motion events, every 5 s). 0 stamps them all with the moment they are sent, "
            "hundreds per door per second, which no door produces",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=min(2, os.cpu_count() or 1),
            help="ingest processes; several share one MQTT 5 subscription, as `ingest "
            "--shared-group` would in production (default: one per core, at most 2)",
        )
        parser.add_argument(
            "--replay-per-message",
            type=int,
            default=50,
            help="also run the full-speed stream with this many events per message (readers "
            "replaying their offline buffers); 0 skips it",
        )
        parser.add_argument(
            "--reader-mode",
            choices=["toggle", "pir", "in", "out"],
            default="toggle",
            help="how the readers tell in from out (default toggle; pir also orders each "
            "tap by the motion around it, which reads the events near every new one)",
        )
        parser.add_argument(
            "--baseline-events",
            type=int,
            default=2000,
            help="events for each naive baseline (default 2000; the naive ingest does a "
            "hundred or two a second)",
        )
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
        # Readers 0.. for the live stream, then the replay's, the steady stream's and the
        # naive ingest's: no run shares a door's timeline with another.
        naive_first_reader = 2 * readers + int(o["latency_readers"])
        total_readers = naive_first_reader + readers
        # The naive ingest gets students of its own too: its days start as empty as the
        # live stream's did, instead of holding every earlier run's taps.
        students = int(o["students"])
        all_uids = bench.prepare_fixtures(total_readers, 2 * students, str(o["reader_mode"]))
        uids, naive_uids = all_uids[:students], all_uids[students:]
        stream = bench.Stream(
            url,
            prefix,
            readers,
            uids,
            rfid_share=float(o["rfid_share"]),
            door_gap_ms=int(o["door_gap_ms"]),
            max_inflight=self.max_inflight,
        )
        workers = int(o["workers"])
        pipeline = bench.WorkerPool(
            url, prefix, int(o["batch_size"]), int(o["batch_ms"]), workers=workers
        )
        pipeline.start()
        say(
            f"pipeline, {workers} ingest process{'es' if workers > 1 else ''}, "
            f"{o['reader_mode']} readers, "
            f"{events} events from {readers} readers at full speed, "
            f"{100 * stream.rfid_share:.0f}% card taps, "
            + (
                f"{stream.door_gap_ms} ms apart on each reader's clock (a backlog):"
                if stream.door_gap_ms
                else "all stamped as sent:"
            )
        )
        per = max(1, min(100, int(o["per_message"])))
        live = self._full_speed(pipeline, stream, events, per)
        replay_per = int(o["replay_per_message"])
        replay = (
            self._full_speed(pipeline, stream, events, replay_per, first_reader=readers)
            if replay_per
            else None
        )
        lat = self._steady(pipeline, stream, o)
        pipeline.stop()

        n = int(o["baseline_events"])
        say(
            f"naive ingest: {n} events, each message alone (the same validation, storing and "
            "rules in a transaction of its own), answers published, automatic ack, one process ..."
        )
        naive = bench.NaiveIngest(url, prefix)
        bench.connect_simple(naive, prefix)
        publisher = dataclasses.replace(stream, uids=naive_uids).publish(
            f"n{secrets.token_hex(3)}", n, per_message=per, first_reader=naive_first_reader
        )
        _, baseline_per_s = bench.run_simple_consumer(naive, publisher, n, prefix, timeout=600)
        answered = dict(naive.answers.most_common())
        say(f"  {baseline_per_s:,.0f} events/s; answered {naive.answers.total()} taps {answered}")

        say(f"naive save: {n} events, one ORM save per event, no rules, automatic ack ...")
        save_only = bench.SaveOnlyConsumer(url)
        bench.connect_simple(save_only, prefix)
        publisher = stream.publish(f"b{secrets.token_hex(3)}", n, per_message=per)
        _, save_only_per_s = bench.run_simple_consumer(save_only, publisher, n, prefix, timeout=300)
        say(f"  {save_only_per_s:,.0f} events/s")

        say(f"raw limit: {events} events, paho into multi-row inserts, no logic, one process ...")
        raw = bench.RawConsumer(url)
        bench.connect_simple(raw, prefix)
        publisher = stream.publish(f"r{secrets.token_hex(3)}", events, per_message=per)
        _, raw_per_s = bench.run_simple_consumer(raw, publisher, events, prefix, timeout=300)
        say(f"  {raw_per_s:,.0f} events/s")
        raw_replay_per_s = 0.0
        if replay:
            say(f"raw limit, {replay_per} events per message ...")
            raw = bench.RawConsumer(url)
            bench.connect_simple(raw, prefix)
            publisher = stream.publish(
                f"q{secrets.token_hex(3)}", events, per_message=replay_per, first_reader=readers
            )
            _, raw_replay_per_s = bench.run_simple_consumer(
                raw, publisher, events, prefix, timeout=300
            )
            say(f"  {raw_replay_per_s:,.0f} events/s")

        say(
            f"pipeline = {live.events_per_s / baseline_per_s:.1f} x the naive ingest "
            f"({workers} process{'es' if workers > 1 else ''} against its one), "
            f"{live.events_per_s / save_only_per_s:.1f} x the naive save (which applies no "
            f"rules), {100 * live.events_per_s / raw_per_s:.0f}% of the raw limit"
        )
        lost = live.lost + (replay.lost if replay else 0)
        duplicated = live.duplicated + (replay.duplicated if replay else 0)
        say(
            f"events_per_s={live.events_per_s:.0f} baseline_events_per_s={baseline_per_s:.0f} "
            f"raw_events_per_s={raw_per_s:.0f} ack_p99_ms={lat['ack_p99_ms']} "
            f"lost={lost} duplicated={duplicated} save_only_events_per_s={save_only_per_s:.0f}"
            + (
                f" replay_events_per_s={replay.events_per_s:.0f}"
                f" raw_replay_events_per_s={raw_replay_per_s:.0f}"
                if replay
                else ""
            )
            # Last: the pipeline's speed as a share of the raw limit measured in this run,
            # which tells the code from the machine (issue 15 asks for it by this name).
            + f" raw_share={live.events_per_s / raw_per_s:.2f}"
        )

    def _full_speed(
        self,
        pipeline: bench.WorkerPool,
        stream: bench.Stream,
        events: int,
        per: int,
        first_reader: int = 0,
    ) -> bench.FullSpeed:
        """Publish `events` at full speed, `per` to a message; wait until all are committed."""
        say = self.stdout.write
        say(
            f"  {per} event{'s' if per > 1 else ''} per message"
            + (" (live taps) ..." if per == 1 else " (readers replaying their buffers) ...")
        )
        run = f"t{secrets.token_hex(3)}"
        handled_before = pipeline.handled()
        publisher = stream.publish(run, events, per_message=per, first_reader=first_reader)
        pub = bench.publisher_report(publisher, timeout=600)
        pipeline.wait_handled(handled_before + -(-events // per), timeout=300)
        result = pipeline.summary(run)
        elapsed = result.last_commit - pub["start"]
        stored = bench.stored_count(run)
        outcome = bench.FullSpeed(events / elapsed, events - stored, result.repeated_new)
        say(
            f"    {outcome.events_per_s:,.0f} events/s ({events} in {elapsed:.2f}s; publisher "
            f"alone {events / (pub['last_sent'] - pub['start']):,.0f}/s); stored {stored}, "
            f"lost {outcome.lost}, applied twice {outcome.duplicated}"
        )
        caught_up = bench.wait_rejudged(timeout=120)
        say(
            "    late events' neighbours re-judged for several cards at one door "
            + (f"{caught_up - result.last_commit:.1f}s after the last commit"
               if caught_up is not None else "not within 120 s")
        )  # fmt: skip
        batches = len(result.processing_ms)
        say(
            f"    publish-to-commit p50 {bench.percentile(result.latencies_ms, 50)} ms, "
            f"p99 {bench.percentile(result.latencies_ms, 99)} ms; {batches} batches of "
            f"{result.messages / max(1, batches):.0f} messages on average"
        )
        return outcome

    def _steady(self, pipeline: bench.WorkerPool, stream: bench.Stream, o: dict) -> dict:
        """Tap-to-ack latency with the stream at a steady rate, from more readers."""
        say = self.stdout.write
        rate, seconds = int(o["rate"]), int(o["latency_seconds"])
        steady_readers = int(o["latency_readers"])
        say(
            f"tap-to-ack at a steady {rate} events/s ({100 * stream.rfid_share:.0f}% card taps) "
            f"from {steady_readers} readers for {seconds}s ..."
        )
        run = f"l{secrets.token_hex(3)}"
        publisher = stream.publish(
            run,
            rate * seconds,
            readers=steady_readers,
            first_reader=2 * stream.readers,
            rate=rate,
            acks=True,
            door_gap_ms=0,
        )
        lat = bench.publisher_report(publisher, timeout=seconds + 120)
        steady = pipeline.summary(run)
        batches = len(steady.processing_ms)
        say(
            f"  p50 {lat['ack_p50_ms']} ms, p99 {lat['ack_p99_ms']} ms; "
            f"{lat['answers']}/{lat['taps']} answered {lat['results']}"
        )
        say(
            f"  receipt-to-commit p50 {bench.percentile(steady.queued_ms, 50)} ms, "
            f"p99 {bench.percentile(steady.queued_ms, 99)} ms; {batches} batches of "
            f"{steady.messages / max(1, batches):.0f} messages, each committed "
            f"{bench.percentile(steady.processing_ms, 50)} ms (p50; p99 "
            f"{bench.percentile(steady.processing_ms, 99)} ms) after its last message arrived"
        )
        return lat
