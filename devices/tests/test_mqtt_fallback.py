"""MqttClient falls back to MQTT 3.1.1 when a broker never answers an MQTT 5 CONNECT.

amqtt (the zero-setup broker) behaves so; the broker here is a few lines of asyncio that
read the CONNECT's protocol level and answer only the levels they are told to.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from devices.mqtt.client import BrokerAddress, BrokerUnavailable, MqttClient

# Session present 0, accepted; MQTT 5 adds an empty property list.
CONNACK_ACCEPTED = {4: b"\x20\x02\x00\x00", 5: b"\x20\x03\x00\x00\x00"}
PINGRESP = b"\xd0\x00"


class SilentToMqtt5:
    """A TCP server that swallows CONNECTs of the levels not in `answers` (5 = MQTT 5,
    4 = 3.1.1) and accepts the others, then answers PINGREQ; it records each level seen."""

    def __init__(self, answers: set[int]) -> None:
        self.answers = answers
        self.levels: list[int] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SilentToMqtt5:
        self._thread.start()
        assert self._ready.wait(5)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._drop_clients(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _drop_clients(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                kind, body = await read_packet(reader)
                if kind == 0x10:  # CONNECT: protocol name "MQTT" (2 + 4 bytes), then level
                    level = body[6]
                    self.levels.append(level)
                    if level in self.answers:
                        writer.write(CONNACK_ACCEPTED[level])
                elif kind == 0xC0:  # PINGREQ
                    writer.write(PINGRESP)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()


async def read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    header = (await reader.readexactly(1))[0]
    length, shift = 0, 0
    while True:  # the remaining length, 7 bits a byte
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return header & 0xF0, await reader.readexactly(length)


@pytest.fixture
def client_for() -> Iterator:
    made: list[MqttClient] = []

    def make(port: int) -> MqttClient:
        made.append(MqttClient(BrokerAddress("127.0.0.1", port), "fallback-test", persistent=True))
        return made[-1]

    yield make
    for client in made:
        client.disconnect()


def test_a_broker_silent_to_mqtt5_gets_mqtt311_after_the_connack_timeout(client_for):
    with SilentToMqtt5(answers={4}) as broker:
        client = client_for(broker.port)
        client.connect(timeout=0.5)
        assert client.is_connected
        assert client.protocol == MQTTProtocolVersion.MQTTv311
        assert broker.levels == [5, 4]


def test_a_broker_that_answers_mqtt5_keeps_it(client_for):
    with SilentToMqtt5(answers={4, 5}) as broker:
        client = client_for(broker.port)
        client.connect(timeout=2)
        assert client.protocol == MQTTProtocolVersion.MQTTv5
        assert broker.levels == [5]


def test_silent_to_both_is_unavailable_and_the_next_attempt_tries_mqtt5_again(client_for):
    with SilentToMqtt5(answers=set()) as broker:
        client = client_for(broker.port)
        with pytest.raises(BrokerUnavailable, match="no CONNACK"):
            client.connect(timeout=0.3)
        assert broker.levels == [5, 4]
        assert client.protocol == MQTTProtocolVersion.MQTTv5
        broker.answers = {5}
        client.connect(timeout=2)
        assert client.is_connected and broker.levels == [5, 4, 5]
