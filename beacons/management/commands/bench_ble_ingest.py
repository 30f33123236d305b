"""Time handle_batch on batches of phone BLE reports, against the configured database; with
--mqtt, the real ingest behind a private Mosquitto (see _ble_mqtt_bench)."""

from __future__ import annotations

import json
import statistics
import time
from argparse import ArgumentParser
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from attendance.engine.ble import apply as ble_apply
from attendance.models import ClassSession, Course, Enrolment, Room, Student
from beacons.management.commands import _ble_mqtt_bench
from beacons.models import Beacon, Phone
from beacons.simulation import Simulation, simulate
from devices.mqtt.pipeline import IncomingMessage, handle_batch

UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
PREFIX = "bench-ble"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Simulate --phones phones (beacons/simulation.py) for --hours, feed their reports to "
        "handle_batch in event-time order in batches of --batch messages, in this process, and "
        "print the median time per batch for each simulated hour, where a batch's time goes, "
        "reports/s over the whole run, and a last line `reports_per_s=... first_hour_ms=... "
        "last_hour_ms=... lag_p99_ms=na` for scripts. Everything is written inside one "
        "transaction that is rolled back. With --mqtt, phones publish through a private "
        "Mosquitto to the real ingest instead (see --mqtt)."
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
        self.in_process(options)

    # -- in process: handle_batch called directly, no broker ------------------------------

    def in_process(self, options: dict[str, Any]) -> None:
        try:
            with transaction.atomic():
                self.measure_in_process(options)
                raise _Rollback
        except _Rollback:
            pass

    def measure_in_process(self, options: dict[str, Any]) -> None:
        sim = simulate(options["phones"], options["hours"], seed=options["seed"], start=START)
        phone_ids = self.world(sim, options["hours"])
        messages = report_messages(sim, phone_ids)
        batch = options["batch"]
        per_hour: dict[int, list[float]] = defaultdict(list)
        total = cpu = 0.0
        with _Breakdown() as parts:
            for i in range(0, len(messages), batch):
                chunk = messages[i : i + batch]
                began, began_cpu = time.perf_counter(), time.process_time()
                handle_batch([m for _, m in chunk], prefix=PREFIX)
                took = time.perf_counter() - began
                total += took
                cpu += time.process_time() - began_cpu
                per_hour[int((chunk[0][0] - START).total_seconds() // 3600)].append(took)
        for hour, times in sorted(per_hour.items()):
            self.stdout.write(
                f"hour {hour + 1}: {len(times)} batches, median {_ms(statistics.median(times))} "
                f"ms, max {_ms(max(times))} ms"
            )
        batches = sum(len(t) for t in per_hour.values())
        presence, records = parts.seconds["presence"], parts.seconds["records"]
        self.stdout.write(
            f"per batch: {_ms(presence / batches)} ms BLE presence (checkpoints, runs, "
            f"visits, flags), {_ms(records / batches)} ms the records it touched, "
            f"{_ms((total - presence - records) / batches)} ms the rest of handle_batch "
            f"(contract, storing, locks, live state); this process's CPU "
            f"{_ms(cpu / batches)} ms of {_ms(total / batches)} ms (the rest waits on "
            "MariaDB or on other processes: the machine is shared)"
        )
        rate = len(messages) / total if total else 0.0
        first, last = per_hour[min(per_hour)], per_hour[max(per_hour)]
        first_ms, last_ms = _ms(statistics.median(first)), _ms(statistics.median(last))
        self.stdout.write(
            f"{len(messages)} reports from {len(phone_ids)} phones in batches of {batch}: "
            f"{rate:.0f} reports/s in {total:.1f} s of handle_batch; last hour's median batch "
            f"{last_ms / first_ms:.2f} x the first hour's"
        )
        self.stdout.write(
            f"reports_per_s={rate:.0f} first_hour_ms={first_ms} last_hour_ms={last_ms} "
            "lag_p99_ms=na"
        )

    def world(self, sim: Simulation, hours: float) -> list[str]:
        rooms = {b.room: Room.objects.create(code=f"bench-{b.room}") for b in sim.beacons}
        for b in sim.beacons:
            Beacon.objects.create(kind="ibeacon", room=rooms[b.room], uuid=UUID, major=1,
                                  minor=b.beacon_id, enter_rssi=-82, exit_rssi=-90)  # fmt: skip
        courses = []
        for code, room in rooms.items():
            course = Course.objects.create(code=f"BENCH-BLE-{code}", name="bench")
            ClassSession.objects.create(course=course, room=room, starts_at=START,
                                        ends_at=START + timedelta(hours=hours))  # fmt: skip
            courses.append(course)
        ids = []
        for i, _ in enumerate(sim.phones):
            student = Student.objects.create(number=f"BB{i}", first_name="B", last_name=str(i))
            for course in courses:
                Enrolment.objects.create(course=course, student=student)
            Phone.objects.create(phone_id=f"ph-bench-{i}", student=student)
            ids.append(f"ph-bench-{i}")
        return ids


class _Breakdown:
    """Time spent in the BLE engine's two stages, by wrapping them for the run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._saved: list[tuple[str, Callable[..., Any]]] = []

    def __enter__(self) -> _Breakdown:
        for name, part in (("apply_phone_evidence", "presence"), ("recompute_records", "records")):
            original = getattr(ble_apply, name)
            self._saved.append((name, original))
            setattr(ble_apply, name, self._timed(original, part))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self._saved:
            setattr(ble_apply, name, original)

    def _timed(self, fn: Callable[..., Any], part: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[part] += time.perf_counter() - began

        return timed


def report_messages(
    sim: Simulation, phone_ids: list[str]
) -> list[tuple[datetime, IncomingMessage]]:
    """Every simulated window as the phone sends it, in event-time order."""
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
    return messages


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
