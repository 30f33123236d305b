"""Time handle_batch on batches of phone BLE reports, against the configured database; with
--mqtt, the real ingest behind a private Mosquitto (see _ble_mqtt_bench)."""

from __future__ import annotations

import json
import statistics
import time
from argparse import ArgumentParser
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from attendance.models import ClassSession, Course, Enrolment, Room, Student
from beacons.management.commands import _ble_mqtt_bench
from beacons.models import Beacon, Phone
from beacons.simulation import simulate
from devices.mqtt.pipeline import IncomingMessage, handle_batch

UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
PREFIX = "bench-ble"


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Simulate --phones phones (beacons/simulation.py) for --hours, feed their reports to "
        "handle_batch in event-time order in batches of --batch messages, and print the time "
        "per batch (median, p95, max; and the last batch, whose segments are the longest). "
        "Everything is written inside one transaction that is rolled back. "
        "With --mqtt, phones publish through a private Mosquitto to the real ingest instead "
        "(see --mqtt)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--phones", type=int, default=None, help="default 50 (1000 with --mqtt)"
        )
        parser.add_argument("--hours", type=float, default=1.0)
        parser.add_argument("--batch", type=int, default=500)
        parser.add_argument("--seed", type=int, default=1)
        _ble_mqtt_bench.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["mqtt"]:
            _ble_mqtt_bench.run(options, self.stdout.write)
            return
        if options["phones"] is None:
            options["phones"] = 50
        if options["phones"] < 1 or options["batch"] < 1 or options["hours"] <= 0:
            raise CommandError("--phones, --batch and --hours must be positive")
        try:
            with transaction.atomic():
                self.run(options)
                raise _Rollback
        except _Rollback:
            pass

    def run(self, options: dict[str, Any]) -> None:
        start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        sim = simulate(options["phones"], options["hours"], seed=options["seed"], start=start)
        phone_ids = self.world(sim, start, options["hours"])
        messages = []
        for phone_id, phone in zip(phone_ids, sim.phones, strict=True):
            for i, w in enumerate(phone.windows):
                beacons = [
                    {"uuid": UUID, "major": 1, "minor": s.beacon_id, "rssi": s.rssi, "n": s.n}
                    for s in w.sightings
                ]
                body = {"id": f"{i}", "ts": int(w.at.timestamp() * 1000), "window_s": 10,
                        "beacons": beacons}  # fmt: skip
                # Received as the phone sends it, a second after its scan ended (a report
                # received hours later would be late: evidence, not presence).
                messages.append((w.at, IncomingMessage(
                    f"{PREFIX}/phones/{phone_id}/ble", json.dumps(body).encode(),
                    received_at=w.at.timestamp() + 1)))  # fmt: skip
        messages.sort(key=lambda m: m[0])
        batch = options["batch"]
        times = []
        for i in range(0, len(messages), batch):
            chunk = [m for _, m in messages[i : i + batch]]
            began = time.perf_counter()
            handle_batch(chunk, prefix=PREFIX)
            times.append(time.perf_counter() - began)
        ordered = sorted(times)
        self.stdout.write(
            f"{len(messages)} reports from {len(phone_ids)} phones in {len(times)} batches of "
            f"{batch}: median {statistics.median(times) * 1000:.0f} ms, "
            f"p95 {ordered[int(0.95 * (len(ordered) - 1))] * 1000:.0f} ms, "
            f"max {ordered[-1] * 1000:.0f} ms, last {times[-1] * 1000:.0f} ms per batch"
        )

    def world(self, sim: Any, start: datetime, hours: float) -> list[str]:
        rooms = {b.room: Room.objects.create(code=f"bench-{b.room}") for b in sim.beacons}
        for b in sim.beacons:
            Beacon.objects.create(kind="ibeacon", room=rooms[b.room], uuid=UUID, major=1,
                                  minor=b.beacon_id, enter_rssi=-82, exit_rssi=-90)  # fmt: skip
        courses = []
        for code, room in rooms.items():
            course = Course.objects.create(code=f"BENCH-BLE-{code}", name="bench")
            ClassSession.objects.create(course=course, room=room, starts_at=start,
                                        ends_at=start + timedelta(hours=hours))  # fmt: skip
            courses.append(course)
        ids = []
        for i, _ in enumerate(sim.phones):
            student = Student.objects.create(number=f"BB{i}", first_name="B", last_name=str(i))
            for course in courses:
                Enrolment.objects.create(course=course, student=student)
            Phone.objects.create(phone_id=f"ph-bench-{i}", student=student)
            ids.append(f"ph-bench-{i}")
        return ids
