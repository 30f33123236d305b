"""A private Mosquitto for tests, run from the project's own config, and small paho clients.

The broker runs from mosquitto/config/mosquitto.conf with its /mosquitto/ paths moved into a
tmp dir and its listeners moved to free ports on 127.0.0.1, so the tests exercise the config
production uses, never the machine's broker on 1883. Without the mosquitto binary the tests
fail (pytest.fail), they do not skip: these tests are about the real broker.
"""

from __future__ import annotations

import getpass
import os
import queue
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "mosquitto" / "config" / "mosquitto.conf"
TIMEOUT = 5.0


def tool(name: str, env_var: str) -> str:
    """Path to a Mosquitto program; fails the test (not skip) when it is not installed."""
    found = os.environ.get(env_var) or shutil.which(name) or shutil.which(name, path="/usr/sbin")
    if not found or not Path(found).exists():
        pytest.fail(f"{name} not found (install Debian's mosquitto package or set {env_var}).")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DYNSEC_PLUGIN_PATHS = [
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",  # Debian, amd64
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",  # Debian, arm64
    "/usr/lib/mosquitto_dynamic_security.so",  # the eclipse-mosquitto image
]


def dynsec_plugin() -> str:
    """This machine's dynamic security plugin; fails the test when it is not installed."""
    found = os.environ.get("MOSQUITTO_DYNSEC_PLUGIN") or next(
        (path for path in DYNSEC_PLUGIN_PATHS if Path(path).exists()), None
    )
    if not found:
        pytest.fail("mosquitto_dynamic_security.so not found (Debian's mosquitto package).")
    return found


def with_auth(text: str, auth: str) -> str:
    """The config's auth block for `auth`: "dynsec" (the plugin, as shipped, at this machine's
    path) or "files" (the password and ACL files, the documented alternative)."""
    if auth == "dynsec":
        return re.sub(r"^plugin \S+$", f"plugin {dynsec_plugin()}", text, flags=re.M)
    text = re.sub(r"^(plugin|plugin_opt_config_file) ", r"#\1 ", text, flags=re.M)
    return re.sub(r"^#(password_file|acl_file) ", r"\1 ", text, flags=re.M)


def private_config(text: str, workdir: Path, ports: dict[int, int], auth: str = "files") -> str:
    """The project's config rewritten to run from `workdir` on the given ports."""
    text = with_auth(text, auth).replace("/mosquitto/", f"{workdir}/")
    for standard, port in ports.items():
        text = re.sub(rf"^listener {standard}$", f"listener {port} 127.0.0.1", text, flags=re.M)
    text = re.sub(r"^log_dest stdout$", f"log_dest file {workdir}/mosquitto.log", text, flags=re.M)
    # As root Mosquitto would switch to the `mosquitto` user, who cannot read a tmp dir.
    return text + f"\nuser {getpass.getuser()}\npid_file {workdir}/mosquitto.pid\n"


@dataclass
class PrivateBroker:
    workdir: Path
    ports: dict[int, int]  # standard port (1883, 9001, ...) -> the free port used here
    process: subprocess.Popen[bytes] | None = None
    auth: str = "files"  # or "dynsec": see with_auth

    @property
    def dynsec_file(self) -> Path:
        return self.workdir / "data" / "dynamic-security.json"

    @property
    def port(self) -> int:
        return self.ports[1883]

    @property
    def pid_file(self) -> Path:
        return self.workdir / "mosquitto.pid"

    @property
    def auth_dir(self) -> Path:
        return self.workdir / "auth"

    def log(self) -> str:
        path = self.workdir / "mosquitto.log"
        return path.read_text() if path.exists() else ""

    def start(self, config_text: str | None = None) -> None:
        for sub in ("data", "config/conf.d", "auth"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        text = private_config(
            config_text or CONFIG.read_text(), self.workdir, self.ports, self.auth
        )
        config = self.workdir / "mosquitto.conf"
        config.write_text(text)
        self.process = subprocess.Popen(
            [tool("mosquitto", "MOSQUITTO_BIN"), "-c", str(config)],
            stdout=(self.workdir / "stdout.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for port in self.ports.values():
            self._wait_for(port)

    def _wait_for(self, port: int) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                output = (self.workdir / "stdout.log").read_text() + self.log()
                pytest.fail(f"mosquitto exited with {self.process.returncode}:\n{output}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        pytest.fail(f"mosquitto did not listen on {port} within {TIMEOUT}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Refused(Exception):
    """The broker refused the connection; the message is its reason."""


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    mid: int = 0


class TestClient:
    """A paho 2.x client that records what it receives, for assertions."""

    __test__ = False  # not a pytest test class

    def __init__(self, paho: mqtt.Client) -> None:
        self.paho = paho
        self.inbox: queue.Queue[Received] = queue.Queue()
        self.suback: dict[int, list[ReasonCode]] = {}
        self._subscribed = threading.Condition()
        self.disconnected = threading.Event()

    def subscribe(self, topic: str, qos: int = 1) -> list[ReasonCode]:
        """Subscribe and wait for the broker's answer (its reason codes)."""
        result, mid = self.paho.subscribe(topic, qos)
        assert mid is not None, f"subscribe to {topic} failed: {result}"
        with self._subscribed:
            if not self._subscribed.wait_for(lambda: mid in self.suback, TIMEOUT):
                raise TimeoutError(f"no SUBACK for {topic}")
            return self.suback.pop(mid)

    def publish(self, topic: str, payload: str, *, retain: bool = False) -> None:
        info = self.paho.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(TIMEOUT)

    def received_until(self, topic: str) -> list[Received]:
        """Everything received up to and including the first message on `topic`.

        Publishing a forbidden message and then an allowed marker from the same client, the
        marker's arrival proves the forbidden one would have arrived first had it got through.
        """
        seen: list[Received] = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                message = self.inbox.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(message)
            if message.topic == topic:
                return seen
        raise AssertionError(f"nothing on {topic} within {TIMEOUT}s; got {seen}")

    def close(self) -> None:
        self.paho.disconnect()
        self.paho.loop_stop()

    def drop(self) -> None:
        """Vanish without a DISCONNECT, as a reader losing power does: the broker sends the will."""
        self.paho.loop_stop()
        sock = self.paho.socket()
        if sock is not None:
            sock.close()


def connect(
    port: int,
    username: str | None = None,
    password: str | None = None,
    *,
    transport: str = "tcp",
    protocol: mqtt.MQTTProtocolVersion = mqtt.MQTTv5,
    client_id: str | None = None,
    tls: ssl.SSLContext | None = None,
    manual_ack: bool = False,
    will: tuple[str, str] | None = None,
) -> TestClient:
    """A connected client, or Refused with the broker's reason.

    With manual_ack, QoS 1 messages stay unacknowledged until `client.paho.ack(mid, 1)`,
    as the ingest holds them until its batch is committed.
    """
    paho = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"test-{uuid.uuid4().hex[:12]}",
        protocol=protocol,
        transport=transport,  # type: ignore[arg-type]
        reconnect_on_failure=False,
        manual_ack=manual_ack,
    )
    if tls is not None:
        paho.tls_set_context(tls)
    if will is not None:
        paho.will_set(will[0], will[1], qos=1, retain=True)
    if username is not None:
        paho.username_pw_set(username, password)
    client = TestClient(paho)
    answered = threading.Event()
    outcome: dict[str, Any] = {}

    def on_connect(_c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        outcome["reason"] = reason
        answered.set()

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        client.inbox.put(
            Received(message.topic, message.payload, bool(message.retain), message.mid)
        )

    def on_subscribe(_c: Any, _u: Any, mid: int, reasons: list[ReasonCode], _p: Any) -> None:
        with client._subscribed:
            client.suback[mid] = reasons
            client._subscribed.notify_all()

    def on_disconnect(_c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        outcome.setdefault("reason", reason)
        answered.set()
        client.disconnected.set()

    paho.on_connect, paho.on_message = on_connect, on_message
    paho.on_subscribe, paho.on_disconnect = on_subscribe, on_disconnect
    paho.connect("127.0.0.1", port, keepalive=30)
    paho.loop_start()
    if not answered.wait(TIMEOUT):
        paho.loop_stop()
        raise TimeoutError(f"no CONNACK from port {port}")
    reason = outcome["reason"]
    if reason.is_failure:
        paho.loop_stop()
        raise Refused(str(reason))
    return client


def refused(port: int, username: str | None, password: str | None, **kwargs: Any) -> str | None:
    """The broker's reason for refusing, or None when it let the client in."""
    try:
        connect(port, username, password, **kwargs).close()
    except Refused as exc:
        return str(exc)
    return None
