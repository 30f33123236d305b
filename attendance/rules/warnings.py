"""When absences run on: the run of absences a student is in, and the warning level it has
reached. Plain Python over plain data (attendance.warnings loads it and keeps the rows).

Excused sessions are left out, as in the rate rule: they neither continue a run nor break
it, and a warning never names one. Any other status breaks a run, and so does a session
without a record for the student (from before they enrolled, or one that ended moments
ago and is not finalised yet), as in the consecutive-absences report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

ABSENT = "absent"
EXCUSED = "excused"


@dataclass(frozen=True)
class Mark:
    """A student's status in one ended session of a course (None: no record)."""

    session_id: int
    ends_at: datetime
    status: str | None


def latest_absence_run(marks: Sequence[Mark]) -> list[Mark]:
    """The absences the student's latest run is made of, oldest first (`marks` in session
    order); empty when the latest counted session was attended."""
    run: list[Mark] = []
    for mark in reversed(marks):
        if mark.status == EXCUSED:
            continue
        if mark.status != ABSENT:
            break
        run.append(mark)
    run.reverse()
    return run


def absence_level(run_length: int, every: int) -> int:
    """The warning level a run has reached: `every` absences in a row, then twice as many,
    and so on; 0 below the first."""
    if every <= 0:
        return 0
    return run_length // every * every


def still_all_absent(statuses: Sequence[str | None]) -> bool:
    """A run's warning stands while every session it named is still an absence."""
    return bool(statuses) and all(status == ABSENT for status in statuses)
