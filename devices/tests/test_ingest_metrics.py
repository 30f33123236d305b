"""The ingest's metrics hooks: a tap through the HTTP endpoint and a batch through the
loop move /metrics' counters and histograms."""

import base64
import json
from typing import cast

import pytest
from django.test import Client

from devices.credentials import mosquitto_hash
from devices.models import Reader
from devices.mqtt.client import MqttClient
from devices.mqtt.loop import IngestLoop, LoopConfig
from devices.tests.conftest import PREFIX, TS, tap
from devices.tests.test_fuzz import RecordingClient, inbound
from zias.tests.test_metrics import TOKEN, scrape, value

READER_PASSWORD = "reader-secret-1"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = TOKEN


@pytest.mark.django_db
def test_a_tap_over_http_moves_the_counters_and_the_latency_histogram(door):
    Reader.objects.filter(pk=door.pk).update(mqtt_password_hash=mosquitto_hash(READER_PASSWORD))
    before = scrape()
    basic = base64.b64encode(f"door-1:{READER_PASSWORD}".encode()).decode()
    response = Client().post(
        "/api/v1/attendance/event",
        json.dumps(tap("m-1")),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.json()["answers"][0]["result"] == "accepted"
    after = scrape()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("zias_ingest_messages_total", transport="http", outcome="accepted") == 1
    assert moved("zias_ingest_events_total", transport="http", outcome="stored") == 1
    assert moved("zias_tap_answers_total", result="accepted") == 1
    assert moved("zias_tap_to_ack_seconds_count", transport="http") == 1
    assert moved("zias_ingest_batch_seconds_count", transport="http") == 1


@pytest.mark.django_db
def test_the_ingest_loop_counts_outcomes_rejections_and_ble_reports(door):
    loop = IngestLoop(
        cast(MqttClient, RecordingClient()),
        LoopConfig(PREFIX, batch_size=10, batch_ms=5, tick_s=60, name="t"),
    )
    before = scrape()
    messages = [
        inbound(json.dumps(tap("l-1")).encode(), 1),
        inbound(json.dumps(tap("l-1")).encode(), 2),  # the same event again
        inbound(b"{not json", 3),
        inbound(json.dumps([tap("l-2", ts=TS + 60_000), {"id": "l-3"}]).encode(), 4),
    ]
    unknown_phone = inbound(json.dumps({"id": "p-1", "beacons": []}).encode(), 5)
    unknown_phone.topic = f"{PREFIX}/phones/phone-404/ble"
    loop.process([*messages, unknown_phone])
    after = scrape()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("zias_ingest_messages_total", transport="mqtt", outcome="accepted") == 3
    assert moved("zias_ingest_messages_total", transport="mqtt", outcome="rejected") == 2
    assert moved("zias_ingest_events_total", transport="mqtt", outcome="stored") == 2
    assert moved("zias_ingest_events_total", transport="mqtt", outcome="duplicate") == 1
    assert moved("zias_ingest_events_total", transport="mqtt", outcome="rejected") == 1
    assert moved("zias_rejected_total", reason="not_json") == 1
    assert moved("zias_rejected_total", reason="unknown_sender") == 1
    assert moved("zias_rejected_total", reason="contract") == 1
    assert moved("zias_ble_reports_total", outcome="rejected") == 1
    assert moved("zias_tap_answers_total", result="duplicate") == 1
    assert moved("zias_ingest_batch_messages_count") == 1
    assert moved("zias_tap_to_ack_seconds_count", transport="mqtt") == 3  # l-3 is no tap
