"""Reader config goes out retained after commit; a missing broker never breaks a save."""

import json
import logging
import threading

import pytest
from django.core.management import call_command

from devices.mqtt.client import BrokerAddress, MqttClient
from devices.mqtt.private_broker import PrivateBroker, free_port
from tests.factories import make_reader, make_room


@pytest.fixture
def broker(settings):
    with PrivateBroker() as running:
        settings.MQTT_URL = running.url
        settings.MQTT_TOPIC_PREFIX = "zt-config"
        yield running


def retained(url: str, topic: str, timeout: float = 5.0) -> dict | None:
    got, done = [], threading.Event()

    def on_message(message):
        got.append(message.payload)
        done.set()

    client = MqttClient(BrokerAddress.from_url(url), "zt-config-reader", on_message=on_message)
    client.connect()
    client.subscribe([topic])
    done.wait(timeout)
    client.disconnect()
    return json.loads(got[0]) if got and got[0] else None


@pytest.mark.django_db
def test_saving_a_reader_publishes_its_config_retained_after_commit(
    broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reader = make_reader(make_room(), "door-cfg", mode="pir", heartbeat_s=30)
    assert retained(broker.url, "zt-config/devices/door-cfg/config") == {
        "mode": "pir",
        "debounce_s": 5,
        "heartbeat_s": 30,
    }
    with django_capture_on_commit_callbacks(execute=True):
        reader.mode = "entry"
        reader.save()
    assert (retained(broker.url, "zt-config/devices/door-cfg/config") or {}).get("mode") == "entry"


@pytest.mark.django_db
def test_nothing_is_published_before_commit(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        make_reader(make_room(), "door-uncommitted")
    assert len(callbacks) == 1
    assert retained(broker.url, "zt-config/devices/door-uncommitted/config", timeout=1) is None


@pytest.mark.django_db
def test_unreachable_broker_logs_a_warning_and_the_save_stands(
    settings, caplog, django_capture_on_commit_callbacks
):
    settings.MQTT_URL = f"mqtt://127.0.0.1:{free_port()}"
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        reader = make_reader(make_room(), "door-offline")
    assert reader.pk is not None
    assert "door-offline" in caplog.text and "not published" in caplog.text


@pytest.mark.django_db
def test_publish_config_command_republishes_every_reader(broker, capsys):
    room = make_room()
    for device in ("door-a", "door-b"):
        make_reader(room, device)
    call_command("publish_config")
    assert "2 of 2" in capsys.readouterr().out
    assert (retained(broker.url, "zt-config/devices/door-b/config") or {}).get("mode") == "toggle"
