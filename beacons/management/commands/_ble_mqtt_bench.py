"""`bench_ble_ingest --mqtt`: phones' BLE reports through a private Mosquitto into the real
ingest, at a steady rate, and how long each took to become presence.

The parts are bench_ingest's (devices.mqtt.bench): a private, anonymous Mosquitto on a free
port, ingest loops in their own processes on one MQTT 5 shared subscription (WorkerPool), and a
publisher in a separate process (beacons.ble_bench_publisher) that walks the phones through
beacons.simulation's building.

Lag, per report: from its receipt by an ingest process (paho's network thread stamps
`Inbound.received_at`, the very value the pipeline stores as `RawEvent.received_at`) to the
commit of the batch that stored it, taken by the same process's clock right after the commit
returns (the loop's on_committed hook). That transaction also applies the report to BLE
presence (pipeline.handle_batch -> services' apply_events -> the BLE engine's visits), so its
commit is the moment the report's presence is committed. Time a report waits in the broker
before receipt is not in it; publish-to-commit (the publisher's clock, the same machine) is
printed beside it.

Everything it writes goes to the configured database under its own names (rooms and courses
`BLEMQ-*`, students `BLEMQ*`, phones `ph-blebench-*`) and is deleted afterwards.
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
from argparse import ArgumentParser
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from attendance.models import ClassSession, Course, Enrolment, Room, Student, Visit, VisitSource
from beacons.models import Beacon, BeaconKind, Phone
from devices.credentials import mosquitto_hash, new_password
from devices.models import IngestWorker, RawEvent, RejectedMessage, SenderKind
from devices.mqtt import bench
from devices.mqtt.private_broker import PrivateBroker

PHONE_PREFIX = "ph-blebench"
STUDENT_PREFIX = "BLEMQ"
CODE_PREFIX = "BLEMQ-"  # rooms and courses
UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
MAJOR = 4217  # the bench's own iBeacon major, apart from a school's beacons
ROOMS = "ABC"  # beacons.simulation's default building: three rooms in a row
WINDOW_S = 10
# The run's "first" and "last" stretch: a minute, or a quarter of a run shorter than four.
EDGE_S = 60.0


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--mqtt",
        action="store_true",
        help="through a private Mosquitto to the real ingest instead of handle_batch in this "
        "process: --phones phones (default 1000) report one 10 s window each, a report every "
        "--phones/--rate seconds per phone, for --seconds; prints the lag from each report's "
        "receipt by an ingest process to the commit of its presence (p50, p99), reports/s, "
        "and lost (published minus stored, must be 0). In this mode the last line's "
        "first_hour_ms and last_hour_ms are the median batch of the run's first and last "
        "minute, or quarter of a run shorter than four minutes (a batch: its commit minus "
        "the receipt of its last message)",
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="--mqtt: publishing time")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="--mqtt: reports/s from all phones (default --phones/10: one per phone per window)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="--mqtt: ingest processes on one shared subscription (default one per core)",
    )
    parser.add_argument("--batch-size", type=int, default=settings.INGEST_BATCH_SIZE)
    parser.add_argument("--batch-ms", type=int, default=settings.INGEST_BATCH_MS)


@dataclass(frozen=True)
class Figures:
    published: int
    stored: int
    applied_twice: int
    rejected: int
    reports_per_s: float
    lag_ms: list[float]  # sorted
    first_minute_ms: float
    last_minute_ms: float

    @property
    def lost(self) -> int:
        return self.published - self.stored

    def last_line(self) -> str:
        return (
            f"reports_per_s={self.reports_per_s:.1f} first_hour_ms={self.first_minute_ms:.1f} "
            f"last_hour_ms={self.last_minute_ms:.1f} "
            f"lag_p99_ms={bench.percentile(self.lag_ms, 99):.1f}"
        )


def run(options: dict[str, Any], say: Callable[[str], None]) -> None:
    phones = 1000 if options["phones"] is None else int(options["phones"])
    seconds = float(options["seconds"])
    rate = float(options["rate"]) or phones / WINDOW_S
    workers = int(options["workers"])
    if phones < 1 or seconds <= 0 or rate <= 0 or workers < 1:
        raise CommandError("--phones, --seconds, --rate and --workers must be positive")
    load_before = os.getloadavg()
    clear_fixtures()
    broker = PrivateBroker().start()
    try:
        identities = make_fixtures(phones, seconds)
        say(
            f"broker {broker.url} (private, anonymous, as bench_ingest's), database "
            f"{settings.DATABASES['default']['ENGINE'].split('.')[-1]}; {phones} phones walking "
            f"{len(ROOMS)} beacon rooms, {rate:g} reports/s for {seconds:g} s (a report every "
            f"{phones / rate:.1f} s per phone), {workers} ingest process"
            f"{'es on one shared subscription' if workers > 1 else ''} ..."
        )
        prefix = f"{settings.MQTT_TOPIC_PREFIX}-ble-bench"
        pool = bench.WorkerPool(
            broker.url, prefix, int(options["batch_size"]), int(options["batch_ms"]), workers
        )
        pool.start()
        try:
            run_id = f"m{secrets.token_hex(3)}"
            publisher = _start_publisher(broker.url, prefix, run_id, phones, identities, rate,
                                         seconds, int(options["seed"]))  # fmt: skip
            report = bench.publisher_report(publisher, timeout=seconds + 300)
            if not pool.wait_handled(report["published"], timeout=120):
                say("  the ingest had not handled every report 120 s after the last publish")
            summary = pool.summary(run_id)
        finally:
            pool.stop()
            IngestWorker.objects.filter(
                name__in=[f"bench-ingest-{p.pid}" for p in pool.processes]
            ).delete()
        figures = measure(report, summary, run_id)
        _say_figures(say, report, summary, figures)
        say(
            f"load average (1, 5, 15 min) before {_load(load_before)}, after "
            f"{_load(os.getloadavg())}; the machine is shared: figures are from this run only"
        )
        say(
            f"lost={figures.lost} applied_twice={figures.applied_twice} rejected={figures.rejected}"
        )
        say(figures.last_line())
    finally:
        broker.close()
        clear_fixtures()


# --- fixtures ---------------------------------------------------------------------------------


def make_fixtures(phones: int, seconds: float) -> list[tuple[str, int, int]]:
    """Rooms with one iBeacon each, a course and a session in each room covering the run, and
    `phones` students enrolled in every course, each with an active phone and an MQTT
    credential stored as registration stores it (a Mosquitto `$7$` hash; one password for all,
    so hashing does not take the setup's time). Bulk inserts: no change signals, so no
    recompute is asked for. Returns the beacons' identities in room order."""
    now = timezone.now()
    identities = []
    courses = []
    for minor, letter in enumerate(ROOMS, start=1):
        room = Room.objects.create(code=f"{CODE_PREFIX}{letter}", name="BLE bench")
        Beacon.objects.create(kind=BeaconKind.IBEACON, room=room, uuid=UUID, major=MAJOR,
                              minor=minor, enter_rssi=-82, exit_rssi=-90)  # fmt: skip
        identities.append((UUID, MAJOR, minor))
        course = Course.objects.create(code=f"{CODE_PREFIX}{letter}", name="BLE bench")
        # Starting a moment from now: a session added once begun asks for a recompute.
        ClassSession.objects.create(course=course, room=room, starts_at=now + timedelta(seconds=2),
                                    ends_at=now + timedelta(seconds=seconds + 600))  # fmt: skip
        courses.append(course)
    students = Student.objects.bulk_create(
        Student(number=f"{STUDENT_PREFIX}{i:05d}", first_name="BLE", last_name=f"Bench {i}")
        for i in range(phones)
    )
    credential = mosquitto_hash(new_password())
    Phone.objects.bulk_create(
        Phone(
            phone_id=phone_id(i),
            student=s,
            active_for=s,
            model_name="bench",
            mqtt_password_hash=credential,
        )
        for i, s in enumerate(students)
    )
    Enrolment.objects.bulk_create(Enrolment(course=c, student=s) for c in courses for s in students)
    return identities


def phone_id(index: int) -> str:
    return f"{PHONE_PREFIX}-{index:05d}"  # the publisher's naming


def clear_fixtures() -> None:
    RawEvent.objects.filter(sender_kind=SenderKind.PHONE, sender__startswith=PHONE_PREFIX).delete()
    RejectedMessage.objects.filter(sender__startswith=PHONE_PREFIX).delete()
    Student.objects.filter(number__startswith=STUDENT_PREFIX).delete()
    Course.objects.filter(code__startswith=CODE_PREFIX).delete()
    Room.objects.filter(code__startswith=CODE_PREFIX).delete()


def _start_publisher(
    url: str,
    prefix: str,
    run_id: str,
    phones: int,
    identities: Sequence[tuple[str, int, int]],
    rate: float,
    seconds: float,
    seed: int,
) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "beacons.ble_bench_publisher", url, prefix, run_id,
        f"--phones={phones}", f"--phone-prefix={PHONE_PREFIX}",
        f"--beacons={','.join(f'{u}:{ma}:{mi}' for u, ma, mi in identities)}",
        f"--rate={rate}", f"--seconds={seconds}", f"--seed={seed}",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(bench.BASE_DIR)}
    return subprocess.Popen(command, cwd=bench.BASE_DIR, stdout=subprocess.PIPE, text=True, env=env)


# --- figures ----------------------------------------------------------------------------------


def measure(report: dict, summary: bench.RunSummary, run_id: str) -> Figures:
    """The run's figures from the publisher's report, the workers' commits and the database."""
    lag_ms = sorted((at - r) * 1000 for at, received in summary.timeline for r in received)
    # Per batch: its commit minus the receipt of its last message (the batch's own work).
    batch_ms = [(at, (at - max(received)) * 1000) for at, received in summary.timeline]
    first = summary.timeline[0][0] if summary.timeline else 0.0
    last = summary.timeline[-1][0] if summary.timeline else 0.0
    edge = min(EDGE_S, (last - first) / 4)
    stored = RawEvent.objects.filter(
        sender_kind=SenderKind.PHONE,
        sender__startswith=PHONE_PREFIX,
        event_id__startswith=f"{run_id}-",
    ).count()
    elapsed = last - report["start"]
    return Figures(
        published=report["published"],
        stored=stored,
        applied_twice=summary.repeated_new,
        rejected=RejectedMessage.objects.filter(sender__startswith=PHONE_PREFIX).count(),
        reports_per_s=stored / elapsed if elapsed > 0 else 0.0,
        lag_ms=lag_ms,
        first_minute_ms=_median([ms for at, ms in batch_ms if at <= first + edge]),
        last_minute_ms=_median([ms for at, ms in batch_ms if at >= last - edge]),
    )


def _say_figures(
    say: Callable[[str], None], report: dict, summary: bench.RunSummary, figures: Figures
) -> None:
    sending = report["last_sent"] - report["start"]
    say(
        f"  published {figures.published} in {sending:.1f} s "
        f"({figures.published / max(sending, 1e-9):.1f}/s), "
        f"{report['unacknowledged']} not acknowledged by the broker"
    )
    visits = Visit.objects.filter(
        student__number__startswith=STUDENT_PREFIX, source=VisitSource.BLE
    )
    say(
        f"  stored {figures.stored} (lost {figures.lost}), applied twice "
        f"{figures.applied_twice}, rejected {figures.rejected}; presence: {visits.count()} BLE "
        f"visits of {visits.values('student').distinct().count()} students"
    )
    lag = figures.lag_ms
    say(
        f"  receipt-to-commit lag p50 {bench.percentile(lag, 50)} ms, "
        f"p99 {bench.percentile(lag, 99)} ms, max {bench.percentile(lag, 100)} ms "
        f"over {len(lag)} reports; publish-to-commit p50 "
        f"{bench.percentile(summary.latencies_ms, 50)} ms, "
        f"p99 {bench.percentile(summary.latencies_ms, 99)} ms"
    )
    batches = len(summary.timeline)
    say(
        f"  {figures.reports_per_s:.1f} reports/s committed (first publish to last commit); "
        f"{batches} batches of {len(lag) / max(1, batches):.1f} reports on average; median "
        f"batch (commit minus its last receipt) {figures.first_minute_ms:.1f} ms in the run's "
        f"first minute (or quarter), {figures.last_minute_ms:.1f} ms in its last"
    )


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in load)
