"""Mosquitto's dynamic security plugin, spoken to over MQTT (`$CONTROL/dynamic-security/v1`).

The plugin takes JSON commands (`{"commands": [...]}`) published by a client its own roles
allow to, and answers every request on one response topic, which all admin clients share: so
each command carries a correlation id and this client waits for the answer that names its
request. It goes through MqttClient, the project's one paho client; faults come out as the
typed errors below, so callers decide by type (retry later, or report a refused command).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from devices.mqtt.client import BrokerAddress, MqttClient, MqttError

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"
# Commands per request. The broker refuses packets over max_packet_size (256 KiB in our
# config); a hundred commands with their ACLs stay far below it.
COMMANDS_PER_REQUEST = 100
LIST_PAGE = 500

Command = dict[str, Any]


class DynsecError(MqttError):
    """Talking to the dynamic security plugin failed."""


class DynsecUnavailable(DynsecError):
    """No broker, a refused admin login, or no answer (is the plugin loaded?). Retry later."""


class DynsecCommandFailed(DynsecError):
    """The plugin refused a command; `command` is its name, `reason` the plugin's words."""

    def __init__(self, command: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{command}{f' {detail}' if detail else ''}: {reason}")
        self.command = command
        self.reason = reason


@dataclass
class Answer:
    command: str
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


class DynsecClient:
    """An admin connection to the plugin; use as a context manager.

    `run(commands)` sends them in order (in requests of COMMANDS_PER_REQUEST) and returns one
    Answer per command; `check(commands)` also raises DynsecCommandFailed at the first refusal.
    """

    # Answers come in milliseconds; a short wait keeps a save in the admin from hanging long
    # on a broker that is away (the change is then logged and the reconcile repairs it).
    def __init__(self, address: BrokerAddress, *, timeout: float = 3.0) -> None:
        self.address = address
        self.timeout = timeout
        self._answers: dict[str, list[dict[str, Any]]] = {}
        self._arrived = threading.Condition()
        self._mqtt = MqttClient(
            address, f"zias-dynsec-{os.getpid()}-{uuid.uuid4().hex[:8]}", on_message=self._read
        )

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 3.0) -> DynsecClient:
        return cls(BrokerAddress.from_url(url), timeout=timeout)

    def __enter__(self) -> DynsecClient:
        try:
            self._mqtt.connect(timeout=self.timeout)
        except MqttError as exc:
            raise DynsecUnavailable(f"admin login to the broker failed: {exc}") from exc
        # The broker handles one connection's packets in order, so this subscription is in
        # place before any command sent after it.
        self._mqtt.subscribe([RESPONSE_TOPIC], qos=1)
        return self

    def __exit__(self, *_: object) -> None:
        self._mqtt.disconnect()

    # --- requests ------------------------------------------------------------------------

    def run(self, commands: list[Command]) -> list[Answer]:
        answers: list[Answer] = []
        for start in range(0, len(commands), COMMANDS_PER_REQUEST):
            answers += self._request(commands[start : start + COMMANDS_PER_REQUEST])
        return answers

    def check(self, commands: list[Command]) -> list[Answer]:
        answers = self.run(commands)
        for command, answer in zip(commands, answers, strict=True):
            if answer.error:
                raise DynsecCommandFailed(answer.command, answer.error, subject(command))
        return answers

    def one(self, command: Command) -> Answer:
        return self.run([command])[0]

    def list_all(self, command: str, key: str) -> list[dict[str, Any]]:
        """Every entry of listClients / listRoles (verbose), a page at a time."""
        found: list[dict[str, Any]] = []
        while True:
            page = {"command": command, "verbose": True, "count": LIST_PAGE, "offset": len(found)}
            (answer,) = self.check([page])
            entries = answer.data.get(key, [])
            found += entries
            total = answer.data.get("totalCount", len(found))
            if not entries or len(found) >= total:
                return found

    def _request(self, commands: list[Command]) -> list[Answer]:
        request_id = uuid.uuid4().hex
        tagged = [{**c, "correlationData": f"{request_id}:{i}"} for i, c in enumerate(commands)]
        try:
            self._mqtt.publish_and_wait(
                CONTROL_TOPIC, json.dumps({"commands": tagged}), qos=1, timeout=self.timeout
            )
        except MqttError as exc:
            raise DynsecUnavailable(f"could not send to {CONTROL_TOPIC}: {exc}") from exc
        with self._arrived:
            if not self._arrived.wait_for(lambda: request_id in self._answers, self.timeout):
                raise DynsecUnavailable(
                    f"no answer on {RESPONSE_TOPIC} within {self.timeout}s: is Mosquitto's "
                    "dynamic security plugin loaded, and may this login use it?"
                )
            responses = self._answers.pop(request_id)
        by_index = {int(r["correlationData"].rsplit(":", 1)[1]): r for r in responses}
        return [_answer(commands[i], by_index.get(i)) for i in range(len(commands))]

    def _read(self, message: Any) -> None:
        try:
            responses = json.loads(message.payload)["responses"]
            first = str(responses[0].get("correlationData", ""))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return  # another admin's malformed request, or not for anyone
        request_id = first.split(":", 1)[0]
        with self._arrived:
            self._answers[request_id] = responses
            self._arrived.notify_all()


def _answer(command: Command, response: dict[str, Any] | None) -> Answer:
    if response is None:
        return Answer(command["command"], "the plugin sent no answer for this command")
    return Answer(
        str(response.get("command", command["command"])),
        response.get("error"),
        response.get("data") or {},
    )


def subject(command: Command) -> str:
    """What a command was about, for error messages (never its password)."""
    for key in ("username", "rolename", "groupname"):
        if key in command:
            return f"{key}={command[key]}"
    return ""
