"""`bench_ble_ingest --mqtt`'s phone side, run as its own process: BLE reports at a steady rate.

    python -m beacons.ble_bench_publisher URL PREFIX RUN --phones N --phone-prefix P
        --beacons UUID:MAJOR:MINOR,... --rate R --seconds S [--seed K]

Phones `<P>-00000`.. walk beacons.simulation's building (one room per beacon, in the order
given) and take turns: report k goes out at start + k/R from phone k mod N, so each phone
reports every N/R seconds (10 s, one scan window, when R = N/10). Each report is a CONTRACT
`<prefix>/phones/<phone>/ble` message: id `<run>-<k>`, `ts` the moment its window ended (now,
on this clock), `window_s` 10, the iBeacons the walk heard with their median RSSI and reading
count, and an extra `sent` key (epoch seconds; the contract ignores unknown keys) that the
ingest side's recorder uses for publish-to-commit. Prints one JSON object on stdout once
every publish is acknowledged. Uses only the MQTT choke point, no Django.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time

from beacons.simulation import SimConfig, WalkingPhone
from devices.mqtt.client import BrokerAddress, MqttClient

WINDOW_S = 10


def parse_beacons(text: str) -> list[tuple[str, int, int]]:
    """`uuid:major:minor,...` into identities; the k-th is simulated room k's beacon."""
    identities = []
    for item in text.split(","):
        uuid, major, minor = item.split(":")
        identities.append((uuid, int(major), int(minor)))
    return identities


def report_body(
    run: str, k: int, now: float, heard: list[tuple[str, int, int, int, int]]
) -> dict[str, object]:
    """One scan window's summary; `heard` is (uuid, major, minor, rssi, n) per beacon."""
    return {
        "id": f"{run}-{k}",
        "ts": int(now * 1000),
        "window_s": WINDOW_S,
        "beacons": [
            {"uuid": u, "major": ma, "minor": mi, "rssi": rssi, "n": n}
            for u, ma, mi, rssi, n in heard
        ],
        "sent": now,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("prefix")
    parser.add_argument("run")
    parser.add_argument("--phones", type=int, required=True)
    parser.add_argument("--phone-prefix", required=True)
    parser.add_argument("--beacons", required=True, help="uuid:major:minor,... one per room")
    parser.add_argument("--rate", type=float, required=True, help="reports/s, all phones")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-inflight", type=int, default=20)
    args = parser.parse_args(argv)

    identities = parse_beacons(args.beacons)
    config = SimConfig(rooms=len(identities))
    rng = random.Random(args.seed)
    # Each phone's walk starts one window in, so its first window has readings behind it.
    walk_s = args.seconds + 3 * WINDOW_S
    walks = [WalkingPhone(config, rng.getrandbits(32), walk_s) for _ in range(args.phones)]
    address = BrokerAddress.from_url(args.url)
    client = MqttClient(address, f"ble-bench-pub-{args.run}", max_inflight=args.max_inflight)
    client.connect()
    count = int(args.rate * args.seconds)
    handles = []
    start = time.time()
    for k in range(count):
        ahead = start + k / args.rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
        now = time.time()
        phone = k % args.phones
        heard = [
            (*identities[s.beacon_id - 1], s.rssi, s.n)
            for s in walks[phone].window(now - start + WINDOW_S)
        ]
        topic = f"{args.prefix}/phones/{args.phone_prefix}-{phone:05d}/ble"
        # json's default separators: the ingest side finds a run's messages by `"id": "<run>-`.
        handles.append(client.publish(topic, json.dumps(report_body(args.run, k, now, heard))))
    last_sent = time.time()
    for handle in handles:
        handle.wait_for_publish(120)
    report = {
        "start": start,
        "last_sent": last_sent,
        "all_publishes_acked": time.time(),
        "published": count,
        "unacknowledged": sum(not h.is_published() for h in handles),
    }
    client.disconnect()
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
