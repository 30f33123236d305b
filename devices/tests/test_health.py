"""/health: database, Redis, broker and the ingest's lag; 503 names what failed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from devices.models import IngestWorker
from devices.mqtt.private_broker import PrivateBroker, free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def quiet(settings):
    settings.REDIS_URL = ""
    settings.MQTT_URL = ""


def worker(**fields):
    now = timezone.now()
    defaults = {"started_at": now, "last_tick_at": now, "pending": 0}
    return IngestWorker.objects.create(name=fields.pop("name", "w1"), **{**defaults, **fields})


def test_healthy_when_database_and_a_ticking_ingest(client, quiet):
    worker()
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["checks"]["ingest"]["workers"][0]["name"] == "w1"


def test_no_ingest_or_a_stalled_one_is_503(client, quiet):
    assert client.get("/health").json()["failing"] == ["ingest"]
    worker(last_tick_at=timezone.now() - timedelta(minutes=5))
    response = client.get("/health")
    assert response.status_code == 503 and response.json()["failing"] == ["ingest"]


def test_old_unacknowledged_work_is_lag(client, quiet):
    worker(pending=40, oldest_pending_at=timezone.now() - timedelta(minutes=3))
    body = client.get("/health").json()
    assert body["failing"] == ["ingest"] and body["checks"]["ingest"]["workers"][0]["lag_s"] >= 180


def test_broker_state_comes_from_the_ingests_last_contact(client, settings):
    settings.REDIS_URL = ""
    settings.MQTT_URL = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens: never dialled
    worker()
    body = client.get("/health").json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"]["error"] == "no running ingest has reached the broker"
    IngestWorker.objects.update(broker_contact_at=timezone.now() - timedelta(seconds=3))
    body = client.get("/health").json()
    assert body["status"] == "ok" and 3 <= body["checks"]["broker"]["age_s"] < 10
    # Out of touch for longer than the bound (six ticks of 5 s): failing, and says for how long.
    IngestWorker.objects.update(broker_contact_at=timezone.now() - timedelta(seconds=31))
    body = client.get("/health").json()
    assert body["failing"] == ["broker"]
    assert "for 31s" in body["checks"]["broker"]["error"]


def test_a_stopped_ingests_contact_does_not_count(client, settings):
    settings.REDIS_URL = ""
    settings.MQTT_URL = "mqtt://127.0.0.1:1"
    worker(name="live")
    worker(name="gone", stopped=True, broker_contact_at=timezone.now())
    assert client.get("/health").json()["failing"] == ["broker"]


def test_health_makes_no_broker_connection_and_the_loop_records_contact(client, settings):
    from typing import cast

    from devices.mqtt.client import BrokerAddress, MqttClient
    from devices.mqtt.loop import IngestLoop, LoopConfig

    settings.REDIS_URL = ""
    with PrivateBroker() as broker:
        settings.MQTT_URL = broker.url
        ingest = MqttClient(BrokerAddress("127.0.0.1", broker.port), "health-ingest")
        ingest.connect(timeout=5)
        try:
            loop = IngestLoop(cast(MqttClient, ingest), LoopConfig("zh", 10, 5, 60, name="h"))
            loop.tick()
            assert IngestWorker.objects.get(name="h").broker_contact_at is not None
            before = broker.connections()
            for _ in range(5):
                response = client.get("/health")
                assert response.status_code == 200, response.json()
            assert response.json()["checks"]["broker"]["ok"]
            assert broker.connections() == before
        finally:
            ingest.disconnect()
        # The broker is gone: the next tick keeps the last contact, which then ages.
        recorded = IngestWorker.objects.get(name="h").broker_contact_at
        loop.tick()
        assert IngestWorker.objects.get(name="h").broker_contact_at == recorded


def test_redis_checked_when_configured(client, quiet, settings):
    worker()
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert client.get("/health").json()["failing"] == ["redis"]


def test_door_judging_far_behind_is_a_fault_and_says_how_far(client, quiet):
    from attendance.engine.crowd import CURSOR, SETTLE_DELAY
    from attendance.models import EngineCursor, RejudgeRequest

    worker()
    assert client.get("/health").json()["checks"]["door_judging"]["judged_up_to"] is None
    cursor = EngineCursor.objects.create(
        name=CURSOR, position=timezone.now() - SETTLE_DELAY - timedelta(seconds=20)
    )
    RejudgeRequest.objects.create(reader="door-1", lo=timezone.now(), hi=timezone.now())
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["checks"]["door_judging"]["rejudge_requests"] == 1
    assert 20 <= body["checks"]["door_judging"]["lag_s"] < 60
    cursor.position -= timedelta(hours=1)
    cursor.save()
    body = client.get("/health").json()
    assert body["failing"] == ["door_judging"]
