import json
from typing import Any

import pytest

from devices.mqtt.pipeline import IncomingMessage
from tests.factories import make_card, make_reader, make_room, make_student

PREFIX = "zt"
TS = 1795766462345


def events_message(device: str, doc: object, **kwargs: Any) -> IncomingMessage:
    payload = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return IncomingMessage(f"{PREFIX}/devices/{device}/events", payload, **kwargs)


def tap(event_id: str, uid: str = "04A1B2C3", **fields: object) -> dict:
    return {"id": event_id, "ts": TS, "type": "rfid", "uid": uid, **fields}


@pytest.fixture
def door(db):
    """A toggle reader in B-204 and Ada, whose card is 04A1B2C3."""
    room = make_room("B-204")
    reader = make_reader(room, "door-1")
    ada = make_student(first_name="Ada", last_name="Okafor")
    make_card(ada, "04A1B2C3")
    return reader
