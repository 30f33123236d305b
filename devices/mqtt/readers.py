"""Reader health: what heartbeats and the Last Will say, and who has gone silent."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Q

from devices.models import Reader
from devices.mqtt.contract import ReaderStatus

log = logging.getLogger("devices.ingest")

MISSED_HEARTBEATS = 3
# A reader that sent events is marked seen at most this often by one process: a busy door
# sends several events a second, heartbeats come every 30 s or more, and each mark is a
# write to the reader's row that every batch from that door would otherwise queue on.
SEEN_EVERY_S = 5.0
_marked_at: dict[str, float] = {}  # device id -> _clock() when this process marked it
_clock = time.monotonic


def apply_reader_statuses(
    statuses: Iterable[tuple[str, ReaderStatus, bool]], now: datetime
) -> None:
    """Store each reader's latest status in the batch (device id, status, was it retained).

    A retained status is the broker replaying an old message on subscribe, so it updates
    what the reader said but not when it was last seen.
    """
    latest: dict[str, tuple[ReaderStatus, bool]] = {}
    for device, status, retained in statuses:
        latest[device] = (status, retained)
    # In device id order: two batches updating the same readers take their rows alike.
    for device, (status, retained) in sorted(latest.items()):
        fields: dict[str, object] = {"online": status.online}
        if not retained:
            fields["last_seen"] = now
        for name, value in (
            ("firmware", status.fw),
            ("ip", status.ip),
            ("wifi_rssi", status.rssi),
            ("uptime_s", status.uptime_s),
            ("queued", status.queued),
        ):
            if value is not None:
                fields[name] = value
        Reader.objects.filter(device_id=device).update(**fields)
        _marked_at.pop(device, None)


def mark_readers_seen(device_ids: set[str], now: datetime) -> None:
    """A reader that just sent events is alive (unless this process said so just now)."""
    moment = _clock()
    due = {d for d in device_ids if moment - _marked_at.get(d, -SEEN_EVERY_S) >= SEEN_EVERY_S}
    if due:
        Reader.objects.filter(device_id__in=due).update(last_seen=now, online=True)
        _marked_at.update(dict.fromkeys(due, moment))


def mark_silent_readers_offline(now: datetime) -> list[str]:
    """Readers online but silent for three heartbeats are offline; returns their ids."""
    online = Reader.objects.filter(online=True)
    stale: list[str] = []
    # heartbeat_s differs per reader but takes few values: one query per value.
    for heartbeat_s in set(online.values_list("heartbeat_s", flat=True)):
        cutoff = now - timedelta(seconds=heartbeat_s * MISSED_HEARTBEATS)
        stale += (
            online.filter(heartbeat_s=heartbeat_s)
            .filter(Q(last_seen__isnull=True) | Q(last_seen__lt=cutoff))
            .values_list("device_id", flat=True)
        )
    if stale:
        Reader.objects.filter(device_id__in=stale, online=True).update(online=False)
        for device in stale:
            _marked_at.pop(device, None)
        # A campus-wide outage can silence hundreds at once: name a few, count the rest.
        shown = ", ".join(sorted(stale)[:10]) + (
            f" (+{len(stale) - 10})" if len(stale) > 10 else ""
        )
        log.info(
            "%d readers offline after %s missed heartbeats: %s",
            len(stale),
            MISSED_HEARTBEATS,
            shown,
        )
    return stale
