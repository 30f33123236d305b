"""The `.../ack` answer's wire format (CONTRACT: one answer per `rfid` event), in one place.

The MQTT loop, the HTTP endpoint and the quarantine all answer through these functions.
"""

from __future__ import annotations

from typing import Any

from attendance.names import READER_DISPLAY_MAX
from attendance.services import TapAnswer

# A message that failed inside the server (our bug, kept in quarantine to re-run).
SERVER_ERROR = "server_error"


def of_answer(answer: TapAnswer) -> dict[str, Any]:
    body: dict[str, Any] = {"id": answer.event_id, "result": answer.result}
    if answer.dir:
        body["dir"] = answer.dir
    if answer.display:
        body["display"] = answer.display[:READER_DISPLAY_MAX]
    if answer.reason:
        body["reason"] = answer.reason
    return body


def invalid(event_id: str, reason: str) -> dict[str, Any]:
    return {"id": event_id, "result": "invalid", "reason": reason}


def duplicate(event_id: str) -> dict[str, Any]:
    return {"id": event_id, "result": "duplicate"}
