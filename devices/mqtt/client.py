"""The one place ZIAS talks to the MQTT broker (paho-mqtt 2.x).

Everything else (the ingest loop, the config publisher, the simulator, the benchmark) uses
MqttClient, so tests patch one class and broker faults surface as the typed errors below.
MQTT 5 first; a broker that refuses it, hangs up without a CONNACK, or never answers it
(amqtt, the zero-setup broker, stays silent to an MQTT 5 CONNECT) gets MQTT 3.1.1.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

log = logging.getLogger(__name__)

# How long the broker keeps the ingest's session (and queues its messages) while it is away.
SESSION_EXPIRY_S = 7 * 24 * 3600
KEEPALIVE_S = 30
_UNSUPPORTED_PROTOCOL = 132  # CONNACK "Unsupported Protocol Version" (MQTT 5); 1 in 3.1.1


class MqttError(Exception):
    """Something went wrong talking to the broker."""


class BrokerUnavailable(MqttError):
    """The broker could not be reached or refused the connection."""


class PublishFailed(MqttError):
    """A publish was not accepted (not queued, or not acknowledged in time)."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @classmethod
    def from_url(cls, url: str) -> BrokerAddress:
        """`mqtt://user:password@host:port` (mqtts:// for TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
            raise ValueError(f"expected mqtt://user:password@host:port, got {url!r}")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )


@dataclass
class Inbound:
    """A message as the broker delivered it; `generation` names the connection it came on."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    retain: bool
    generation: int
    received_at: float = field(default_factory=time.time)  # wall clock, epoch seconds


MessageHandler = Callable[[Inbound], None]


class MqttClient:
    """A paho client with a fixed identity, auto-reconnect, and (optionally) manual acks.

    Subscriptions are remembered and renewed on every reconnect. With `persistent=True`
    the session survives disconnects (clean_start false plus a session expiry), so QoS 1
    messages published while this client was away are delivered when it is back.
    """

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        *,
        persistent: bool = False,
        manual_ack: bool = False,
        receive_maximum: int | None = None,
        on_message: MessageHandler | None = None,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
        max_inflight: int = 20,
    ) -> None:
        self.address = address
        self.client_id = client_id
        self.persistent = persistent
        self.manual_ack = manual_ack
        self.receive_maximum = receive_maximum
        self.on_message = on_message
        self.protocol = protocol
        # Our own publishes awaiting PUBACK. Keep it modest: paho scans the in-flight set on
        # every PUBACK, and Mosquitto's default receive window for a client is 20.
        self.max_inflight = max_inflight
        self.generation = 0
        self._subscriptions: list[tuple[str, int]] = []
        self._connected = threading.Event()
        self._connack = threading.Event()
        self._connack_code: int | None = None
        self._closing = False
        self._paho = self._new_paho()

    # --- connection ---------------------------------------------------------------------

    def connect(self, timeout: float = 10.0) -> None:
        """Connect (MQTT 5, else 3.1.1) and start the network thread; BrokerUnavailable if not.

        Each attempt waits up to `timeout` for the CONNACK. Once a broker has answered only
        3.1.1, this client stays on 3.1.1 (paho's reconnects included).
        """
        try:
            self._connect_once(timeout)
        except (_ProtocolRefused, _NoConnack) as exc:
            if self.protocol != MQTTProtocolVersion.MQTTv5:
                raise _unavailable(exc, self.address, timeout) from None
            self._connect_with_mqtt311(exc, timeout)

    def _connect_with_mqtt311(self, mqtt5_failure: Exception, timeout: float) -> None:
        silent = isinstance(mqtt5_failure, _NoConnack)
        log.info(
            "broker %s %s MQTT 5; trying MQTT 3.1.1",
            self.address.host,
            f"did not answer within {timeout}s to" if silent else "refused",
        )
        self.protocol = MQTTProtocolVersion.MQTTv311
        self._paho = self._new_paho()
        try:
            self._connect_once(timeout)
        except (_ProtocolRefused, _NoConnack) as exc:
            # Neither version got through: the broker is more likely down or swamped than
            # without MQTT 5, so the next attempt starts from MQTT 5 again.
            self.protocol = MQTTProtocolVersion.MQTTv5
            self._paho = self._new_paho()
            if isinstance(exc, _NoConnack):
                raise _unavailable(exc, self.address, timeout) from None
            raise BrokerUnavailable("broker refused MQTT 5 and MQTT 3.1.1") from None
        # A warning: a broker that has MQTT 5 but was merely slow leaves this client on
        # 3.1.1 (no session expiry or receive maximum) until it is restarted.
        log.warning("connected to %s with MQTT 3.1.1, after MQTT 5 failed", self.address.host)

    def _connect_once(self, timeout: float) -> None:
        self._connack.clear()
        self._connack_code = None
        self._closing = False
        kwargs: dict[str, Any] = {}
        if self.protocol == MQTTProtocolVersion.MQTTv5:
            props = Properties(PacketTypes.CONNECT)
            if self.persistent:
                props.SessionExpiryInterval = SESSION_EXPIRY_S
            if self.receive_maximum:
                props.ReceiveMaximum = self.receive_maximum
            kwargs = {"clean_start": not self.persistent, "properties": props}
        try:
            self._paho.connect(self.address.host, self.address.port, KEEPALIVE_S, **kwargs)
        except (OSError, ValueError) as exc:
            raise BrokerUnavailable(f"{self.address.host}:{self.address.port}: {exc}") from exc
        self._paho.loop_start()
        if not self._connack.wait(timeout):
            self._stop_paho()
            raise _NoConnack()
        code = self._connack_code
        if code in (_UNSUPPORTED_PROTOCOL, 1, -1):
            self._stop_paho()
            raise _ProtocolRefused()
        if code != 0:
            self._stop_paho()
            raise BrokerUnavailable(f"broker refused the connection (reason {code})")

    def disconnect(self) -> None:
        self._stop_paho()

    def _stop_paho(self) -> None:
        self._closing = True
        try:
            self._paho.disconnect()
        finally:
            self._paho.loop_stop()
            self._connected.clear()

    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # --- messages -----------------------------------------------------------------------

    def subscribe(self, topics: list[str], qos: int = 1) -> None:
        """Subscribe now and after every reconnect."""
        self._subscriptions = [(t, qos) for t in topics]
        if self.is_connected:
            self._subscribe_all()

    def publish(
        self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False
    ) -> paho.MQTTMessageInfo:
        """Queue a publish (paho sends it, and resends it after a reconnect).

        The returned handle's `is_published()` turns true when the broker has acknowledged it.
        """
        info = self._paho.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos > 0:
            # Queued: paho sends it once reconnected and marks this handle published on
            # PUBACK; clear the error so waiting on the handle waits for that.
            info.rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise PublishFailed(f"publish to {topic} refused: {paho.error_string(info.rc)}")
        return info

    def publish_and_wait(
        self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False, timeout=5.0
    ) -> None:
        info = self._paho.publish(topic, payload, qos=qos, retain=retain)
        try:
            info.wait_for_publish(timeout)
        except (ValueError, RuntimeError) as exc:
            raise PublishFailed(f"publish to {topic} failed: {exc}") from exc
        if not info.is_published():
            raise PublishFailed(f"publish to {topic} not acknowledged within {timeout}s")

    def ack(self, message: Inbound) -> bool:
        """Acknowledge a message, but only on the connection it came on.

        After a reconnect the broker redelivers what was not acknowledged (same packet ids);
        acking an old mid on the new connection could acknowledge a different, unprocessed
        message, so stale ones are skipped and the redelivered copy is a harmless duplicate.
        """
        if not self.manual_ack or message.qos == 0:
            return True
        if message.generation != self.generation or not self.is_connected:
            return False
        self._paho.ack(message.mid, message.qos)
        return True

    # --- paho plumbing ------------------------------------------------------------------

    def _new_paho(self) -> paho.Client:
        v5 = self.protocol == MQTTProtocolVersion.MQTTv5
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=None if v5 else not self.persistent,
            protocol=self.protocol,
            manual_ack=self.manual_ack,
        )
        if self.address.username:
            client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            client.tls_set()
        client.max_inflight_messages_set(self.max_inflight)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _on_connect(self, client, userdata, flags, reason_code: ReasonCode, properties) -> None:
        _read_in_bulk(client)
        code = _code(reason_code)
        self._connack_code = code
        if code == 0:
            self.generation += 1
            self._connected.set()
            self._subscribe_all()
            log.info(
                "connected to %s:%s as %s (session present: %s)",
                self.address.host,
                self.address.port,
                self.client_id,
                getattr(flags, "session_present", "?"),
            )
        self._connack.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if not self._connack.is_set():
            # Hung up before any CONNACK: a 3.1.1-only broker often answers MQTT 5 this way.
            self._connack_code = -1
            self._connack.set()
        elif was_connected and not self._closing:
            log.warning("lost the broker (%s); paho reconnects with backoff", reason_code)

    def _on_message(self, client, userdata, msg: paho.MQTTMessage) -> None:
        if self.on_message is None:
            return
        self.on_message(
            Inbound(
                topic=msg.topic,
                payload=msg.payload,
                qos=msg.qos,
                mid=msg.mid,
                retain=bool(msg.retain),
                generation=self.generation,
            )
        )

    def _subscribe_all(self) -> None:
        if not self._subscriptions:
            return
        if self.protocol == MQTTProtocolVersion.MQTTv5:
            # retainHandling=1: retained messages only for a new subscription, not on resume.
            self._paho.subscribe(
                [(t, SubscribeOptions(qos=q, retainHandling=1)) for t, q in self._subscriptions]
            )
        else:
            self._paho.subscribe(self._subscriptions)


class _ProtocolRefused(Exception):
    pass


class _NoConnack(Exception):
    """The socket opened but no CONNACK came within the timeout."""


def _unavailable(exc: Exception, address: BrokerAddress, timeout: float) -> BrokerUnavailable:
    if isinstance(exc, _NoConnack):
        return BrokerUnavailable(f"no CONNACK from {address.host} within {timeout}s")
    return BrokerUnavailable("broker refused the MQTT protocol version")


class _BufferedSocket:
    """Reads the broker's socket 64 KiB at a time instead of paho's few bytes per call.

    paho reads each packet with several small recv() calls and handles one packet per
    select() wake-up; at thousands of small messages a second that, not the broker, is the
    ceiling. Everything but recv() is passed through to the real socket.
    """

    def __init__(self, sock: object) -> None:
        self._sock = sock
        self._buffer = memoryview(b"")

    def recv(self, bufsize: int) -> bytes:
        if not self._buffer:
            data = self._sock.recv(65536)  # type: ignore[attr-defined]
            if not data:
                return b""
            self._buffer = memoryview(data)
        chunk, self._buffer = self._buffer[:bufsize], self._buffer[bufsize:]
        return chunk.tobytes()

    def __getattr__(self, name: str) -> object:
        return getattr(self._sock, name)


def _read_in_bulk(client: paho.Client) -> None:
    """Give paho a buffered socket and make each wake-up drain every packet already received.

    Draining until the socket would block also means no bytes are left in the buffer when
    paho goes back to select(). The broker's in-flight window bounds one drain.
    (Relies on paho 2.1 internals `_sock`/`_packet_read`; requirements.txt pins paho.)
    """
    sock = getattr(client, "_sock", None)
    if sock is None or isinstance(sock, _BufferedSocket):
        return
    client._sock = _BufferedSocket(sock)  # type: ignore[assignment]

    def drain(max_packets: int = 1) -> MQTTErrorCode:
        while True:
            if client._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = client._packet_read()
            if rc > 0:
                return client._loop_rc_handle(rc)
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                return MQTTErrorCode.MQTT_ERR_SUCCESS

    client.loop_read = drain  # type: ignore[method-assign]


def _code(reason_code: object) -> int:
    value = getattr(reason_code, "value", reason_code)
    return int(value) if isinstance(value, int) else 0 if str(value) == "Success" else 255


def client_from_settings(client_id: str | None = None, **kwargs: object) -> MqttClient:
    """A client for settings.MQTT_URL; BrokerUnavailable when no broker is configured."""
    from django.conf import settings

    if not settings.MQTT_URL:
        raise BrokerUnavailable("MQTT_URL is not set")
    return MqttClient(
        BrokerAddress.from_url(settings.MQTT_URL),
        client_id or settings.MQTT_CLIENT_ID,
        **kwargs,  # type: ignore[arg-type]
    )
