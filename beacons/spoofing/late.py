"""A report far from when the server received it: evidence, never proof.

A phone may buffer its scans while offline and send them later, so a report's `ts` can be
some minutes before its receipt. One received much later than that (or dated in the future)
may be a recording replayed with its original times: it is kept, but it cannot by itself
make a student present, and the record it would have counted for is flagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from attendance.flag_kinds import LATE_REPORT
from beacons.presence import ScanWindow
from beacons.spoofing.flags import Flag, iso

# A phone's clock may run a little ahead of the server's.
CLOCK_AHEAD = timedelta(seconds=60)


def is_late(ts: datetime, received_at: datetime, offline_window: timedelta) -> bool:
    """Too far from its receipt to be trusted as presence (the server's clock decides)."""
    return received_at - ts > offline_window or ts - received_at > CLOCK_AHEAD


def late_report_flags(
    phone: str,
    late: Iterable[tuple[ScanWindow, datetime]],
    rooms: Mapping[int, str],
) -> list[Flag]:
    """One flag per late report that heard a registered beacon: at the report's own time,
    in the room of the strongest beacon it names (`rooms`: beacon id to room code)."""
    flags = []
    for window, received_at in late:
        heard = [s for s in window.sightings if s.beacon_id in rooms]
        if not heard:
            continue
        strongest = max(heard, key=lambda s: s.rssi)
        delay = (received_at - window.at).total_seconds()
        evidence = {
            "ts": iso(window.at),
            "received_at": iso(received_at),
            "delay_s": delay,
            "beacon": strongest.beacon_id,
            "rssi": strongest.rssi,
        }
        detail = (
            f"a scan dated {iso(window.at)} arrived {delay:.0f}s later: kept as evidence, "
            "not counted as presence"
        )
        flags.append(
            Flag(LATE_REPORT, window.at, phone, detail, evidence, rooms[strongest.beacon_id])
        )
    return flags
