"""A stored report read with the server's receipt as the clock that decides (DESIGN 7).

The phone's `ts` says when it claims to have scanned; `received_at` is when the server got
the report. The directory judges each EID at the receipt, allowing the phone's offline
buffer (BLE_OFFLINE_WINDOW_SECONDS), and marks the report late when only its claimed time
vouches for it: a late report is kept and flagged, never presence by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from beacons.sightings import BeaconDirectory, ReadReport


def offline_window() -> timedelta:
    return timedelta(seconds=settings.BLE_OFFLINE_WINDOW_SECONDS)


def read_received(
    directory: BeaconDirectory, payload: Mapping[str, Any], ts: datetime, received_at: datetime
) -> ReadReport:
    return directory.read(payload, ts, received_at=received_at, offline_window=offline_window())
