"""The benchmark's device side, run as its own process: publish reader events, time the answers.

    python -m devices.mqtt.bench_publisher URL PREFIX RUN_ID COUNT READERS [--rate R]
        [--uids A,B,..] [--rfid-share F] [--acks] [--start-seq N]

Each event is one message on `<prefix>/devices/<reader>/events` with id `<run>-<seq>` and an
extra `sent` key (epoch seconds; the contract ignores unknown keys) so the ingest side can
time publish-to-commit. With --acks it also listens on `<prefix>/devices/+/ack` and reports
tap-to-ack latency. Prints one JSON object on stdout when every publish is acknowledged.
Uses only the MQTT choke point, no Django.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time

from devices.mqtt.client import BrokerAddress, Inbound, MqttClient

_PIR_CYCLE = (("outer", 1), ("inner", 1), ("outer", 0), ("inner", 0))


def door_event(run: str, seq: int, uid: str | None, now_ms: int) -> dict[str, object]:
    """A card tap (with a uid) or the next PIR event of the cycle, id `<run>-<seq>`."""
    if uid is not None:
        return {"id": f"{run}-{seq}", "ts": now_ms, "type": "rfid", "uid": uid}
    sensor, state = _PIR_CYCLE[seq % 4]
    return {"id": f"{run}-{seq}", "ts": now_ms, "type": "pir", "sensor": sensor, "state": state}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("prefix")
    parser.add_argument("run")
    parser.add_argument("count", type=int)
    parser.add_argument("readers", type=int)
    parser.add_argument("--rate", type=float, default=0.0, help="events/s; 0 = full speed")
    parser.add_argument("--uids", default="")
    parser.add_argument("--rfid-share", type=float, default=1.0)
    parser.add_argument("--acks", action="store_true")
    parser.add_argument("--start-seq", type=int, default=0)
    parser.add_argument("--reader-prefix", default="bench-r")
    parser.add_argument(
        "--first-reader", type=int, default=0, help="number of the first reader to use"
    )
    parser.add_argument("--max-inflight", type=int, default=20)
    parser.add_argument(
        "--per-message", type=int, default=1, help="events per message (an array when > 1)"
    )
    parser.add_argument(
        "--door-gap-ms",
        type=int,
        default=0,
        help="each reader's events are this far apart on its own clock (`ts`), ending now: "
        "a backlog with a real door's pace; 0 stamps every event with the moment it is sent",
    )
    args = parser.parse_args(argv)

    uids = [u for u in args.uids.split(",") if u] or ["04A1B2C3"]
    rng = random.Random(args.run)
    sent_at: dict[str, float] = {}
    acked_at: dict[str, tuple[float, str]] = {}
    lock = threading.Lock()

    def on_ack(message: Inbound) -> None:
        now = time.time()
        body = json.loads(message.payload)
        if not str(body.get("id", "")).startswith(f"{args.run}-"):
            return  # an answer to an earlier run, still on its way
        with lock:
            acked_at.setdefault(body["id"], (now, body["result"]))

    client = MqttClient(
        BrokerAddress.from_url(args.url),
        f"bench-pub-{args.run}",
        on_message=on_ack if args.acks else None,
        max_inflight=args.max_inflight,
    )
    client.connect()
    if args.acks:
        client.subscribe([f"{args.prefix}/devices/+/ack"], qos=1)
        time.sleep(0.3)  # let the subscription settle before the first tap
    handles = []
    start = time.time()
    per = max(1, min(100, args.per_message))
    messages_per_reader = -(-args.count // per) // args.readers + 1
    backlog_ms = messages_per_reader * per * args.door_gap_ms
    for first in range(0, args.count, per):
        if args.rate:
            ahead = start + first / args.rate - time.time()
            if ahead > 0:
                time.sleep(ahead)
        # One reader per message, so an array is one reader's buffer.
        reader = f"{args.reader_prefix}-{args.first_reader + (first // per) % args.readers:03d}"
        now = time.time()
        # On the reader's clock: its n-th event of this run, door_gap_ms apart, ending now.
        reader_seq = first // per // args.readers * per  # this reader's events so far
        clock_ms = int(start * 1000) - backlog_ms + reader_seq * args.door_gap_ms
        bodies = []
        for seq in range(args.start_seq + first, args.start_seq + min(first + per, args.count)):
            uid = rng.choice(uids) if rng.random() < args.rfid_share else None
            ts_ms = clock_ms + (seq - args.start_seq - first) * args.door_gap_ms
            if not args.door_gap_ms:
                ts_ms = now * 1000
            body = door_event(args.run, seq, uid, int(ts_ms))
            body["sent"] = now
            if uid is not None:
                sent_at[body["id"]] = now  # type: ignore[index]
            bodies.append(body)
        payload = json.dumps(bodies[0] if per == 1 else bodies)
        handles.append(client.publish(f"{args.prefix}/devices/{reader}/events", payload, qos=1))
    last_sent = time.time()
    for handle in handles:
        handle.wait_for_publish(120)
    all_acked = time.time()
    if args.acks:
        deadline = time.time() + 30
        while time.time() < deadline:
            with lock:
                if len(acked_at) >= len(sent_at):
                    break
            time.sleep(0.05)
    client.disconnect()
    latencies = sorted((acked_at[i][0] - t) * 1000 for i, t in sent_at.items() if i in acked_at)
    results: dict[str, int] = {}
    for _, result in acked_at.values():
        results[result] = results.get(result, 0) + 1
    report = {
        "start": start,
        "last_sent": last_sent,
        "all_publishes_acked": all_acked,
        "published": args.count,
        "taps": len(sent_at),
        "answers": len(latencies),
        "results": results,
        "ack_p50_ms": _percentile(latencies, 50),
        "ack_p99_ms": _percentile(latencies, 99),
    }
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


def _percentile(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, round(pct / 100 * (len(sorted_values) - 1)))
    return round(sorted_values[index], 2)


if __name__ == "__main__":
    sys.exit(main())
