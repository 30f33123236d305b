"""Live room state (who is in each room now) and the messages that tell the live pages.

State lives in Redis when REDIS_URL is set (shared by every worker, updated atomically by a
Lua script that applies a move only if its evidence is not older than what is held), else
in this process. After commit, room changes go to the Channels group `room.<code>` as
`room.changed` messages, coalesced per room by one background thread that owns an asyncio
loop and the channel layer (no `async_to_sync` per event).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)

# Keys: <prefix>:student:<number> (hash room, basis) and <prefix>:room:<code> (hash number->json).
_MOVE_SCRIPT = """
local cur = redis.call('HMGET', KEYS[1], 'room', 'basis')
local old = cur[1] or ''
if cur[2] and tonumber(cur[2]) > tonumber(ARGV[3]) then return {0, old} end
redis.call('HSET', KEYS[1], 'room', ARGV[2], 'basis', ARGV[3])
if old ~= '' and old ~= ARGV[2] then redis.call('HDEL', ARGV[6] .. old, ARGV[1]) end
if ARGV[2] ~= '' then
  local held = old == ARGV[2] and redis.call('HGET', ARGV[6] .. ARGV[2], ARGV[1])
  if not (held and ARGV[5] == 'ble' and cjson.decode(held).source == 'door') then
    redis.call('HSET', ARGV[6] .. ARGV[2], ARGV[1], cjson.encode({since=ARGV[4], source=ARGV[5]}))
  end
end
return {1, old}
"""


@dataclass(frozen=True)
class LiveMove:
    """`student` is now in `room` (None: in no room) since `since`, per evidence up to `basis`."""

    student: str
    room: str | None
    since: datetime | None
    basis: datetime
    source: str = "door"  # or "ble"


def keeps_held_entry(held_source: str | None, move: LiveMove) -> bool:
    """Within one room, a door entry outranks the phone: a BLE move that only confirms a
    student the door let in keeps the door's `since` and source (both state kinds)."""
    return held_source == "door" and move.source == "ble"


@dataclass
class RoomDelta:
    # number -> {"since": ISO or "", "source": "door" | "ble"}, as the room state holds it
    entered: dict[str, dict[str, str]] = field(default_factory=dict)
    left: set[str] = field(default_factory=set)
    status: dict[str, str] = field(default_factory=dict)  # number -> record status
    count: int | None = None

    def merge(self, later: RoomDelta) -> None:
        for number, since in later.entered.items():
            self.left.discard(number)
            self.entered[number] = since
        for number in later.left:
            self.entered.pop(number, None)
            self.left.add(number)
        self.status.update(later.status)
        if later.count is not None:
            self.count = later.count

    def message(self, room: str) -> dict[str, object]:
        return {
            "type": "room.changed",
            "room": room,
            "entered": [{"student": n, **e} for n, e in sorted(self.entered.items())],
            "left": sorted(self.left),
            "status": [{"student": n, "status": s} for n, s in sorted(self.status.items())],
            "count": self.count,
        }


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class MemoryRoomState:
    """The zero-setup fallback: the same semantics as Redis, in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._students: dict[str, tuple[str, int]] = {}
        self._rooms: dict[str, dict[str, dict[str, str]]] = {}

    def move(self, m: LiveMove) -> tuple[bool, str]:
        with self._lock:
            old, basis = self._students.get(m.student, ("", -1))
            if basis > _ms(m.basis):
                return False, old
            new = m.room or ""
            self._students[m.student] = (new, _ms(m.basis))
            if old and old != new:
                self._rooms.get(old, {}).pop(m.student, None)
            members = self._rooms.setdefault(new, {}) if new else {}
            held = members.get(m.student) if old == new else None
            if new and not keeps_held_entry(held["source"] if held else None, m):
                since = m.since.isoformat() if m.since else ""
                members[m.student] = {"since": since, "source": m.source}
            return True, old

    def move_many(self, moves: Sequence[LiveMove]) -> list[tuple[bool, str]]:
        return [self.move(m) for m in moves]

    def members(self, room: str) -> dict[str, dict[str, str]]:
        with self._lock:
            return dict(self._rooms.get(room, {}))

    def counts(self, rooms: Sequence[str]) -> list[int]:
        with self._lock:
            return [len(self._rooms.get(room, {})) for room in rooms]

    def clear(self) -> None:
        with self._lock:
            self._students.clear()
            self._rooms.clear()


class RedisRoomState:
    """Room state in Redis; every move is one atomic script call."""

    def __init__(self, url: str, prefix: str = "zias:live") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._move = self._redis.register_script(_MOVE_SCRIPT)

    def move(self, m: LiveMove) -> tuple[bool, str]:
        return self.move_many([m])[0]

    def move_many(self, moves: Sequence[LiveMove]) -> list[tuple[bool, str]]:
        """Each move is still its own atomic script call; a batch's calls share one round
        trip (a pipeline runs them in order, so one student's moves keep their order)."""
        pipe = self._redis.pipeline(transaction=False)
        for m in moves:
            since = m.since.isoformat() if m.since else ""
            self._move(
                keys=[f"{self._prefix}:student:{m.student}"],
                args=[m.student, m.room or "", _ms(m.basis), since, m.source, self._room_key("")],
                client=pipe,
            )
        return [(bool(applied), old) for applied, old in pipe.execute()]

    def members(self, room: str) -> dict[str, dict[str, str]]:
        raw = cast(dict[str, str], self._redis.hgetall(self._room_key(room)))
        return {number: json.loads(value) for number, value in raw.items()}

    def counts(self, rooms: Sequence[str]) -> list[int]:
        pipe = self._redis.pipeline(transaction=False)
        for room in rooms:
            pipe.hlen(self._room_key(room))
        return [int(n) for n in pipe.execute()]

    def _room_key(self, room: str) -> str:
        return f"{self._prefix}:room:{room}"

    def clear(self) -> None:
        for key in self._redis.scan_iter(f"{self._prefix}:*"):
            self._redis.delete(key)


RoomState = MemoryRoomState | RedisRoomState
_state: RoomState | None = None
_state_lock = threading.Lock()


def room_state() -> RoomState:
    global _state
    with _state_lock:
        if _state is None:
            url = getattr(settings, "REDIS_URL", "")
            prefix = getattr(settings, "LIVE_KEY_PREFIX", "zias:live")
            _state = RedisRoomState(url, prefix) if url else MemoryRoomState()
        return _state


def apply_moves(moves: Iterable[LiveMove], state: RoomState | None = None) -> dict[str, RoomDelta]:
    """Apply moves to the room state; what changed, per room."""
    state = state or room_state()
    deltas: dict[str, RoomDelta] = {}
    moves = list(moves)
    for m, (applied, old) in zip(moves, state.move_many(moves), strict=True):
        if not applied or (old or None) == m.room:
            continue
        if old:
            deltas.setdefault(old, RoomDelta()).left.add(m.student)
        if m.room:
            since = m.since.isoformat() if m.since else ""
            entry = {"since": since, "source": m.source}
            deltas.setdefault(m.room, RoomDelta()).entered[m.student] = entry
    rooms = list(deltas)
    for room, count in zip(rooms, state.counts(rooms), strict=True):
        deltas[room].count = count
    return deltas


Sender = Callable[[str, dict[str, object]], Awaitable[None]]


class RoomBroadcaster:
    """Coalesces room deltas and sends at most one message per room per `interval`.

    One daemon thread runs an asyncio loop that owns the channel layer for the process.
    """

    def __init__(self, send: Sender | None = None, interval: float = 0.25) -> None:
        self._send = send
        self._interval = interval
        self._pending: dict[str, RoomDelta] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._ready = threading.Event()

    def publish(self, deltas: dict[str, RoomDelta]) -> None:
        if not deltas:
            return
        with self._lock:
            for room, delta in deltas.items():
                self._pending.setdefault(room, RoomDelta()).merge(delta)
        loop = self._ensure_loop()
        loop.call_soon_threadsafe(self._wake.set)  # type: ignore[union-attr]

    def flush(self, timeout: float = 5.0) -> None:
        """Send everything pending now and wait for it (tests, shutdown)."""
        loop = self._ensure_loop()
        asyncio.run_coroutine_threadsafe(self._send_pending(), loop).result(timeout)

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                threading.Thread(target=self._run, name="room-broadcaster", daemon=True).start()
                self._ready.wait(5)
        assert self._loop is not None
        return self._loop

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop, self._wake = loop, asyncio.Event()
        self._ready.set()
        loop.run_until_complete(self._pump())

    async def _pump(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            started = time.monotonic()
            await self._send_pending()
            # Coalescing: whatever arrives meanwhile waits for the next round.
            await asyncio.sleep(max(0.0, self._interval - (time.monotonic() - started)))

    async def _send_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        send = self._send or _channel_layer_sender()
        for room, delta in sorted(pending.items()):
            try:
                await send(f"room.{room}", delta.message(room))
            except Exception:  # a broken layer must not stop live updates for other rooms
                log.exception("room.changed for %s not sent", room)


def _channel_layer_sender() -> Sender:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def send(group: str, message: dict[str, object]) -> None:
        if layer is not None:
            await layer.group_send(group, message)

    return send


_broadcaster: RoomBroadcaster | None = None


def broadcaster() -> RoomBroadcaster:
    global _broadcaster
    with _state_lock:
        if _broadcaster is None:
            _broadcaster = RoomBroadcaster()
        return _broadcaster


def publish_on_commit(moves: list[LiveMove], statuses: dict[str, RoomDelta]) -> None:
    """After commit: apply the moves to the room state, then tell the live pages."""
    if not moves and not statuses:
        return

    def publish() -> None:
        try:
            deltas = apply_moves(moves)
        except Exception:  # live state is a view; the committed data stays the truth
            log.exception("live room state not updated")
            deltas = {}
        for room, delta in statuses.items():
            deltas.setdefault(room, RoomDelta()).merge(delta)
        broadcaster().publish(deltas)

    transaction.on_commit(publish)
