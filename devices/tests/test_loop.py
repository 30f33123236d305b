"""The loop around handle_batch: ack only after commit, database outages, poison, the tick."""

import json
import threading
import time
from datetime import timedelta
from typing import cast

import pytest
from django.db import OperationalError
from django.utils import timezone

from attendance import services
from attendance.services import doors as doors_service
from attendance.services import ingest as ingest_service
from devices.models import IngestWorker, QuarantinedMessage, RawEvent, Reader, RejectedMessage
from devices.mqtt import committing
from devices.mqtt import loop as loop_module
from devices.mqtt.client import MqttClient
from devices.mqtt.loop import IngestLoop, LoopConfig, contract_topics
from devices.tests.conftest import PREFIX, tap
from devices.tests.test_fuzz import RecordingClient, inbound


@pytest.fixture
def loop():
    return IngestLoop(
        cast(MqttClient, RecordingClient()),
        LoopConfig(PREFIX, batch_size=10, batch_ms=5, tick_s=60, name="t"),
    )


def test_topics_and_shared_group():
    assert contract_topics("zias") == [
        "zias/devices/+/events",
        "zias/devices/+/status",
        "zias/phones/+/ble",
    ]
    assert contract_topics("zias", "g")[0] == "$share/g/zias/devices/+/events"


def test_batches_flush_at_size_and_acks_follow_the_commit(door, loop):
    for mid in range(1, 13):
        loop.inbox.put(
            inbound(json.dumps(tap(f"b-{mid}", ts=1795766462345 + mid * 10_000)).encode(), mid)
        )
    assert loop.run_once() == 10  # batch size
    assert loop.client.acked == list(range(1, 11)) and RawEvent.objects.count() == 10
    assert loop.run_once() == 2  # the rest, on the time limit
    assert len(loop.client.published) == 12


def test_a_batch_waits_for_company_only_until_batch_ms_after_its_first_message_arrived(
    monkeypatch,
):
    """Messages that queued up while the previous batch was being processed have waited
    already: they go at once. A message that has just arrived waits up to INGEST_BATCH_MS
    for others. (A feeder keeps the stream going, and a pause would have to be long to
    close a batch, so only the time limit does.)"""
    monkeypatch.setattr(loop_module, "IDLE_GAP_S", 0.5)
    loop = IngestLoop(
        cast(MqttClient, RecordingClient()),
        LoopConfig(PREFIX, batch_size=10_000, batch_ms=1000, tick_s=60, name="t"),
    )
    queued = [inbound(b"{}", mid) for mid in range(1, 4)]
    for message in queued:
        message.received_at = time.time() - 5
        loop.inbox.put(message)
    feeding = threading.Event()
    feeding.set()

    def feed() -> None:
        mid = 100
        while feeding.is_set():
            mid += 1
            loop.inbox.put(inbound(b"{}", mid))
            time.sleep(0.01)

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        started = time.monotonic()
        first = loop._collect(1)
        assert time.monotonic() - started < 0.4  # not the 1 s a fresh batch may wait
        assert first[:3] == queued
        started = time.monotonic()
        second = loop._collect(1)
        assert time.monotonic() - started >= 0.5
        assert len(second) > len(first)
    finally:
        feeding.clear()
        feeder.join(5)


def test_database_outage_retries_the_batch_and_acks_only_after(door, loop, monkeypatch):
    calls = []
    real = committing.handle_batch

    def flaky(batch, prefix):
        calls.append(len(loop.client.acked))
        if len(calls) < 3:
            raise OperationalError("MariaDB has gone away")
        return real(batch, prefix=prefix)

    monkeypatch.setattr(committing, "handle_batch", flaky)
    monkeypatch.setattr(loop_module, "_reset_db_connection", lambda: None)
    monkeypatch.setattr(loop_module, "BACKOFF_MIN_S", 0.01)
    loop.process([inbound(json.dumps(tap("d-1")).encode(), 7)])
    assert calls == [0, 0, 0]  # nothing acknowledged while failing
    assert loop.client.acked == [7] and RawEvent.objects.count() == 1


def test_a_deadlock_with_another_worker_is_retried_at_once_on_the_same_connection(
    door, loop, monkeypatch
):
    calls = []
    real = committing.handle_batch

    def contended(batch, prefix):
        calls.append(len(loop.client.acked))
        if len(calls) == 1:
            raise OperationalError(1213, "Deadlock found when trying to get lock")
        return real(batch, prefix=prefix)

    def no_reconnect() -> None:
        raise AssertionError("a lock conflict is not an outage: the connection is fine")

    monkeypatch.setattr(committing, "handle_batch", contended)
    monkeypatch.setattr(loop_module, "_reset_db_connection", no_reconnect)
    monkeypatch.setattr(loop_module, "BACKOFF_MIN_S", 60)  # an outage's wait would hang here
    loop.process([inbound(json.dumps(tap("d-1")).encode(), 7)])
    assert calls == [0, 0]
    assert loop.client.acked == [7] and RawEvent.objects.count() == 1


def test_stop_during_an_outage_leaves_the_batch_unacknowledged(door, loop, monkeypatch):
    def down(batch, prefix):
        loop.request_stop()
        raise OperationalError("gone")

    monkeypatch.setattr(committing, "handle_batch", down)
    monkeypatch.setattr(loop_module, "_reset_db_connection", lambda: None)
    loop.process([inbound(json.dumps(tap("d-1")).encode(), 7)])
    assert loop.client.acked == []


def test_a_message_that_breaks_the_engine_is_quarantined_whole_and_the_rest_go_on(
    door, loop, monkeypatch
):
    real = doors_service.apply_new_events

    def picky(events):
        if any(e.event_id == "poison" for e in events):
            raise ValueError("engine bug")
        return real(events)

    monkeypatch.setattr(ingest_service, "apply_new_events", picky)
    poison = json.dumps(tap("poison", uid="04BBBBBB")).encode()
    loop.process([inbound(json.dumps(tap("fine")).encode(), 1), inbound(poison, 2)])
    assert loop.client.acked == [1, 2]
    assert list(RawEvent.objects.values_list("event_id", flat=True)) == ["fine"]
    kept = QuarantinedMessage.objects.get()
    assert bytes(kept.payload) == poison and "engine bug" in kept.error
    assert not RejectedMessage.objects.exists()  # nothing was wrong with what the reader sent
    answers = [body for _, body in loop.client.published]
    assert {"id": "poison", "result": "invalid", "reason": "server_error"} in answers
    assert loop.totals["quarantined"] == 1 and loop.totals["rejected"] == 0


def test_tick_marks_silent_readers_offline_and_records_the_worker(door, loop):
    Reader.objects.filter(pk=door.pk).update(
        online=True, last_seen=timezone.now() - timedelta(hours=1)
    )
    loop.inbox.put(inbound(b"{}", 1))
    loop.tick()
    assert not Reader.objects.get(pk=door.pk).online
    worker = IngestWorker.objects.get(name="t")
    assert worker.pending == 1 and worker.oldest_pending_at is not None and not worker.stopped


def test_between_batches_the_loop_judges_settled_taps_slice_by_slice(door, loop, monkeypatch):
    calls = []
    remaining = [True, True, False]

    def slice_of_work(now):
        calls.append(now)
        return remaining.pop(0)

    monkeypatch.setattr(services, "settle_door_taps", slice_of_work)
    loop._next_tick = float("inf")  # only the settling is due
    for _ in range(2):
        loop.run_once(wait_s=0)
    assert len(calls) == 2  # behind and idle: slice after slice
    for mid in range(1, 4):
        loop.inbox.put(inbound(json.dumps(tap(f"w-{mid}")).encode(), mid))
    loop.config.batch_size = 1
    loop.run_once(wait_s=0)
    assert len(calls) == 2  # behind, but messages wait: batches first
    loop._last_settle -= loop_module.SETTLE_EVERY_S
    loop.run_once(wait_s=0)
    assert len(calls) == 3  # ...and a slice at least once a second all the same
    loop.inbox.queue.clear()
    loop.run_once(wait_s=0)
    assert len(calls) == 3  # caught up: the next one waits a second


@pytest.mark.parametrize(
    ("error", "pause", "said"),
    [
        (OperationalError(2013, "Lost connection"), loop_module.SETTLE_EVERY_S, "failed"),
        (OperationalError(1213, "Deadlock found"), loop_module.SETTLE_EVERY_S, "lock conflict"),
        (KeyError("a bug in the pass"), loop_module.SETTLE_RETRY_S, "failed"),
    ],
)
def test_a_failing_slice_is_logged_and_the_loop_goes_on(
    door, loop, monkeypatch, caplog, error, pause, said
):
    def fail(now):
        raise error

    monkeypatch.setattr(services, "settle_door_taps", fail)
    loop._next_tick = float("inf")
    before = time.monotonic()
    loop.run_once(wait_s=0)  # does not raise
    assert "judging settled door taps" in caplog.text and said in caplog.text
    assert loop._next_settle >= before + pause
