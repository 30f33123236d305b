"""The real thing: `manage.py ingest` processes, a private Mosquitto, a shared database.

Killed with SIGKILL mid-stream, the broker restarted mid-stream, two processes on one shared
subscription: every event published is stored exactly once.
"""

import json
import signal
import subprocess
import time

import pytest

from devices.mqtt.private_broker import PrivateBroker
from devices.tests.processes import (
    ProcDatabase,
    ingest_log,
    seed,
    start_ingest,
    start_publisher,
    stop,
    wait_connected,
    wait_until,
)

READERS = 20
PREFIX = "zt-proc"
pytestmark = pytest.mark.django_db  # only to learn which database engine is configured


@pytest.fixture(scope="module")
def procdb(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        db = ProcDatabase()
        uids = seed(db, READERS, 50)
    db.uids = uids  # type: ignore[attr-defined]
    yield db
    db.close()


@pytest.fixture
def clean_db(procdb):
    procdb.clear_events()
    return procdb


@pytest.fixture
def spawned():
    """Every process a test starts is killed at the end, pass or fail."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def stored(db, run):
    return db.query(
        "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM devices_rawevent "
        f"WHERE event_id LIKE '{run}-%'"
    )[0]


def publish(broker, run, count, *args):
    return start_publisher(
        broker.url, PREFIX, run, count, READERS, "--reader-prefix=bench-r", *args
    )


def test_sigkill_mid_stream_loses_nothing_and_stores_nothing_twice(clean_db, spawned):
    db, total = clean_db, 20_000
    with PrivateBroker() as broker:
        ingest = start_ingest(db, broker.url, PREFIX, "zt-ingest-kill")
        spawned.append(ingest)
        wait_connected(ingest, db)
        publisher = publish(broker, "k", total, "--rfid-share=0.02", f"--uids={','.join(db.uids)}")
        spawned.append(publisher)
        assert wait_until(lambda: stored(db, "k")[0] >= total // 3, 120), "ingest made no progress"
        ingest.send_signal(signal.SIGKILL)
        ingest.wait(10)
        at_kill = stored(db, "k")[0]
        assert at_kill < total, "the stream was over before the kill; nothing was tested"
        ingest = start_ingest(db, broker.url, PREFIX, "zt-ingest-kill")  # same session
        spawned.append(ingest)
        publisher.communicate(timeout=180)
        assert wait_until(lambda: stored(db, "k")[0] >= total, 180)
        time.sleep(1)  # anything redelivered twice would show up now
        assert stop(ingest) == 0
    rows, distinct = stored(db, "k")
    assert (rows, distinct) == (total, total)


def test_broker_restart_mid_stream_loses_nothing_it_accepted(clean_db, spawned):
    db, total = clean_db, 3000
    with PrivateBroker(persistence=True) as broker:
        ingest = start_ingest(db, broker.url, PREFIX, "zt-ingest-restart")
        spawned.append(ingest)
        wait_connected(ingest, db)
        publisher = publish(broker, "b", total, "--rate=1000", "--rfid-share=0")
        spawned.append(publisher)
        assert wait_until(lambda: stored(db, "b")[0] >= total // 4, 60)
        broker.restart(pause_s=0.5)
        report = json.loads(publisher.communicate(timeout=180)[0])
        assert report["published"] == total
        assert wait_until(lambda: stored(db, "b")[0] >= total, 120), stored(db, "b")
        assert stop(ingest) == 0
    assert stored(db, "b") == (total, total)


def test_two_processes_on_a_shared_subscription_store_what_one_would(clean_db, spawned):
    db, total = clean_db, 4000
    with PrivateBroker() as broker:
        workers = [
            start_ingest(db, broker.url, PREFIX, f"zt-shared-{n}", "--shared-group=zt")
            for n in (1, 2)
        ]
        spawned.extend(workers)
        for worker in workers:
            wait_connected(worker, db)
        assert wait_until(lambda: db.scalar("SELECT COUNT(*) FROM devices_ingestworker") == 2, 30)
        # Each student taps once on an entry reader: one visit each, whoever handles it.
        publisher = publish(
            broker, "s", total, "--rfid-share=0.0125", f"--uids={','.join(db.uids)}"
        )
        spawned.append(publisher)
        publisher.communicate(timeout=180)
        assert wait_until(lambda: stored(db, "s")[0] >= total, 120), [
            ingest_log(w) for w in workers
        ]
        assert [stop(w) for w in workers] == [0, 0]
    assert stored(db, "s") == (total, total)
    per_worker = dict(
        db.query(
            "SELECT name, stored_total FROM devices_ingestworker WHERE name LIKE 'zt-shared-%'"
        )
    )
    assert sum(per_worker.values()) == total
    assert all(n > 0 for n in per_worker.values()), per_worker  # both took a share
    taps = db.scalar(
        "SELECT COUNT(*) FROM devices_rawevent WHERE event_id LIKE 's-%' AND type='rfid'"
    )
    students_tapped = db.scalar(
        "SELECT COUNT(DISTINCT uid) FROM devices_rawevent WHERE event_id LIKE 's-%' AND type='rfid'"
    )
    assert taps > 0
    assert db.scalar("SELECT COUNT(*) FROM attendance_visit") == students_tapped
