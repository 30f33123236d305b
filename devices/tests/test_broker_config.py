"""mosquitto/config parses and runs on this machine's Mosquitto 2, TLS included, as documented."""

from __future__ import annotations

import queue
import re
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from pytest_django.fixtures import SettingsWrapper

from devices.broker_auth import ACL_FILE, PASSWORD_FILE
from devices.tests.mosquitto_harness import (
    ROOT,
    PrivateBroker,
    Received,
    TestClient,
    connect,
    free_port,
    refused,
    with_auth,
)

CONFIG_DIR = ROOT / "mosquitto" / "config"
CONFIG = (CONFIG_DIR / "mosquitto.conf").read_text()
INGEST_PASSWORD = "ingest-test-password"


def option(name: str) -> str:
    match = re.search(rf"^{name} (.+)$", CONFIG, re.M)
    assert match, f"mosquitto.conf has no {name}"
    return match.group(1)


def documented_batch_size() -> int:
    match = re.search(r"^INGEST_BATCH_SIZE=(\d+)$", (ROOT / ".env.example").read_text(), re.M)
    assert match
    return int(match.group(1))


@pytest.fixture
def broker(db: None, tmp_path: Path, settings: SettingsWrapper) -> Iterator[PrivateBroker]:
    """Not started: each test adds what it needs first."""
    broker = PrivateBroker(tmp_path, {1883: free_port(), 9001: free_port()})
    settings.MQTT_URL = f"mqtt://zias-ingest:{INGEST_PASSWORD}@127.0.0.1:{broker.port}"
    call_command("mosquitto_sync", "--out", str(broker.auth_dir), stdout=StringIO())
    try:
        yield broker
    finally:
        broker.stop()


def complaints(broker: PrivateBroker) -> list[str]:
    output = (broker.workdir / "stdout.log").read_text() + broker.log()
    lines = [line for line in output.splitlines() if re.search(r"\b(Error|Warning|Note):", line)]
    # Only this test machine runs it as root; the container drops to the mosquitto user.
    return [line for line in lines if "should not be run as root" not in line]


def test_the_project_config_runs_on_this_mosquitto_without_complaint(
    broker: PrivateBroker,
) -> None:
    broker.start()

    assert complaints(broker) == []
    # Both listeners are up and both refuse anonymous clients.
    assert refused(broker.port, None, None)
    assert refused(broker.ports[9001], None, None, transport="websockets")
    assert refused(broker.port, "zias-ingest", INGEST_PASSWORD) is None


def test_without_the_plugin_the_broker_reads_the_files_mosquitto_sync_writes() -> None:
    files = with_auth(CONFIG, "files")
    assert re.search(rf"^password_file /mosquitto/auth/{PASSWORD_FILE}$", files, re.M)
    assert re.search(rf"^acl_file /mosquitto/auth/{ACL_FILE}$", files, re.M)
    assert not re.search(r"^plugin", files, re.M)
    assert option("allow_anonymous") == "false"
    # One set of rules for TCP and WebSockets alike.
    assert option("per_listener_settings") == "false"
    assert option("persistence") == "true"


@pytest.mark.parametrize("name", ["max_inflight_messages", "max_queued_messages"])
def test_the_ingest_limits_are_explained_where_they_are_set(name: str) -> None:
    lines = CONFIG.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{name} "))
    assert lines[at - 1].startswith("#"), f"{name} needs a comment saying why"


def test_the_limits_fit_the_ingests_batches() -> None:
    batch = documented_batch_size()
    # One batch awaiting commit while the next fills, without stalling on the window.
    assert int(option("max_inflight_messages")) >= 2 * batch
    # A backlog of many batches while the ingest is down, far above the default 1000.
    assert int(option("max_queued_messages")) >= 100 * batch
    # The contract's 64 KiB messages must pass, so the ingest sees (and judges) them.
    assert int(option("max_packet_size")) > 64 * 1024


def drain(client: TestClient, quiet: float = 0.5) -> list[Received]:
    """What arrives until nothing has for `quiet` seconds."""
    got = []
    while True:
        try:
            got.append(client.inbox.get(timeout=quiet))
        except queue.Empty:
            return got


def test_the_ingest_may_hold_two_batches_unacknowledged_and_gets_the_rest_after_acking(
    broker: PrivateBroker, settings: SettingsWrapper
) -> None:
    broker.start()
    prefix = settings.MQTT_TOPIC_PREFIX
    batch, window = documented_batch_size(), int(option("max_inflight_messages"))
    ingest = connect(broker.port, "zias-ingest", INGEST_PASSWORD, manual_ack=True)
    ingest.subscribe(f"{prefix}/devices/+/ack")
    sender = connect(broker.port, "zias-ingest", INGEST_PASSWORD)
    try:
        sent = [
            sender.paho.publish(f"{prefix}/devices/door-{n % 7}/ack", f'{{"id": "{n}"}}', qos=1)
            for n in range(3 * batch)
        ]
        for info in sent:
            info.wait_for_publish(5)
        held = drain(ingest)
        # The broker stops at its in-flight window while the ingest commits: two batches.
        assert len(held) == window >= 2 * batch
        for message in held:
            ingest.paho.ack(message.mid, 1)
        assert len(drain(ingest)) == 3 * batch - window
    finally:
        ingest.close()
        sender.close()


def make_certificate(directory: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.fail("openssl not found; it makes the test certificate.")
    cert, key = directory / "server.crt", directory / "server.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext",
         "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_the_tls_example_enables_tls_for_mqtt_and_websockets(broker: PrivateBroker) -> None:
    certs = broker.workdir / "certs"
    certs.mkdir()
    cert, _ = make_certificate(certs)
    tls_ports = {8883: free_port(), 9443: free_port()}
    example = (
        (CONFIG_DIR / "tls.conf.example").read_text().replace("/mosquitto/", f"{broker.workdir}/")
    )
    for standard, port in tls_ports.items():
        example = example.replace(f"listener {standard}\n", f"listener {port} 127.0.0.1\n")
    (broker.workdir / "config" / "conf.d").mkdir(parents=True, exist_ok=True)
    (broker.workdir / "config" / "conf.d" / "tls.conf").write_text(example)
    broker.ports.update(tls_ports)

    broker.start()

    assert complaints(broker) == []
    tls = ssl.create_default_context(cafile=str(cert))
    client = connect(tls_ports[8883], "zias-ingest", INGEST_PASSWORD, tls=tls)
    client.close()
    client = connect(
        tls_ports[9443], "zias-ingest", INGEST_PASSWORD, tls=tls, transport="websockets"
    )
    client.close()
    assert refused(tls_ports[8883], None, None, tls=tls)
