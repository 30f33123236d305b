"""Late BLE evidence on a record not yet final leaves a revision, as a late door tap does;
reports arriving in time and in order only follow the evidence (no revision)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from attendance.engine.ble.revisions import late_among
from attendance.models import AttendanceRecord, RecordRevision
from beacons.models import Beacon, Phone
from beacons.presence import ScanWindow
from beacons.sightings import ReadReport
from devices.mqtt.pipeline import IncomingMessage, handle_batch
from tests.factories import (
    make_card,
    make_course,
    make_reader,
    make_room,
    make_session,
    make_student,
)

PREFIX = "zt"
UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; the session runs 09:00-10:00
LATER = START + timedelta(hours=3)  # no tick has run: the records are not final


def read(at_s: int, received_s: int, late: bool = False) -> ReadReport:
    return ReadReport(
        ScanWindow(START + timedelta(seconds=at_s), ()),
        received_at=START + timedelta(seconds=received_s),
        late=late,
    )


def moments(*seconds: int) -> set[datetime]:
    return {START + timedelta(seconds=s) for s in seconds}


def test_a_report_in_time_and_in_order_is_not_late() -> None:
    reads = [read(0, 1), read(10, 11), read(20, 21)]
    assert not late_among(reads, moments(20))
    assert not late_among(reads, moments(10, 20))  # one batch of two, in order
    assert not late_among(reads, set())


def test_a_report_received_after_a_later_one_is_late() -> None:
    reads = [read(0, 1), read(10, 35), read(20, 21)]  # 10 s arrived after 20 s
    assert late_among(reads, moments(10))
    assert not late_among(reads, moments(20))  # the later one itself was in order


def test_a_report_received_long_after_its_moment_is_late() -> None:
    reads = [read(0, 1), read(10, 5000, late=True)]
    assert late_among(reads, moments(10))


def test_only_this_batchs_reports_are_judged() -> None:
    # An old out-of-order report revised its day when it came; a new one in order does not.
    reads = [read(0, 50), read(10, 11), read(20, 60)]
    assert not late_among(reads, moments(20))


# -- through the ingest ------------------------------------------------------------------------


def message(i: int, at: datetime, received_at: datetime) -> IncomingMessage:
    beacons = [{"uuid": UUID, "major": 1, "minor": 1, "rssi": -60, "n": 8}]
    body = {"id": f"r-{i}", "ts": int(at.timestamp() * 1000), "window_s": 10, "beacons": beacons}
    return IncomingMessage(
        f"{PREFIX}/phones/ph-ada/ble",
        json.dumps(body).encode(),
        received_at=received_at.timestamp(),
    )


def reports(
    first: int, last: int, delay: timedelta = timedelta(seconds=1)
) -> list[IncomingMessage]:
    """Reports every 12 s, the i-th at START - 2 min + 12 s * i, for i in first..last."""
    out = []
    for i in range(first, last + 1):
        at = START - timedelta(minutes=2) + timedelta(seconds=12 * i)
        out.append(message(i, at, at + delay))
    return out


def run(messages: list[IncomingMessage]) -> None:
    for i in range(0, len(messages), 50):
        handle_batch(messages[i : i + 50], prefix=PREFIX)


@pytest.fixture
def school(db):
    room = make_room("A")
    Beacon.objects.create(kind="ibeacon", room=room, uuid=UUID, major=1, minor=1)
    ada = make_student("S1001", first_name="Ada", last_name="Okafor")
    Phone.objects.create(phone_id="ph-ada", student=ada)
    session = make_session(make_course("MATH", students=(ada,)), room, START)
    return {"room": room, "ada": ada, "session": session}


def record_of(school: dict) -> AttendanceRecord:
    return AttendanceRecord.objects.get(session=school["session"], student=school["ada"])


@time_machine.travel(LATER, tick=False)
def test_reports_in_order_follow_the_evidence_without_revisions(school) -> None:
    run(reports(0, 309))  # 08:58 to 10:00, each received a second after its scan
    record = record_of(school)
    assert record.status == "present" and not record.finalised
    assert not RecordRevision.objects.filter(record=record).exists()


@time_machine.travel(LATER, tick=False)
def test_a_gap_filled_in_by_buffered_reports_leaves_a_revision(school) -> None:
    # 09:20 to 09:30 (i = 110..160) stays in the phone's buffer: two stays, ten minutes out.
    run(reports(0, 109) + reports(161, 309))
    record = record_of(school)
    before = record.minutes_present
    assert record.status == "present" and before <= 52
    buffered = reports(110, 160, delay=timedelta(minutes=8))  # within the offline window
    run(buffered)
    record.refresh_from_db()
    assert record.minutes_present > before + 5 and not record.finalised
    [revision] = RecordRevision.objects.filter(record=record)
    assert revision.minutes_present == before  # what it was
    assert revision.cause == "late BLE report from ph-ada"
    assert record.revision == 1


@time_machine.travel(LATER, tick=False)
def test_a_replayed_scan_flags_a_record_not_yet_final_with_a_revision(school) -> None:
    """Ada tapped in at 09:01 (present, not final); her phone's scans of that hour are
    uploaded hours later: evidence only, but the late_report flag it adds is a revision."""
    make_reader(school["room"], "door-a", mode="entry")
    card = make_card(school["ada"], "04A1B2C3")
    tap = {"id": "t1", "ts": int((START + timedelta(minutes=1)).timestamp() * 1000),
           "type": "rfid", "uid": card.uid}  # fmt: skip
    handle_batch(
        [IncomingMessage(f"{PREFIX}/devices/door-a/events", json.dumps(tap).encode())],
        prefix=PREFIX,
    )
    record = record_of(school)
    assert record.status == "present" and record.flags == [] and not record.finalised
    recorded = reports(0, 100)
    run([message(i, *_replayed(m)) for i, m in enumerate(recorded)])
    record.refresh_from_db()
    assert "late_report" in record.flags and not record.finalised
    [revision] = RecordRevision.objects.filter(record=record)
    assert revision.flags == [] and revision.cause == "late BLE report from ph-ada"


def _replayed(m: IncomingMessage) -> tuple[datetime, datetime]:
    at = datetime.fromtimestamp(json.loads(m.payload)["ts"] / 1000, UTC)
    return at, LATER
