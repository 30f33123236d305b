"""The contract's attendance rate: the percentage (one decimal) of the ended sessions, the
excused ones left out, in which the student was present or late; None when none is left.

The one definition: the summary endpoint, the warnings, the dashboard and the charts all
count with it (each brings its own counts of sessions, attended and excused).
"""

from __future__ import annotations


def attendance_rate(attended: int, sessions: int, excused: int) -> float | None:
    counted = sessions - excused
    if counted <= 0:
        return None
    return round(100 * attended / counted, 1)
