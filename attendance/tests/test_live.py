"""Live room state (in process and in Redis) and the coalesced room.changed messages."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from channels.layers import get_channel_layer
from django.conf import settings

from attendance import live
from attendance.tests.db_scenario import apply_batch, build_timetable, build_world
from attendance.tests.scenario import CARDS, Scenario, SessionSpec, at
from tests.factories import make_raw_event

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _moves_in_and_out(state: live.RoomState) -> None:
    entered = live.apply_moves([live.LiveMove("S1", "B-204", T0, T0)], state)
    assert entered["B-204"].entered == {"S1": {"since": T0.isoformat(), "source": "door"}}
    assert entered["B-204"].count == 1
    # An older piece of evidence arriving later does not move anyone back.
    stale = live.apply_moves([live.LiveMove("S1", None, None, T0 - timedelta(minutes=5))], state)
    assert stale == {}
    assert set(state.members("B-204")) == {"S1"}
    moved = live.apply_moves(
        [live.LiveMove("S1", "B-210", T0 + timedelta(minutes=1), T0 + timedelta(minutes=1))],
        state,
    )
    assert moved["B-204"].left == {"S1"} and moved["B-204"].count == 0
    assert moved["B-210"].count == 1
    assert state.members("B-204") == {}
    # One batch, applied in order (in Redis: one pipelined round trip of atomic moves).
    later = [T0 + timedelta(minutes=m) for m in (2, 3)]
    batch = live.apply_moves(
        [
            live.LiveMove("S1", "B-204", later[0], later[0]),
            live.LiveMove("S2", "B-204", later[0], later[0]),
            live.LiveMove("S1", "B-301", later[1], later[1]),
        ],
        state,
    )
    assert {room: d.count for room, d in batch.items()} == {"B-210": 0, "B-204": 1, "B-301": 1}
    assert set(state.members("B-204")) == {"S2"} and set(state.members("B-301")) == {"S1"}


def _sources(state: live.RoomState) -> None:
    """A BLE entry says so; a phone confirming a door entry leaves it the door's."""
    t1, t2, t3 = (T0 + timedelta(minutes=m) for m in (1, 2, 3))
    by_phone = live.apply_moves([live.LiveMove("P1", "B-204", T0, T0, source="ble")], state)
    assert by_phone["B-204"].entered == {"P1": {"since": T0.isoformat(), "source": "ble"}}
    assert by_phone["B-204"].message("B-204")["entered"] == [
        {"student": "P1", "since": T0.isoformat(), "source": "ble"}
    ]
    live.apply_moves([live.LiveMove("D1", "B-204", t1, t1)], state)
    confirmed = live.apply_moves([live.LiveMove("D1", "B-204", T0, t2, source="ble")], state)
    assert confirmed == {}  # nobody entered or left
    assert state.members("B-204")["D1"] == {"since": t1.isoformat(), "source": "door"}
    tapped = live.apply_moves([live.LiveMove("P1", "B-204", t3, t3)], state)
    assert tapped == {}
    assert state.members("B-204")["P1"] == {"since": t3.isoformat(), "source": "door"}


def test_room_state_in_process_applies_only_newer_evidence() -> None:
    _moves_in_and_out(live.MemoryRoomState())
    _sources(live.MemoryRoomState())


def test_room_state_in_redis_applies_only_newer_evidence() -> None:
    """About the real Redis: fails (does not skip) when it is not there."""
    url = settings.REDIS_URL or "redis://127.0.0.1:6379/2"
    for check in (_moves_in_and_out, _sources):
        state = live.RedisRoomState(url, prefix=f"test-live-{uuid.uuid4().hex[:8]}")
        try:
            check(state)
        finally:
            state.clear()


def test_the_broadcaster_coalesces_per_room() -> None:
    sent: list[tuple[str, dict]] = []

    async def send(group: str, message: dict) -> None:
        sent.append((group, message))

    b = live.RoomBroadcaster(send, interval=0.5)
    for n in range(30):
        b.publish(
            {
                "B-204": live.RoomDelta(
                    entered={f"S{n}": {"since": "t", "source": "door"}}, count=n + 1
                )
            }
        )
    b.publish({"B-204": live.RoomDelta(left={"S0"}, count=29)})
    time.sleep(0.8)
    b.flush()
    messages = [m for g, m in sent if g == "room.B-204"]
    assert 1 <= len(messages) <= 3  # thirty changes, a couple of messages
    entered = {e["student"] for m in messages for e in m["entered"]}
    assert entered >= {f"S{n}" for n in range(1, 30)}
    assert messages[-1]["count"] == 29 and messages[-1]["type"] == "room.changed"


def test_the_broadcaster_sends_through_the_channel_layer() -> None:
    b = live.RoomBroadcaster(interval=0.05)
    b.flush()  # starts the loop that owns the layer
    layer = get_channel_layer()
    loop = b._loop
    assert loop is not None
    channel = asyncio.run_coroutine_threadsafe(layer.new_channel(), loop).result(5)
    asyncio.run_coroutine_threadsafe(layer.group_add("room.B-204", channel), loop).result(5)
    entry = {"since": "2026-03-02T09:00:00+00:00", "source": "ble"}
    b.publish({"B-204": live.RoomDelta(entered={"S1001": entry}, count=1)})
    message = asyncio.run_coroutine_threadsafe(layer.receive(channel), loop).result(5)
    assert message["type"] == "room.changed"
    assert message["entered"] == [{"student": "S1001", **entry}]


@pytest.mark.django_db(transaction=True)
def test_a_committed_tap_updates_the_room_and_tells_its_group(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    state = live.MemoryRoomState()
    published: list[dict[str, live.RoomDelta]] = []
    monkeypatch.setattr(live, "room_state", lambda: state)
    monkeypatch.setattr(live, "broadcaster", lambda: type("B", (), {"publish": published.append}))
    build_world()
    build_timetable(Scenario("m", [SessionSpec("MATH", "B-204", "09:00", "10:00")], [], {}))
    with time_machine.travel(at("09:00:30"), tick=False):
        apply_batch([make_raw_event("door-b204", "a", at("09:00"), "rfid", uid=CARDS["S1001"],
                                    save=False)])  # fmt: skip
    assert set(state.members("B-204")) == {"S1001"}
    delta = published[-1]["B-204"]
    assert set(delta.entered) == {"S1001"} and delta.status == {"S1001": "present"}
