"""Which new BLE reports are late evidence, so that what they change is a revision.

Door evidence that arrives late (a tap older than one already held) leaves a revision on
every record it changes, even one not yet final (attendance.engine.records); a report does
the same when it is late in either sense:
- received long after its `ts` (beacons.spoofing.late: evidence, never presence by itself,
  yet it flags the record it would have counted for), or
- received after a report of a later moment of the same phone: it fills in a past the
  records were already computed from.
A report arriving in time and in order only extends the phone's day, as a running session's
record following the evidence does: no revision. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from datetime import datetime

from beacons.sightings import ReadReport


def late_among(reads: Sequence[ReadReport], new: Set[datetime]) -> bool:
    """Whether any of the reads whose moment is in `new` (this batch's reports) is late.
    `reads` are one phone's in event-time order, each with its receipt (`received_at`).
    Walked from the newest back to the oldest new moment: in the usual case (new reports
    at the end) that is only this batch's reads, whatever the length of the day."""
    if not new:
        return False
    oldest_new = min(new)
    first_later_receipt: datetime | None = None  # the earliest receipt of a later report
    i = len(reads)
    while i > 0 and reads[i - 1].window.at >= oldest_new:
        at, group = reads[i - 1].window.at, []
        while i > 0 and reads[i - 1].window.at == at:
            group.append(reads[i - 1])
            i -= 1
        if at in new and any(_late(r, first_later_receipt) for r in group):
            return True
        # A late report (one dated ahead of its receipt above all) is no later moment that
        # the records were computed from.
        receipts = [r.received_at for r in group if r.received_at is not None and not r.late]
        if receipts and (first_later_receipt is None or min(receipts) < first_later_receipt):
            first_later_receipt = min(receipts)
    return False


def _late(read: ReadReport, first_later_receipt: datetime | None) -> bool:
    if read.late:
        return True
    received = read.received_at
    return (
        first_later_receipt is not None and received is not None and received > first_later_receipt
    )
