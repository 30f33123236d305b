"""A phone's recent reads: what its window detectors look back over, kept in its checkpoint.

The detectors that judge runs of windows (a cloned iBeacon, beacons of two far rooms at
once) need the last few windows, and timing jitter needs the last few dozen report times;
nothing needs the whole day. So a checkpoint carries exactly that much, and a batch judges
its new windows with this context in front of them. A silence longer than the presence
timeout starts afresh, as the tracker does, so runs never span a gap.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from beacons.presence import ScanWindow, Sighting
from beacons.spoofing import Flag, no_jitter_flags

# At least the longest run a window detector counts (uncorroborated_ibeacon_flags: 6).
CONTEXT_WINDOWS = 8
# no_jitter_flags wants 20 regular intervals; twice that leaves room for missed windows.
JITTER_TIMES = 41


@dataclass
class RecentReads:
    windows: deque[ScanWindow] = field(default_factory=lambda: deque(maxlen=CONTEXT_WINDOWS))
    times: deque[datetime] = field(default_factory=lambda: deque(maxlen=JITTER_TIMES))
    # Whether the report times up to the last one were scripted-regular: a no_jitter flag
    # is raised where that begins, once, so its key is the same however batches fall.
    regular: bool = False

    def push(self, phone: str, window: ScanWindow, silence: timedelta) -> list[Flag]:
        """Take a window in (in event-time order); the no_jitter flag beginning at it."""
        if self.times and window.at - self.times[-1] > silence:
            self.windows.clear()
            self.times.clear()
            self.regular = False
        self.windows.append(window)
        self.times.append(window.at)
        found = no_jitter_flags(phone, list(self.times)) if len(self.times) > 20 else []
        began = found if found and not self.regular else []
        self.regular = bool(found)
        return began

    @property
    def full(self) -> bool:
        """Whether a run could have begun before the windows kept (so one that seems to
        begin at the first of them may be longer)."""
        return len(self.windows) == CONTEXT_WINDOWS

    def state(self) -> dict[str, Any]:
        """As plain data; times as integer Unix microseconds (compact, and exact)."""
        return {
            "windows": [
                [_us(w.at), w.window_s, [[s.beacon_id, s.rssi, s.n] for s in w.sightings]]
                for w in self.windows
            ],
            "times": [_us(t) for t in self.times],
            "regular": self.regular,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> RecentReads:
        recent = cls()
        recent.windows.extend(
            ScanWindow(_at(at), tuple(Sighting(b, r, n) for b, r, n in seen), ws)
            for at, ws, seen in state["windows"]
        )
        recent.times.extend(_at(t) for t in state["times"])
        recent.regular = state["regular"]
        return recent


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def _at(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)
