"""The generated files in a real, private Mosquitto: who gets in, and who may touch what.

Each test starts Mosquitto 2 from the project's own mosquitto.conf on free ports, with the
files `mosquitto_sync` wrote from the database, and talks to it with paho-mqtt 2 clients.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from django.core.management import call_command
from pytest_django.fixtures import SettingsWrapper

from beacons.models import Phone
from devices.credentials import mosquitto_hash, new_password
from devices.models import Reader
from devices.tests.mosquitto_harness import (
    PrivateBroker,
    Received,
    Refused,
    TestClient,
    connect,
    free_port,
    refused,
    tool,
)
from tests.factories import make_reader, make_room, make_student

INGEST = "zias-ingest"


@dataclass
class School:
    """A private broker with two readers (door-a, door-b), a phone, and the ingest."""

    broker: PrivateBroker
    prefix: str
    passwords: dict[str, str]
    clients: list[TestClient] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.broker.port

    @property
    def ws_port(self) -> int:
        return self.broker.ports[9001]

    def login(self, username: str, client_id: str | None = None) -> TestClient:
        client = connect(self.port, username, self.passwords[username], client_id=client_id)
        self.clients.append(client)
        return client

    def phone_login(self, username: str) -> TestClient:
        """Phones speak MQTT over WebSockets."""
        client = connect(self.ws_port, username, self.passwords[username], transport="websockets")
        self.clients.append(client)
        return client

    def topic(self, rest: str) -> str:
        return f"{self.prefix}/{rest}"

    def sync(self, *extra: str) -> str:
        out = StringIO()
        call_command("mosquitto_sync", "--out", str(self.broker.auth_dir), *extra, stdout=out)
        return out.getvalue()


@pytest.fixture
def school(db: None, tmp_path: Path, settings: SettingsWrapper) -> Iterator[School]:
    broker = PrivateBroker(tmp_path, {1883: free_port(), 9001: free_port()})
    passwords = {name: new_password() for name in [INGEST, "door-a", "door-b", "phone-p"]}
    settings.MQTT_URL = f"mqtt://{INGEST}:{passwords[INGEST]}@127.0.0.1:{broker.port}"
    room = make_room()
    for device_id in ["door-a", "door-b"]:
        make_reader(room, device_id, mqtt_password_hash=mosquitto_hash(passwords[device_id]))
    Phone.objects.create(
        phone_id="phone-p",
        student=make_student(),
        mqtt_password_hash=mosquitto_hash(passwords["phone-p"]),
    )
    school = School(broker, settings.MQTT_TOPIC_PREFIX, passwords)
    school.sync()
    broker.start()
    try:
        yield school
    finally:
        for client in school.clients:
            client.close()
        broker.stop()


def wait_until_refused(school: School, username: str, password: str) -> str:
    """Mosquitto handles SIGHUP asynchronously; poll briefly for the refusal."""
    for _ in range(50):
        reason = refused(school.port, username, password)
        if reason:
            return reason
        time.sleep(0.1)
    raise AssertionError(f"{username} still gets in after the reload:\n{school.broker.log()}")


# --- Getting in ---------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [mqtt.MQTTv311, mqtt.MQTTv5])
def test_anonymous_clients_are_refused(school: School, protocol: mqtt.MQTTProtocolVersion) -> None:
    assert refused(school.port, None, None, protocol=protocol)
    assert refused(school.ws_port, None, None, transport="websockets", protocol=protocol)


def test_a_wrong_password_is_refused(school: School) -> None:
    assert refused(school.port, "door-a", school.passwords["door-b"])
    assert refused(school.port, "nobody", "guess")


def test_every_sender_gets_in_with_the_password_only_its_hash_was_stored_for(
    school: School,
) -> None:
    # Mosquitto itself accepts the $7$ hashes the database holds and the file carries.
    assert refused(school.port, INGEST, school.passwords[INGEST]) is None
    assert refused(school.port, "door-a", school.passwords["door-a"]) is None
    assert (
        refused(school.ws_port, "phone-p", school.passwords["phone-p"], transport="websockets")
        is None
    )


# --- Writing only under one's own id -------------------------------------------------------------


def test_a_readers_publish_to_another_readers_topics_never_reaches_the_ingest(
    school: School,
) -> None:
    ingest = school.login(INGEST)
    ingest.subscribe(school.topic("#"))
    door_a = school.login("door-a")
    for forged in ["devices/door-b/events", "devices/door-b/status", "phones/phone-p/ble"]:
        door_a.publish(
            school.topic(forged), '{"id": "forged-1", "type": "rfid", "uid": "04A1B2C3"}'
        )
    own = school.topic("devices/door-a/events")
    door_a.publish(own, '{"id": "own-1", "type": "rfid", "uid": "04A1B2C3"}')

    assert [m.topic for m in ingest.received_until(own)] == [own]


def test_a_phone_cannot_publish_as_a_reader(school: School) -> None:
    ingest = school.login(INGEST)
    ingest.subscribe(school.topic("#"))
    phone = school.phone_login("phone-p")
    for forged in ["devices/door-a/events", "devices/door-a/status", "devices/door-a/ack"]:
        phone.publish(school.topic(forged), '{"id": "p-1", "type": "rfid", "uid": "04A1B2C3"}')
    own = school.topic("phones/phone-p/ble")
    phone.publish(own, '{"id": "p-2", "window_s": 10, "beacons": []}')

    assert [m.topic for m in ingest.received_until(own)] == [own]


def test_a_readers_last_will_is_sent_only_on_its_own_status(school: School) -> None:
    ingest = school.login(INGEST)
    ingest.subscribe(school.topic("#"))
    offline = '{"online": false}'
    for whose in ["door-b", "door-a"]:  # a forged will first, then its own
        status = school.topic(f"devices/{whose}/status")
        reader = _connect_again(school, "door-a", will=(status, offline))
        reader.drop()

    own = school.topic("devices/door-a/status")
    assert [(m.topic, m.payload) for m in ingest.received_until(own)] == [(own, offline.encode())]


def _connect_again(school: School, username: str, **kwargs):  # type: ignore[no-untyped-def]
    """Connect with a client id whose previous connection was just dropped. On a busy
    machine Mosquitto may still be closing that one and answers the new CONNECT with
    "Unspecified error"; that race is the broker's, not what these tests are about."""
    for attempt in range(5):
        try:
            return connect(school.port, username, school.passwords[username], **kwargs)
        except Refused as refusal:
            if "Unspecified" not in str(refusal) or attempt == 4:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


def test_a_reader_cannot_fake_acks_or_configs_for_another_reader(school: School) -> None:
    door_b = school.login("door-b")
    door_b.subscribe(school.topic("devices/door-b/ack"))
    door_b.subscribe(school.topic("devices/door-b/config"))
    door_a = school.login("door-a")
    door_a.publish(school.topic("devices/door-b/ack"), '{"id": "x", "result": "accepted"}')
    door_a.publish(school.topic("devices/door-b/config"), '{"mode": "exit"}', retain=True)
    real_ack = school.topic("devices/door-b/ack")
    school.login(INGEST).publish(real_ack, '{"id": "real", "result": "accepted"}')

    received = door_b.received_until(real_ack)
    assert [(m.topic, m.payload) for m in received] == [
        (real_ack, b'{"id": "real", "result": "accepted"}')
    ]


def test_a_reader_reads_only_its_own_ack_and_config(school: School) -> None:
    door_a = school.login("door-a")
    for wanted in ["devices/door-b/ack", "devices/+/config", "#"]:
        door_a.subscribe(school.topic(wanted))
    own_ack = school.topic("devices/door-a/ack")
    door_a.subscribe(own_ack)
    ingest = school.login(INGEST)
    ingest.publish(school.topic("devices/door-b/ack"), '{"id": "b", "result": "accepted"}')
    ingest.publish(school.topic("devices/door-b/config"), '{"mode": "exit"}')
    ingest.publish(own_ack, '{"id": "a", "result": "accepted"}')

    assert {m.topic for m in door_a.received_until(own_ack)} == {own_ack}


# --- The ingest ---------------------------------------------------------------------------------


def test_the_ingest_reads_everything_and_answers_readers(school: School) -> None:
    ingest = school.login(INGEST)
    ingest.subscribe(school.topic("#"))
    door_a = school.login("door-a")
    door_a.subscribe(school.topic("devices/door-a/ack"))
    events, status = school.topic("devices/door-a/events"), school.topic("devices/door-a/status")
    door_a.publish(status, '{"online": true}', retain=True)
    door_a.publish(events, '{"id": "1", "type": "rfid", "uid": "04A1B2C3"}')
    assert [m.topic for m in ingest.received_until(events)] == [status, events]

    ack = school.topic("devices/door-a/ack")
    ingest.publish(ack, '{"id": "1", "result": "accepted", "dir": "in"}')
    assert (
        door_a.received_until(ack)[-1].payload == b'{"id": "1", "result": "accepted", "dir": "in"}'
    )

    # A config is retained, so a reader that connects later still gets it.
    config = school.topic("devices/door-a/config")
    ingest.publish(config, '{"mode": "pir", "debounce_s": 5, "heartbeat_s": 60}', retain=True)
    later = school.login("door-a", client_id="door-a")
    later.subscribe(config)
    got = later.received_until(config)[-1]
    assert got.retain and got.payload == b'{"mode": "pir", "debounce_s": 5, "heartbeat_s": 60}'


def test_ingest_workers_share_the_stream_with_a_shared_subscription(school: School) -> None:
    workers = [school.login(INGEST, client_id=f"zias-ingest-{n}") for n in (1, 2)]
    for worker in workers:
        reasons = worker.subscribe(f"$share/ingest/{school.topic('devices/+/events')}")
        assert not reasons[0].is_failure, reasons
    door_a = school.login("door-a")
    events = school.topic("devices/door-a/events")
    for n in range(10):
        door_a.publish(events, f'{{"id": "e-{n}", "type": "pir", "sensor": "outer", "state": 1}}')
    door_a.publish(school.topic("devices/door-a/status"), '{"online": true}')

    payloads: list[bytes] = []
    shares = []
    for worker in workers:
        got = _drain(worker)
        shares.append(len(got))
        payloads += [m.payload for m in got]
    # Each event went to exactly one worker, and both took part.
    assert sorted(payloads) == sorted(
        f'{{"id": "e-{n}", "type": "pir", "sensor": "outer", "state": 1}}'.encode()
        for n in range(10)
    )
    assert all(share > 0 for share in shares), shares


def _drain(client: TestClient) -> list[Received]:
    """Everything the client receives until it has been quiet for half a second."""
    got = []
    while True:
        try:
            got.append(client.inbox.get(timeout=0.5))
        except queue.Empty:
            return got


def test_the_ingest_may_read_the_brokers_own_statistics(school: School) -> None:
    # The compose healthcheck and /health log in as the ingest and read $SYS.
    ingest = school.login(INGEST)
    ingest.subscribe("$SYS/broker/version")
    assert ingest.received_until("$SYS/broker/version")[-1].payload.startswith(b"mosquitto")


# --- Revocation ---------------------------------------------------------------------------------


def test_a_disabled_reader_is_refused_after_the_next_sync_and_reload(school: School) -> None:
    Reader.objects.filter(device_id="door-a").update(enabled=False)
    school.sync()
    # Mosquitto reads its files only at start and on SIGHUP: until then door-a still gets in.
    assert refused(school.port, "door-a", school.passwords["door-a"]) is None

    output = school.sync("--reload", str(school.broker.pid_file))

    assert school.broker.process is not None
    assert f"pid {school.broker.process.pid}" in output
    assert wait_until_refused(school, "door-a", school.passwords["door-a"])
    # Everyone else is unaffected: the ingest still reads what door-b sends.
    ingest = school.login(INGEST)
    ingest.subscribe(school.topic("#"))
    events = school.topic("devices/door-b/events")
    school.login("door-b").publish(events, '{"id": "after-reload", "type": "pir"}')
    assert [m.topic for m in ingest.received_until(events)] == [events]


def test_a_connected_reader_is_cut_off_when_disabled_and_reloaded(school: School) -> None:
    door_a = school.login("door-a")
    door_b = school.login("door-b")
    Reader.objects.filter(device_id="door-a").update(enabled=False)

    school.sync("--reload", str(school.broker.pid_file))

    # Mosquitto 2 re-checks connected clients against the reloaded files.
    assert door_a.disconnected.wait(5), school.broker.log()
    assert not door_b.disconnected.is_set()


def test_a_revoked_phone_is_refused_after_the_next_sync_and_reload(school: School) -> None:
    phone = Phone.objects.get(phone_id="phone-p")
    phone.active = False
    phone.save()

    school.sync("--reload", str(school.broker.pid_file))

    assert wait_until_refused(school, "phone-p", school.passwords["phone-p"])


def test_a_rotated_reader_password_takes_over_at_the_reload(school: School) -> None:
    fresh = new_password()
    Reader.objects.filter(device_id="door-b").update(mqtt_password_hash=mosquitto_hash(fresh))

    school.sync("--reload", str(school.broker.pid_file))

    assert wait_until_refused(school, "door-b", school.passwords["door-b"])
    assert refused(school.port, "door-b", fresh) is None


def test_without_the_mosquitto_binary_these_tests_fail_rather_than_skip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MOSQUITTO_BIN", "/nonexistent/mosquitto")
    with pytest.raises(pytest.fail.Exception, match="mosquitto not found"):
        tool("mosquitto", "MOSQUITTO_BIN")


def test_connect_reports_the_brokers_refusal(school: School) -> None:
    with pytest.raises(Refused, match=r"[Nn]ot authori[sz]ed"):
        connect(school.port, "door-a", "wrong")
