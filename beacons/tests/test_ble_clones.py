"""Cloned reports (one phone's windows sent again by another) found across batches and
across ingest worker processes, through the real pipeline, MariaDB and Redis."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection

from attendance.engine.ble.clones import ALIGN, MemoryCloneStore, RedisCloneStore, clone_store
from attendance.models import ProxyFlag
from beacons.models import Beacon, Phone
from beacons.spoofing.reports import Signed
from devices.models import QuarantinedMessage
from devices.mqtt.pipeline import IncomingMessage, handle_batch
from tests.factories import make_room, make_student

PREFIX = "zt"
UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
BASE_DIR = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def windows(start: datetime, count: int, seed: str) -> list[tuple[datetime, list[dict]]]:
    """A phone sitting in room A: a report every ~12 s whose medians wander as real ones do."""
    rng = random.Random(seed)
    out, at = [], start
    for _ in range(count):
        beacons = [
            {"uuid": UUID, "major": 1, "minor": 1, "rssi": -60 + rng.randint(-4, 4), "n": 8},
            {"uuid": UUID, "major": 1, "minor": 3, "rssi": -90 + rng.randint(-4, 4), "n": 5},
        ]
        out.append((at, beacons))
        at += timedelta(seconds=12, milliseconds=rng.randint(-400, 400))
    return out


def messages(
    phone: str, reports: list[tuple[datetime, list[dict]]], shift_s: float = 0.0
) -> list[IncomingMessage]:
    """As `phone` sends them, `shift_s` after the times given, received a second later."""
    out = []
    for i, (at, beacons) in enumerate(reports):
        ts = at + timedelta(seconds=shift_s)
        body = {"id": f"{phone}-{i}", "ts": int(ts.timestamp() * 1000), "window_s": 10,
                "beacons": beacons}  # fmt: skip
        out.append(
            IncomingMessage(
                f"{PREFIX}/phones/{phone}/ble", json.dumps(body).encode(),
                received_at=ts.timestamp() + 1,
            )
        )  # fmt: skip
    return out


def school() -> None:
    room_a, room_c = make_room("A", floor=0), make_room("C", floor=2)
    Beacon.objects.create(kind="ibeacon", room=room_a, uuid=UUID, major=1, minor=1)
    Beacon.objects.create(kind="ibeacon", room=room_c, uuid=UUID, major=1, minor=3)
    for number, phone in (("S1001", "ph-ada"), ("S1002", "ph-bob")):
        Phone.objects.create(phone_id=phone, student=make_student(number))


def cloned() -> list[tuple[str, str, list[str]]]:
    return [
        (number, key, evidence["phones"])
        for number, key, evidence in ProxyFlag.objects.filter(kind="cloned_rssi").values_list(
            "student__number", "key", "evidence"
        )
    ]


# -- across batches --------------------------------------------------------------------------


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_a_cloned_report_split_across_two_batches_is_flagged_once():
    school()
    ada = windows(NOW - timedelta(minutes=4), 15, "ada")
    handle_batch(messages("ph-ada", ada), prefix=PREFIX)
    assert cloned() == []  # one phone alone: nothing to compare with
    handle_batch(messages("ph-bob", ada, shift_s=1.0), prefix=PREFIX)  # the copy, later
    [(number, key, phones)] = cloned()
    assert phones == ["ph-ada", "ph-bob"] and number == "S1002"  # on the later phone's owner
    assert key == "ble:~clone:ph-ada+ph-bob:2026-03-02"
    flag = ProxyFlag.objects.get(kind="cloned_rssi")
    assert flag.evidence["windows"] == 15 and flag.at == ada[0][0]  # from Ada's first window
    # Redelivered, then Ada's next reports (another replay of both segments): still one.
    handle_batch(messages("ph-bob", ada, shift_s=1.0)[5:], prefix=PREFIX)
    handle_batch(messages("ph-ada", ada)[10:], prefix=PREFIX)
    assert len(cloned()) == 1


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_copies_interleaved_one_report_per_batch_are_flagged_once():
    school()
    ada = windows(NOW - timedelta(minutes=4), 12, "ada")
    for own, copy in zip(messages("ph-ada", ada), messages("ph-bob", ada, 0.8), strict=True):
        handle_batch([own], prefix=PREFIX)
        handle_batch([copy], prefix=PREFIX)
    assert len(cloned()) == 1


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_two_phones_side_by_side_are_not_clones():
    """The control: two real phones in one room hear the same beacons, never identically."""
    school()
    start = NOW - timedelta(minutes=4)
    handle_batch(messages("ph-ada", windows(start, 15, "ada")), prefix=PREFIX)
    handle_batch(messages("ph-bob", windows(start, 15, "bob"), 0.5), prefix=PREFIX)
    assert cloned() == []


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_five_identical_windows_are_chance_six_are_a_clone():
    school()
    ada = windows(NOW - timedelta(minutes=4), 12, "ada")
    bob = windows(NOW - timedelta(minutes=4), 12, "bob")
    mixed = bob[:3] + ada[3:8] + bob[8:]  # five copied windows in a row, no more
    handle_batch(messages("ph-ada", ada), prefix=PREFIX)
    handle_batch(messages("ph-bob", mixed, 1.0), prefix=PREFIX)
    assert cloned() == []
    mixed6 = bob[:3] + ada[3:9] + bob[9:]
    for m in messages("ph-bob", mixed6, 1.0)[8:9]:
        # Bob's ninth window is now a copy too (a corrected upload under a new id).
        body = json.loads(m.payload)
        body["id"] = "ph-bob-again"
        handle_batch(
            [IncomingMessage(m.topic, json.dumps(body).encode(), received_at=m.received_at)],
            prefix=PREFIX,
        )
    assert len(cloned()) == 1


# -- the store ---------------------------------------------------------------------------


def _signed(start: datetime, n: int, tag: int) -> list[Signed]:
    return [(start + timedelta(seconds=12 * i), ((1, float(-60 - i), tag),)) for i in range(n)]


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_a_store_finds_the_other_sender_within_the_alignment_and_forgets_old_windows(kind):
    from django.conf import settings

    if kind == "redis" and not settings.REDIS_URL:
        pytest.skip("no REDIS_URL: the zero-setup run has only the memory store")
    keep = timedelta(minutes=20)
    store = (
        MemoryCloneStore(keep)
        if kind == "memory"
        else RedisCloneStore(settings.REDIS_URL, keep, "zias:test-clones:")
    )
    store.clear()
    try:
        mine = _signed(NOW, 6, 8)
        assert store.add({"ph-a": mine}) == {"ph-a": set()}
        shifted = [(at + ALIGN - timedelta(milliseconds=1), s) for at, s in mine]
        assert store.add({"ph-b": shifted}) == {"ph-b": {"ph-a"}}
        too_far = [(at - ALIGN - timedelta(seconds=1), s) for at, s in mine]
        assert store.add({"ph-c": too_far}) == {
            "ph-c": set()
        }  # same windows, seconds apart: no copy
        recent = store.recent(["ph-a", "ph-b"], NOW, NOW + timedelta(minutes=2))
        assert recent["ph-a"] == mine and recent["ph-b"] == shifted
        # Half an hour on, ph-a's old windows have gone from its own set.
        store.add({"ph-a": _signed(NOW + timedelta(minutes=30), 1, 9)})
        assert store.recent(["ph-a"], NOW, NOW + timedelta(minutes=2))["ph-a"] == []
    finally:
        store.clear()


def test_the_memory_store_forgets_signatures_gone_quiet():
    """The zero-setup ingest runs for days: windows sent once must not pile up. Ten hours,
    a new phone each hour sending 1,500 windows never seen again."""
    store = MemoryCloneStore(timedelta(minutes=20))
    for hour in range(10):
        at = NOW + timedelta(hours=hour)
        store.add({f"ph-{hour}": [(at, ((hour, float(-i), 1),)) for i in range(1500)]})
    assert len(store._senders) <= 3 * 1500  # of 15,000: sweeps keep it bounded
    assert len(store._phones) <= 3
    last = store.recent(["ph-9"], NOW, NOW + timedelta(hours=10))["ph-9"]
    assert len(last) == 1  # the latest phone's window is still there to be matched


def test_the_shared_store_is_redis_when_redis_is_configured(settings):
    expected = RedisCloneStore if settings.REDIS_URL else MemoryCloneStore
    assert isinstance(clone_store(), expected)


# -- across worker processes -------------------------------------------------------------

WORKER = """
import json, sys, time
from pathlib import Path
from devices.mqtt.committing import commit_batch
from devices.mqtt.pipeline import IncomingMessage
plan = json.loads(Path(sys.argv[1]).read_text())
while not Path(plan["go"]).exists():
    time.sleep(0.01)
for batch in plan["batches"]:
    commit_batch([IncomingMessage(t, p.encode(), received_at=r) for t, p, r in batch], "zt")
    time.sleep(plan["pause"])
print("done", len(plan["batches"]))
"""


def _worker(plan: dict, env: dict[str, str]) -> subprocess.Popen[str]:
    path = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)  # noqa: SIM115
    json.dump(plan, path)
    path.close()
    code = WORKER.replace("sys.argv[1]", repr(path.name))
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_cloned_report_sent_to_two_worker_processes_is_flagged_exactly_once():
    """Ada's phone and its clone report to two ingest processes at once, a report per
    batch each (as a shared subscription would split them); both processes see the run,
    and one flag row is written."""
    if connection.vendor != "mysql":
        pytest.skip("two processes need a database both can open (MariaDB)")
    school()
    now = datetime.now(tz=UTC)
    ada = windows(now - timedelta(minutes=4), 14, "ada")
    go = Path(tempfile.mkdtemp()) / "go"
    s = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"mysql://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 3306}/"
        f"{s['NAME']}",
        "PYTHONPATH": str(BASE_DIR),
    }
    if s["PASSWORD"]:
        env["DATABASE_URL"] = env["DATABASE_URL"].replace(
            f"{s['USER']}@", f"{s['USER']}:{s['PASSWORD']}@"
        )
    workers = []
    for phone, shift in (("ph-ada", 0.0), ("ph-bob", 0.7)):
        batches = [
            [[m.topic, m.payload.decode(), m.received_at]]
            for m in messages(phone, ada, shift_s=shift)
        ]
        workers.append(_worker({"go": str(go), "batches": batches, "pause": 0.02}, env))
    time.sleep(3)  # both processes up (Django loaded) before either sends
    go.touch()
    for w in workers:
        out, err = w.communicate(timeout=240)
        assert w.returncode == 0, err[-3000:]
        assert "done 14" in out
    assert not QuarantinedMessage.objects.exists()
    [(number, _key, phones)] = cloned()
    assert phones == ["ph-ada", "ph-bob"] and number == "S1002"
