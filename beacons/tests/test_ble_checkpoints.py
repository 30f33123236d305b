"""Stored presence checkpoints give the same presence however the reports arrive.

A simulated day (beacons/simulation.py) is applied through the whole ingest step in one
batch, in 10 s batches as phones send live, and delivered out of order within the offline
window (each report received up to BLE_OFFLINE_WINDOW_SECONDS after its scan, batched by
receipt); each must give the same `ble` visits and the same attendance records, and so
must a replay of the day from scratch (its checkpoints dropped). Seeded: three seeds in
the default run, ZIAS_CHECKPOINT_SEEDS=30 for more.
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from attendance import services
from attendance.models import AttendanceRecord, Visit
from beacons.models import Beacon, Phone, PresenceCheckpoint
from beacons.simulation import simulate
from devices.models import RawEvent
from devices.mqtt.pipeline import IncomingMessage, handle_batch
from tests.factories import make_course, make_room, make_session, make_student

PREFIX = "zc"
UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTES = 40
NOW = START + timedelta(minutes=MINUTES + 60)  # the day is over: every stay has closed
SEEDS = range(int(os.environ.get("ZIAS_CHECKPOINT_SEEDS", "3")))


def world(seed: int) -> list[tuple[str, datetime, dict]]:
    """Rooms, beacons, students with phones and sessions for a simulated school; its reports
    as (phone id, ts, payload) in event-time order."""
    sim = simulate(3, MINUTES / 60, seed=seed, start=START)
    rooms = {b.room: make_room(f"P-{b.room}") for b in sim.beacons}
    for b in sim.beacons:
        Beacon.objects.create(kind="ibeacon", room=rooms[b.room], uuid=UUID, major=1,
                              minor=b.beacon_id, enter_rssi=-82, exit_rssi=-90)  # fmt: skip
    students = [make_student(f"P{seed}-{i}") for i in range(len(sim.phones))]
    for code, room in rooms.items():
        course = make_course(f"PC-{code}", students=tuple(students))
        make_session(course, room, START, minutes=20)  # two sessions in each room
        make_session(course, room, START + timedelta(minutes=20), minutes=20)
    reports = []
    for i, (student, phone) in enumerate(zip(students, sim.phones, strict=True)):
        Phone.objects.create(
            phone_id=f"ph-p{i}", student=student, rssi_offset_db=round(phone.rssi_offset_db)
        )
        for n, w in enumerate(phone.windows):
            beacons = [{"uuid": UUID, "major": 1, "minor": s.beacon_id, "rssi": s.rssi, "n": s.n}
                       for s in w.sightings]  # fmt: skip
            body = {"id": f"w{n}", "ts": int(w.at.timestamp() * 1000), "window_s": 10,
                    "beacons": beacons}  # fmt: skip
            reports.append((f"ph-p{i}", w.at, body))
    reports.sort(key=lambda r: r[1])
    return reports


def message(phone: str, body: dict, received_at: datetime) -> IncomingMessage:
    return IncomingMessage(
        f"{PREFIX}/phones/{phone}/ble", json.dumps(body).encode(),
        received_at=received_at.timestamp(),
    )  # fmt: skip


def in_batches_by_receipt(
    reports: list[tuple[str, datetime, dict]], delays: list[float], seconds: float
) -> list[list[IncomingMessage]]:
    """Each report received `delay` seconds after its scan ended; batches of everything
    received in the same `seconds`-long stretch, in order of receipt."""
    received = sorted(
        (
            (at + timedelta(seconds=d), phone, body)
            for (phone, at, body), d in zip(reports, delays, strict=True)
        ),
        key=lambda r: r[0],
    )
    batches: dict[int, list[IncomingMessage]] = {}
    for at, phone, body in received:
        batches.setdefault(int(at.timestamp() // seconds), []).append(message(phone, body, at))
    return [batches[k] for k in sorted(batches)]


def sql_holding(queries, fragment: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The captured statements holding `fragment`, names unquoted (MariaDB quotes them with
    backticks, SQLite with double quotes)."""
    plain = [q["sql"].replace("`", "").replace('"', "") for q in queries]
    return [sql for sql in plain if fragment in sql]


def outcome() -> tuple[list[tuple], list[tuple]]:
    visits = sorted(
        Visit.objects.filter(source="ble").values_list(
            "student__number", "room__code", "entered_at", "left_at", "confidence"
        )
    )
    records = sorted(
        (r.session.course.code, r.session.starts_at, r.student.number, r.status, r.first_seen,
         r.last_seen, r.minutes_present, tuple(r.flags))
        for r in AttendanceRecord.objects.select_related("student", "session__course")
    )  # fmt: skip
    return visits, records


def applied(seed: int, batches_of: str) -> tuple[tuple[list, list], tuple[list, list]]:
    """Apply the seed's day one way, inside a transaction that is rolled back: the visits
    and records it gives, then those of a replay from scratch."""
    with transaction.atomic():
        reports = world(seed)
        rng = random.Random(f"{seed}-{batches_of}")
        if batches_of == "one":
            batches = [[message(p, body, at + timedelta(seconds=1)) for p, at, body in reports]]
        elif batches_of == "10s":
            batches = in_batches_by_receipt(reports, [1.0] * len(reports), 10)
        else:  # out of order: buffered offline for up to (almost) the whole window
            window = settings.BLE_OFFLINE_WINDOW_SECONDS
            delays = [rng.choice([1.0, rng.uniform(1, 0.95 * window)]) for _ in reports]
            batches = in_batches_by_receipt(reports, delays, 10)
        for batch in batches:
            handle_batch(batch, prefix=PREFIX)
        got = outcome()
        PresenceCheckpoint.objects.all().delete()
        services.apply_phone_reports(
            [(f"ph-p{i}", START) for i in range(3)], NOW, "replayed from scratch"
        )
        again = outcome()
        transaction.set_rollback(True)
    return got, again


@pytest.mark.django_db
@pytest.mark.parametrize("seed", SEEDS)
@time_machine.travel(NOW, tick=False)
def test_a_day_in_one_batch_in_10s_batches_and_shuffled_gives_the_same_presence(seed):
    one, from_scratch = applied(seed, "one")
    visits, records = one
    assert visits, "the simulated students were somewhere"
    assert any(r[3] in ("present", "late", "left_early") for r in records)
    assert from_scratch == one
    for way in ("10s", "shuffled"):
        got, from_scratch = applied(seed, way)
        assert got[0] == visits, way
        assert got[1] == records, way
        assert from_scratch == one, way


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_a_report_in_order_resumes_the_latest_checkpoint_and_reads_no_earlier_report():
    if connection.vendor != "mysql":
        pytest.skip("SQLite has no INSERT ... RETURNING: the pipeline reads its new events back")
    from django.test.utils import CaptureQueriesContext

    reports = world(99)
    first, rest = reports[:-3], reports[-3:]
    handle_batch([message(p, b, at + timedelta(seconds=1)) for p, at, b in first], prefix=PREFIX)
    with CaptureQueriesContext(connection) as queries:
        handle_batch([message(p, b, at + timedelta(seconds=1)) for p, at, b in rest], prefix=PREFIX)
    event_reads = sql_holding(queries, "FROM devices_rawevent")
    assert event_reads == [], "the batch's own reports are not read back"
    kept = PresenceCheckpoint.objects.values_list("phone__phone_id", "at")
    newest: dict[str, datetime] = {}
    for phone, at in kept:
        newest[phone] = max(newest.get(phone, at), at)
    stored = RawEvent.objects.values("sender").annotate(last=Max("ts"))
    assert newest == {row["sender"]: row["last"] for row in stored}


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_a_report_out_of_order_resumes_the_checkpoint_before_it_not_the_day():
    from django.test.utils import CaptureQueriesContext

    reports = [r for r in world(98) if r[0] == "ph-p0"]
    late = reports[-20]  # about four minutes before the phone's last report
    others = [r for r in reports if r is not late]
    handle_batch([message(p, b, at + timedelta(seconds=1)) for p, at, b in others], prefix=PREFIX)
    without = outcome()[0]
    with CaptureQueriesContext(connection) as queries:
        handle_batch([message(late[0], late[2], late[1] + timedelta(minutes=5))], prefix=PREFIX)
    reads = sql_holding(queries, "devices_rawevent.ts >=")
    assert len(reads) == 1, "the reports after the checkpoint are read back"
    day_start = "2026-03-02 00:00:00"
    assert day_start not in reads[0], "from a checkpoint before the report, not the day's start"
    with_late = outcome()[0]
    PresenceCheckpoint.objects.all().delete()
    services.apply_phone_reports([("ph-p0", START)], NOW, "replayed from scratch")
    assert outcome()[0] == with_late
    assert with_late != [] and without != []


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_a_report_dated_hours_ahead_does_not_become_the_phones_checkpoint():
    if connection.vendor != "mysql":
        pytest.skip("SQLite has no INSERT ... RETURNING: the pipeline reads its new events back")
    # A wrong clock or a hostile phone: were it the head, every in-order report after it
    # would look out of order and replay the day, and each would count as a revision.
    from django.test.utils import CaptureQueriesContext

    reports = [r for r in world(97) if r[0] == "ph-p0"]
    first, rest = reports[:-3], reports[-3:]
    handle_batch([message(p, b, at + timedelta(seconds=1)) for p, at, b in first], prefix=PREFIX)
    phone, at, body = first[-1]
    ahead = {**body, "id": "ahead", "ts": int((at + timedelta(hours=5)).timestamp() * 1000)}
    handle_batch([message(phone, ahead, at + timedelta(seconds=2))], prefix=PREFIX)

    def newest(model, field: str):
        return model.objects.exclude(event_id="ahead").aggregate(m=Max(field))["m"]

    assert newest(PresenceCheckpoint, "at") == newest(RawEvent, "ts"), "the last presence"
    with CaptureQueriesContext(connection) as queries:
        handle_batch([message(p, b, a + timedelta(seconds=1)) for p, a, b in rest], prefix=PREFIX)
    assert not sql_holding(queries, "FROM devices_rawevent"), "no replay"
    assert newest(PresenceCheckpoint, "at") == newest(RawEvent, "ts") > at
