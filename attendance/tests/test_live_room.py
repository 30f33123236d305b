"""The live room WebSocket against the real ASGI application: who may connect, the snapshot,
and the messages a change in the room produces."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from attendance.consumers import room_group
from tests.factories import make_course, make_room, make_session, make_student, make_user
from zias.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _session_cookie(user) -> bytes:  # type: ignore[no-untyped-def]
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    store["_auth_user_hash"] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()


async def _connect(code: str, user=None) -> tuple[WebsocketCommunicator, bool, object]:  # type: ignore[no-untyped-def]
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if user is not None:
        headers.append((b"cookie", await sync_to_async(_session_cookie)(user)))
    communicator = WebsocketCommunicator(application, f"/ws/rooms/{code}/", headers=headers)
    connected, detail = await communicator.connect()
    return communicator, connected, detail


@sync_to_async
def _school():  # type: ignore[no-untyped-def]
    room = make_room("B-204")
    teacher = make_user("tess")
    other = make_user("otto")
    ada = make_student("S1001", first_name="Ada", last_name="Okafor")
    course = make_course("BIO101", teachers=(teacher,), students=(ada,))
    make_course("HIS200", teachers=(other,))
    make_session(course, room, timezone.now() - timedelta(minutes=5))
    return room, teacher, other, ada


async def test_the_rooms_teacher_gets_a_snapshot_on_connect() -> None:
    room, teacher, _, _ada = await _school()
    communicator, connected, _ = await _connect(room.code, teacher)
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    assert snapshot["room"] == "B-204" and snapshot["count"] == 0
    assert snapshot["session"]["course"] == "BIO101"
    assert [entry["student"] for entry in snapshot["roster"]] == ["S1001"]
    await communicator.disconnect()


async def test_a_teacher_of_another_course_is_refused() -> None:
    room, _, other, _ = await _school()
    _communicator, connected, code = await _connect(room.code, other)
    assert not connected
    assert code == 4403


async def test_an_anonymous_visitor_is_refused() -> None:
    room, *_ = await _school()
    _communicator, connected, code = await _connect(room.code)
    assert not connected
    assert code == 4403


async def test_a_room_change_reaches_the_page_as_entered_and_status_messages() -> None:
    room, teacher, _, _ada = await _school()
    communicator, connected, _ = await _connect(room.code, teacher)
    assert connected
    await communicator.receive_json_from(timeout=5)  # the snapshot

    await get_channel_layer().group_send(
        room_group(room.code),
        {
            "type": "room.changed",
            "room": room.code,
            "entered": [{"student": "S1001", "since": "2026-11-27T09:02:00+00:00"}],
            "left": [],
            "status": [{"student": "S1001", "status": "present"}],
            "count": 1,
        },
    )

    entered = await communicator.receive_json_from(timeout=5)
    assert entered == {
        "type": "entered",
        "student": "S1001",
        "name": "Ada Okafor",
        "since": "2026-11-27T09:02:00+00:00",
        "source": "door",
    }
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "status",
        "student": "S1001",
        "status": "present",
    }
    assert await communicator.receive_json_from(timeout=5) == {"type": "count", "count": 1}
    await communicator.disconnect()


async def test_an_ingested_tap_reaches_the_teachers_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole path: an MQTT message through the ingest pipeline, committed, coalesced by the
    broadcaster, and turned into `entered` and `status` messages on the room's socket."""
    import json

    from attendance import live
    from devices.mqtt.pipeline import IncomingMessage, handle_batch
    from tests.factories import make_card, make_reader

    room, teacher, _, ada = await _school()
    await sync_to_async(make_reader)(room, device_id="door-b204", mode="entry")
    card = await sync_to_async(make_card)(ada)
    page_loop = asyncio.get_running_loop()
    layer = get_channel_layer()

    async def send_on_page_loop(group: str, message: dict) -> None:  # type: ignore[type-arg]
        # The in-memory layer's queues belong to this test's loop, as they do to Daphne's.
        await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(layer.group_send(group, message), page_loop)
        )

    monkeypatch.setattr(live, "_broadcaster", live.RoomBroadcaster(send=send_on_page_loop))
    state = live.MemoryRoomState()
    monkeypatch.setattr(live, "room_state", lambda: state)
    communicator, connected, _ = await _connect(room.code, teacher)
    assert connected
    await communicator.receive_json_from(timeout=5)  # the snapshot

    tap = {
        "id": "1-1",
        "ts": int(timezone.now().timestamp() * 1000),
        "type": "rfid",
        "uid": card.uid,
    }
    message = IncomingMessage(
        f"{settings.MQTT_TOPIC_PREFIX}/devices/door-b204/events", json.dumps(tap).encode()
    )
    outcome = await sync_to_async(handle_batch)([message])
    assert [ack.body["result"] for ack in outcome.acks] == ["accepted"]

    received = [await communicator.receive_json_from(timeout=5) for _ in range(3)]
    kinds = {m["type"]: m for m in received}
    assert kinds["entered"]["student"] == "S1001" and kinds["entered"]["name"] == "Ada Okafor"
    assert kinds["status"] == {"type": "status", "student": "S1001", "status": "present"}
    assert kinds["count"]["count"] == 1
    await communicator.disconnect()


async def test_ingested_ble_reports_reach_the_page_as_an_entry_with_source_ble(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A phone's reports through the ingest: the room's socket hears `entered` with
    `source: "ble"`, and a fresh snapshot (present and roster) says the same."""
    import json

    from attendance import live
    from beacons.models import Beacon, Phone
    from devices.mqtt.pipeline import IncomingMessage, handle_batch

    room, teacher, _, ada = await _school()
    uuid = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
    await sync_to_async(Beacon.objects.create)(
        kind="ibeacon", room=room, uuid=uuid, major=2, minor=204
    )
    await sync_to_async(Phone.objects.create)(phone_id="ph-ada", student=ada)
    page_loop = asyncio.get_running_loop()
    layer = get_channel_layer()

    async def send_on_page_loop(group: str, message: dict) -> None:  # type: ignore[type-arg]
        await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(layer.group_send(group, message), page_loop)
        )

    monkeypatch.setattr(live, "_broadcaster", live.RoomBroadcaster(send=send_on_page_loop))
    state = live.MemoryRoomState()
    monkeypatch.setattr(live, "room_state", lambda: state)
    communicator, connected, _ = await _connect(room.code, teacher)
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["present"] == [] and snapshot["roster"][0]["source"] is None

    now = timezone.now()
    messages = []
    for i in range(4):  # the last 40 s, a window every 10 s
        ts = int((now - timedelta(seconds=40 - 10 * i)).timestamp() * 1000)
        beacons = [{"uuid": uuid, "major": 2, "minor": 204, "rssi": -60, "n": 9}]
        body = {"id": f"b-{i}", "ts": ts, "window_s": 10, "beacons": beacons}
        messages.append(
            IncomingMessage(
                f"{settings.MQTT_TOPIC_PREFIX}/phones/ph-ada/ble", json.dumps(body).encode()
            )
        )
    await sync_to_async(handle_batch)(messages)

    received = [await communicator.receive_json_from(timeout=5) for _ in range(3)]
    kinds = {m["type"]: m for m in received}
    assert kinds["entered"]["student"] == "S1001" and kinds["entered"]["source"] == "ble"
    assert kinds["status"]["status"] == "present"
    await communicator.disconnect()

    again, connected, _ = await _connect(room.code, teacher)
    assert connected
    fresh = await again.receive_json_from(timeout=5)
    assert [(p["student"], p["source"]) for p in fresh["present"]] == [("S1001", "ble")]
    assert [(e["student"], e["inside"], e["source"]) for e in fresh["roster"]] == [
        ("S1001", True, "ble")
    ]
    await again.disconnect()
