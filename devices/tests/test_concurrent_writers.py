"""Every writer at once, as a school runs them, on the same few students for 30 s.

Two `manage.py ingest` processes on a shared subscription (their tick finalises sessions
that end meanwhile), a second reader posting over HTTP to a Daphne process, phones
reporting BLE, and a process correcting records through attendance.services. At the end
people's corrections have won, revisions follow each other, and every event is stored once.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict

import paho.mqtt.client as mqtt
import pytest

from attendance.tests.writers_world import CORRECTOR, SEED
from devices.mqtt.private_broker import PrivateBroker, free_port
from devices.tests.processes import (
    BASE_DIR,
    ProcDatabase,
    ingest_log,
    start_ingest,
    stop,
    wait_connected,
    wait_until,
)

PREFIX = "zt-writers"
STUDENTS = 4
SECONDS = 30
pytestmark = pytest.mark.django_db  # only to learn which database engine is configured


@pytest.fixture
def procdb(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor != "mysql":
            pytest.skip("concurrent writers need MariaDB: SQLite has one writer")
        db = ProcDatabase()
    yield db
    db.close()


@pytest.fixture
def spawned():
    processes: list[subprocess.Popen] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _publish_for(broker: PrivateBroker, seconds: float, sent: list[str]) -> None:
    """Taps at the MQTT reader and a BLE report per phone, about 25 messages a second."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="w-publisher")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    deadline, n = time.monotonic() + seconds, 0
    try:
        while time.monotonic() < deadline:
            n += 1
            student = n % STUDENTS
            tap = {"id": f"wm-{n}", "ts": _now_ms(), "type": "rfid", "uid": f"0C{student:06X}"}
            client.publish(f"{PREFIX}/devices/w-door-mqtt/events", json.dumps(tap), qos=1)
            sent.append(f"wm-{n}")
            report = {
                "id": f"wb-{n}", "ts": _now_ms(), "window_s": 10,
                "beacons": [{"uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e", "major": 9,
                             "minor": 1, "rssi": -60 - n % 7, "n": 8}],
            }  # fmt: skip
            client.publish(f"{PREFIX}/phones/w-phone-{student:03d}/ble", json.dumps(report), qos=1)
            sent.append(f"wb-{n}")
            time.sleep(0.08)
    finally:
        client.loop_stop()
        client.disconnect()


def _post_for(port: int, password: str, seconds: float, sent: list[str], codes: list[int]):
    auth = base64.b64encode(f"w-door-http:{password}".encode()).decode()
    deadline, n = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        n += 1
        body = {"id": f"wh-{n}", "ts": _now_ms(), "type": "rfid", "uid": f"0C{n % STUDENTS:06X}"}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/attendance/event",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                codes.append(answer.status)
        except urllib.error.HTTPError as refused:
            codes.append(refused.code)
        sent.append(f"wh-{n}")
        time.sleep(0.1)


def _start_web(db: ProcDatabase, port: int, broker: PrivateBroker) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "zias.asgi:application"],
        cwd=BASE_DIR, env=db.env(MQTT_URL=broker.url, MQTT_TOPIC_PREFIX=PREFIX),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _port_open(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
    except OSError:
        return False
    return True


def test_people_win_and_nothing_is_lost_with_every_writer_at_once(procdb, spawned):
    db = procdb
    seeded = db.python(SEED.format(students=STUDENTS, ending=6))
    password = seeded.strip().rsplit("PASSWORD=", 1)[1].strip()
    web_port = free_port()
    with PrivateBroker() as broker:
        workers = [
            start_ingest(db, broker.url, PREFIX, f"zt-writers-{n}", "--shared-group=zw")
            for n in (1, 2)
        ]
        spawned.extend(workers)
        for worker in workers:
            wait_connected(worker, db)
        web = _start_web(db, web_port, broker)
        spawned.append(web)
        assert wait_until(lambda: _port_open(web_port), 30), "Daphne did not start"
        corrector = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", CORRECTOR.format(seconds=SECONDS)],
            cwd=BASE_DIR, env=db.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        spawned.append(corrector)
        sent: list[str] = []
        http_sent: list[str] = []
        codes: list[int] = []
        http = (web_port, password, SECONDS, http_sent, codes)
        threads = [
            threading.Thread(target=_publish_for, args=(broker, SECONDS, sent)),
            threading.Thread(target=_post_for, args=http),
        ]
        for thread in threads:
            thread.start()
        out, err = corrector.communicate(timeout=SECONDS + 120)
        for thread in threads:
            thread.join(SECONDS + 60)
        assert corrector.returncode == 0, err[-3000:]
        expected = len(sent) + len(http_sent)
        assert wait_until(
            lambda: db.scalar("SELECT COUNT(*) FROM devices_rawevent WHERE event_id LIKE 'w%'")
            >= expected,
            120,
        ), [ingest_log(w) for w in workers]
        time.sleep(2)  # ticks finalise; anything stored twice would show now
        assert [stop(w) for w in workers] == [0, 0], [ingest_log(w) for w in workers]
        stop(web)

    corrections = [json.loads(line) for line in out.splitlines() if line.startswith("[")]
    assert len(corrections) > 100, "the corrector hardly ran"
    assert set(codes) == {200}, sorted(set(codes))
    _assert_every_event_stored_once(db, sent + http_sent)
    _assert_people_won(db, corrections)
    assert db.scalar("SELECT COUNT(*) FROM devices_quarantinedmessage") == 0
    assert db.scalar("SELECT COUNT(*) FROM devices_rejectedmessage") == 0
    finalised = db.scalar(
        "SELECT COUNT(*) FROM attendance_classsession WHERE finalised_at IS NOT NULL"
    )
    assert finalised >= 1, "no session was finalised while the writers ran"


def _assert_every_event_stored_once(db: ProcDatabase, sent: list[str]) -> None:
    rows = db.query("SELECT event_id, COUNT(*) FROM devices_rawevent GROUP BY event_id")
    stored = dict(rows)
    assert {e for e in sent if e not in stored} == set()
    assert {e: n for e, n in stored.items() if n != 1} == {}


def _assert_people_won(db: ProcDatabase, corrections: list[list]) -> None:
    last: dict[tuple[int, int], str] = {}
    made: dict[tuple[int, int], int] = defaultdict(int)
    for session, student, status in corrections:
        last[(session, student)] = status
        made[(session, student)] += 1
    records = {
        (session, student): (record_id, status, manual, revision)
        for record_id, session, student, status, manual, revision in db.query(
            "SELECT id, session_id, student_id, status, manual, revision "
            "FROM attendance_attendancerecord"
        )
    }
    revisions: dict[int, list[int]] = defaultdict(list)
    for record_id, revision in db.query(
        "SELECT record_id, revision FROM attendance_recordrevision ORDER BY record_id, revision"
    ):
        revisions[record_id].append(revision)
    audits = dict(
        db.query("SELECT record_id, COUNT(*) FROM attendance_auditentry GROUP BY record_id")
    )
    for pair, status in last.items():
        record_id, held, manual, revision = records[pair]
        assert (held, bool(manual)) == (status, True), (pair, held, status)
        assert audits[record_id] == made[pair]
    for record_id, _, _, revision in records.values():
        # Each change kept the state before it, numbered 0..n-1: no gap, no repeat.
        assert revisions.get(record_id, []) == list(range(revision)), record_id
