"""A student's status in one session, from the visits that overlap it.

- Minutes present: the union of the visits clipped to [start, end]; a visit that began in
  the early window (or earlier) counts from the start. An open visit counts up to `now`.
- first_seen / last_seen: the first and last moment inside within [start - early, end], so an
  early arrival shows when it really happened (never earlier than the early window).
- late: first inside after start + grace. left_early: last inside before end - grace and
  present for less than the minimum share; judged only once the session has ended, since
  the student may still come back. left_early wins over late (it is the weaker attendance).
- absent: never inside during the session. `excused` is only ever set by a person.
- tap_missing: the course requires a tap and the presence came from BLE alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from attendance.flag_kinds import TAP_MISSING
from attendance.rules.evidence import RecordOutcome, SessionInfo, VisitSpan

TAP_SOURCES = frozenset({"door", "manual"})


def merged_spans(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The same spans, overlapping ones merged, in order."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _clipped(
    visits: Iterable[VisitSpan], lo: datetime, hi: datetime, now: datetime
) -> list[tuple[datetime, datetime]]:
    spans = []
    for visit in visits:
        left = visit.left_at if visit.left_at is not None else max(now, visit.entered_at)
        start, end = max(visit.entered_at, lo), min(left, hi)
        # An open visit that began this instant is already presence (it has no length yet).
        if start < end or (start == end and visit.left_at is None):
            spans.append((start, end))
    return merged_spans(spans)


def compute_record(
    session: SessionInfo, visits: Iterable[VisitSpan], now: datetime
) -> RecordOutcome:
    """The status of one student in `session`, from their visits to the session's room."""
    policy = session.policy
    here = [v for v in visits if v.room == session.room]
    inside = _clipped(here, session.starts_at, session.ends_at, now)
    if not inside:
        return RecordOutcome("absent", None, None, 0)
    seen = _clipped(
        here, session.starts_at - timedelta(minutes=policy.early_minutes), session.ends_at, now
    )
    seconds = sum((end - start).total_seconds() for start, end in inside)
    minutes = int(seconds // 60)
    grace = timedelta(minutes=policy.grace_minutes)
    duration = (session.ends_at - session.starts_at).total_seconds()
    left_early = (
        now >= session.ends_at
        and inside[-1][1] < session.ends_at - grace
        and seconds * 100 < policy.min_presence_pct * duration
    )
    if left_early:
        status = "left_early"
    elif inside[0][0] > session.starts_at + grace:
        status = "late"
    else:
        status = "present"
    flags: tuple[str, ...] = ()
    if policy.tap_required and not _clipped(
        (v for v in here if v.source in TAP_SOURCES), session.starts_at, session.ends_at, now
    ):
        flags = (TAP_MISSING,)
    return RecordOutcome(status, seen[0][0], seen[-1][1], minutes, flags)
