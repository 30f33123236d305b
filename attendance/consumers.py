"""The live room WebSocket: a snapshot on connect, then one message per change.

The ingest sends `room.changed` to the group `room.<code>` after commit (coalesced per room);
this consumer turns each into `entered`, `left` and `status` messages for the page. A roll
call (attendance.rollcall) sends `room.marked`, passed on as `marked`: a person's marks.

Who may connect is attendance.api.access.may_watch_room, as for the page. A teacher's watch
ends a margin after their session: the socket is closed then (CLOSE_FORBIDDEN), so a page
left open stops showing the room once their class is over.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from attendance.api.access import is_staff, may_watch_room, teacher_watch_ends_at
from attendance.livepage import page_state
from attendance.models import Room, Student
from zias import metrics

# Close codes the page understands: it stops retrying on these.
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
# A teacher's socket asks the access rule again at least this often (seconds).
WATCH_RECHECK_S = 60.0


def room_group(code: str) -> str:
    return f"room.{code}"


class RoomConsumer(AsyncJsonWebsocketConsumer):
    room: Room
    watch_expiry: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        code = self.scope["url_route"]["kwargs"]["code"]
        user = self.scope.get("user")
        room = await database_sync_to_async(Room.objects.filter(code=code).first)()
        if room is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if not await database_sync_to_async(may_watch_room)(user, room, timezone.now()):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.room = room
        await self.channel_layer.group_add(room_group(room.code), self.channel_name)
        await self.accept()
        metrics.websocket_opened()
        if not is_staff(user):
            self.watch_expiry = asyncio.create_task(self._close_when_the_watch_ends())
        await self.send_snapshot()

    async def disconnect(self, code: int) -> None:
        if self.watch_expiry is not None:
            self.watch_expiry.cancel()
        if hasattr(self, "room"):
            metrics.websocket_closed()
            await self.channel_layer.group_discard(room_group(self.room.code), self.channel_name)

    async def send_json(self, content: Any, close: bool = False) -> None:
        metrics.live_message_sent(content)
        await super().send_json(content, close)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The page may ask for a fresh snapshot (after it wakes from sleep, say); the watch
        # is checked again first, as a page that slept may have outlived it.
        wants_snapshot = isinstance(content, dict) and content.get("type") == "snapshot"
        if wants_snapshot and await self._still_allowed():
            await self.send_snapshot()

    async def _still_allowed(self) -> bool:
        user = self.scope.get("user")
        if await database_sync_to_async(may_watch_room)(user, self.room, timezone.now()):
            return True
        await self.close(code=CLOSE_FORBIDDEN)
        return False

    async def _close_when_the_watch_ends(self) -> None:
        """Sleep until the teacher's watch runs out, then ask the rule again (a following
        session of theirs may have extended it) and close when it says no."""
        user = self.scope.get("user")
        while True:
            now = timezone.now()
            ends: datetime | None = await database_sync_to_async(teacher_watch_ends_at)(
                user, self.room, now
            )
            if ends is None:
                await self.close(code=CLOSE_FORBIDDEN)
                return
            # Capped so that a change to the timetable or the margin is noticed in time.
            await asyncio.sleep(min(max((ends - now).total_seconds(), 0.05), WATCH_RECHECK_S))

    async def send_snapshot(self) -> None:
        state = await database_sync_to_async(page_state)(self.room)
        await self.send_json({"type": "snapshot", **state})

    async def room_changed(self, event: dict[str, Any]) -> None:
        """One coalesced change from the ingest: who entered, who left, whose status moved."""
        entered = event.get("entered") or []
        names = await database_sync_to_async(_names)([e["student"] for e in entered])
        for person in entered:
            number = person["student"]
            await self.send_json(
                {
                    "type": "entered",
                    "student": number,
                    "name": names.get(number, number),
                    "since": person.get("since"),
                    "source": person.get("source", "door"),
                }
            )
        for number in event.get("left") or []:
            await self.send_json({"type": "left", "student": number})
        for change in event.get("status") or []:
            await self.send_json(
                {"type": "status", "student": change["student"], "status": change["status"]}
            )
        if event.get("count") is not None:
            await self.send_json({"type": "count", "count": event["count"]})

    async def room_marked(self, event: dict[str, Any]) -> None:
        """A person's marks (a roll call): the page shows them as marks, with the reason."""
        await self.send_json(
            {
                "type": "marked",
                "session": event.get("session"),
                "marks": event.get("marks") or [],
                "reason": event.get("reason", ""),
                "by": event.get("by", ""),
            }
        )


def _names(numbers: list[str]) -> dict[str, str]:
    return {s.number: s.full_name for s in Student.objects.filter(number__in=numbers)}
