"""A student's door visits for one day, replayed from that day's taps in event-time order.

The whole day is a pure function of its taps (and the doors' motion sensors), so a late tap
is handled by replaying the day again: the result cannot depend on arrival order. Every
visit is closed by the end of the day, which is what makes days independent of each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from attendance.rules.door import Motion, decide_direction, direction_from_pir, is_repeat
from attendance.rules.evidence import EventKey, Key, Tap, TapVerdict, VisitSpan


@dataclass(frozen=True)
class DayPlan:
    verdicts: dict[EventKey, TapVerdict]
    visits: list[VisitSpan]


@dataclass(frozen=True)
class DayFrame:
    """When the day ends and, per room, when its last session of the day ends."""

    day_end: datetime
    last_session_end: Mapping[Key, datetime]

    def system_close(self, visit: VisitSpan) -> tuple[datetime, str]:
        """When an unclosed visit is closed for the person, and why."""
        last_end = self.last_session_end.get(visit.room)
        if last_end is not None and visit.entered_at < last_end:
            return last_end, "still inside after the room's last session of the day ended"
        return self.day_end, "still inside at the end of the day"


def accepted_taps(taps: Iterable[Tap]) -> list[Tap]:
    """The taps that are not repeats. Whether a tap repeats depends only on the taps before
    it, not on where anyone is, so this needs no replay."""
    last: dict[tuple[str, str], datetime] = {}
    accepted = []
    for tap in unique_in_event_order(taps):
        previous = last.get((tap.uid, tap.sender))
        last[(tap.uid, tap.sender)] = tap.ts
        if not is_repeat(previous, tap.ts, timedelta(seconds=tap.debounce_s)):
            accepted.append(tap)
    return accepted


def unique_in_event_order(taps: Iterable[Tap]) -> list[Tap]:
    """The same (sender, event id) counts once; order by (ts, sender, event id)."""
    seen: dict[tuple[str, str], Tap] = {}
    for tap in taps:
        seen.setdefault((tap.key.sender, tap.key.event_id), tap)
    return sorted(seen.values(), key=lambda t: t.key)


@dataclass(frozen=True)
class DayStart:
    """The replay's state just before a moment: visits finished by then, the one still open,
    and when each (card, reader) last tapped. The empty state is the start of the day."""

    finished: tuple[VisitSpan, ...] = ()
    open_visit: VisitSpan | None = None
    last_tap_at: Mapping[tuple[str, str], datetime] = field(default_factory=dict)


def checkpoint(visits: Sequence[VisitSpan], taps_before: Iterable[Tap], at: datetime) -> DayStart:
    """The state just before `at`, rebuilt from a day's visits and the taps before `at`.

    Replaying the taps from `at` on from this state gives the same day as replaying all of
    them (tested), so a new tap only costs the replay of what follows it.
    """
    finished = tuple(v for v in visits if v.left_at is not None and v.left_at < at)
    around = [v for v in visits if v.entered_at < at and (v.left_at is None or v.left_at >= at)]
    open_visit = (
        VisitSpan(around[0].room, around[0].entered_at, None, around[0].source) if around else None
    )
    last: dict[tuple[str, str], datetime] = {}
    for tap in unique_in_event_order(taps_before):
        last[(tap.uid, tap.sender)] = tap.ts
    return DayStart(finished, open_visit, last)


def plan_day(
    taps: Iterable[Tap],
    motions: Mapping[str, Sequence[Motion]],
    frame: DayFrame,
    now: datetime,
    start: DayStart | None = None,
) -> DayPlan:
    """Replay one student's taps of one day: each tap's verdict and the visits they make.

    `motions` are the PIR motion events per reader; `now` only decides whether a system
    close that is due at a future moment has happened yet. With `start`, `taps` are those
    from the checkpoint on, and the visits returned include the finished ones before it.
    """
    start = start or DayStart()
    verdicts: dict[EventKey, TapVerdict] = {}
    visits: list[VisitSpan] = list(start.finished)
    open_visit: VisitSpan | None = start.open_visit
    last_tap_at: dict[tuple[str, str], datetime] = dict(start.last_tap_at)

    def close_if_due(moment: datetime, inclusive: bool) -> None:
        # A tap at the very moment of the close is still the person's own exit.
        nonlocal open_visit
        if open_visit is None:
            return
        close_at, reason = frame.system_close(open_visit)
        if close_at < moment or (inclusive and close_at == moment):
            visits.append(
                replace(open_visit, left_at=close_at, closed_by_system=True, close_reason=reason)
            )
            open_visit = None

    for tap in unique_in_event_order(taps):
        close_if_due(tap.ts, inclusive=False)
        previous = last_tap_at.get((tap.uid, tap.sender))
        last_tap_at[(tap.uid, tap.sender)] = tap.ts
        if is_repeat(previous, tap.ts, timedelta(seconds=tap.debounce_s)):
            verdicts[tap.key] = TapVerdict(tap.key, "repeat")
            continue
        inside_here = open_visit is not None and open_visit.room == tap.room
        pir = (
            direction_from_pir(list(motions.get(tap.sender, ())), tap.ts)
            if tap.mode == "pir"
            else None
        )
        direction = decide_direction(tap.mode, tap.reported_dir, inside_here, pir)
        verdicts[tap.key] = TapVerdict(tap.key, "accepted", direction)
        if direction == "in" and not inside_here:
            if open_visit is not None:
                visits.append(_missed_exit(open_visit, tap, f"entered {tap.room}"))
            open_visit = VisitSpan(room=tap.room, entered_at=tap.ts, left_at=None)
        elif direction == "out" and open_visit is not None:
            if inside_here:
                visits.append(replace(open_visit, left_at=tap.ts))
            else:
                # Leaving another room proves this one was left without a tap.
                visits.append(_missed_exit(open_visit, tap, f"tapped out of {tap.room}"))
            open_visit = None
    close_if_due(now, inclusive=True)
    if open_visit is not None:
        visits.append(open_visit)
    return DayPlan(verdicts=verdicts, visits=visits)


def _missed_exit(visit: VisitSpan, tap: Tap, what: str) -> VisitSpan:
    return replace(
        visit,
        left_at=tap.ts,
        closed_by_system=True,
        close_reason=f"no exit tap; {what}",
    )
