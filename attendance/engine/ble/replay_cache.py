"""Resuming a segment's replay where this process last left it, without changing its result.

Replaying a whole segment for every new report costs O(segment) per batch, and a phone that
reports all day makes one long segment. The tracker is deterministic, so its state after
the segment's first k reports (in event-time order) is the same however it was reached:
this process keeps, per phone, that state and the reads so far, with a digest of exactly
which stored reports (ts, event id) produced it. A batch may resume from it only when the
segment still starts at the same report and the stored reports up to the cached one are
exactly those (a late report, a rolled-back batch, another worker's reports: the digest
differs and the segment is replayed in full, as before). Beacons or the phone's offset
changed: the key differs, full replay.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from beacons.presence import PresenceTracker
from beacons.sightings import ReadReport

MAX_PHONES = 2000  # about a day of reads each; least recently used go first


@dataclass
class CachedRun:
    first: datetime
    last: tuple[datetime, str]  # the last report fed: (ts, event id)
    digest: str
    setup: tuple  # beacons and the phone's offset the tracker ran with
    tracker: PresenceTracker
    reads: list[ReadReport]


def digest(keys: Iterable[tuple[datetime, str]]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for ts, event_id in keys:
        h.update(f"{ts.isoformat()}|{event_id}\n".encode())
    return h.hexdigest()


class ReplayCache:
    def __init__(self, max_phones: int = MAX_PHONES) -> None:
        self._runs: OrderedDict[str, CachedRun] = OrderedDict()
        self.max_phones = max_phones
        self.hits = self.misses = 0

    def resumable(
        self,
        phone: str,
        first: datetime,
        keys: list[tuple[datetime, str]],
        setup: tuple,
    ) -> CachedRun | None:
        """A copy of the cached run if `keys` (the segment's stored reports, sorted) begin
        with exactly the reports it was built from; else None."""
        run = self._runs.get(phone)
        if run is None or run.first != first or run.setup != setup:
            self.misses += 1
            return None
        held = [k for k in keys if k <= run.last]
        if not held or held[-1] != run.last or digest(held) != run.digest:
            self.misses += 1
            return None
        self._runs.move_to_end(phone)
        self.hits += 1
        return CachedRun(
            run.first, run.last, run.digest, run.setup, copy.deepcopy(run.tracker), list(run.reads)
        )

    def keep(self, phone: str, run: CachedRun) -> None:
        self._runs[phone] = run
        self._runs.move_to_end(phone)
        while len(self._runs) > self.max_phones:
            self._runs.popitem(last=False)

    def clear(self) -> None:
        self._runs.clear()


cache = ReplayCache()
