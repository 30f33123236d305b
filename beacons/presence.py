"""BLE presence of one phone, from its scan windows: which room, from when to when.

Pure: plain dataclasses in and out, no Django, no clock. The rules (DESIGN, "BLE presence"):

- Each (phone, beacon) median is corrected by the phone model's offset and smoothed: the
  median of the beacon's last few window medians. A beacon missing from a real report (the
  phone looked and did not hear it) counts as very weak, so one dropout barely moves a median
  of three but a beacon that went quiet fades out.
- A room's strength is its strongest beacon, measured against that beacon's own enter
  threshold, so rooms with louder or quieter beacons compare fairly.
- The phone enters the room that is clearly strongest (at or above its enter threshold and
  `margin_db` over the next room) for `enter_windows` windows in a row; it leaves after
  `leave_windows` windows of not holding (below the exit threshold, or another room ahead by
  the margin), or at once when another room is ahead by `clear_margin_db`. The margin and
  both window counts are the room's own where it has them (`RoomThresholds`, calibrated per
  room), the config's otherwise; the room they belong to is the one entered or left.
- Silence (no reports) is "unknown": the phone stays where it was until `silence_timeout`,
  and only then counts as away, from its last evidence.
- Times are backdated to the window where the change first showed: smoothing and holding
  delay the decision, not the moment the evidence points to.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

UNSEEN = float("-inf")


@dataclass(frozen=True)
class BeaconPlace:
    """A beacon as presence needs it: where it is and its room's thresholds (dBm)."""

    beacon_id: int
    room: str
    enter_rssi: float
    exit_rssi: float


@dataclass(frozen=True)
class Sighting:
    beacon_id: int
    rssi: float  # the window's median, dBm, as the phone reported it
    n: int = 1


@dataclass(frozen=True)
class ScanWindow:
    """One report: the phone scanned for `window_s` seconds ending at `at`."""

    at: datetime
    sightings: tuple[Sighting, ...]
    window_s: float = 10.0

    @property
    def start(self) -> datetime:
        return self.at - timedelta(seconds=self.window_s)


@dataclass(frozen=True)
class RoomThresholds:
    """A room's own margin and windows; None takes the config's value for all rooms."""

    margin_db: float | None = None
    enter_windows: int | None = None
    leave_windows: int | None = None

    def __post_init__(self) -> None:
        if self.margin_db is not None and self.margin_db <= 0:
            raise ValueError("a room's margin must be above 0 dB")
        for windows in (self.enter_windows, self.leave_windows):
            if windows is not None and windows < 1:
                raise ValueError("a room's enter and leave windows must be at least 1")


@dataclass(frozen=True)
class PresenceConfig:
    """The rules' settings. Configuration only, never the tracker's state: `rooms` holds the
    rooms that have thresholds of their own (by room code); every other room uses the
    global `margin_db`, `enter_windows` and `leave_windows`."""

    smoothing_windows: int = 3
    margin_db: float = 4.0
    clear_margin_db: float = 12.0
    enter_windows: int = 2
    leave_windows: int = 3
    # A beacon left out of a report counts as this (dBm): below any threshold.
    unseen_rssi: float = -105.0
    # Medians older than this are not smoothed with new ones (the phone may have moved).
    history_max_age: timedelta = timedelta(seconds=90)
    silence_timeout: timedelta = timedelta(minutes=5)
    rooms: Mapping[str, RoomThresholds] = field(default_factory=dict, hash=False)

    def margin_in(self, room: str) -> float:
        own = self.rooms.get(room)
        if own is not None and own.margin_db is not None:
            return own.margin_db
        return self.margin_db

    def enter_windows_in(self, room: str) -> int:
        own = self.rooms.get(room)
        if own is not None and own.enter_windows is not None:
            return own.enter_windows
        return self.enter_windows

    def leave_windows_in(self, room: str) -> int:
        own = self.rooms.get(room)
        if own is not None and own.leave_windows is not None:
            return own.leave_windows
        return self.leave_windows


def room_strengths(
    values: Mapping[int, float], places: Mapping[int, BeaconPlace]
) -> dict[str, tuple[float, float]]:
    """Per room heard: (its strongest beacon minus that beacon's enter threshold, and minus
    its exit threshold), from beacon id to (smoothed) dBm; unknown beacons are left out."""
    rooms: dict[str, tuple[float, float]] = {}
    for beacon_id, value in values.items():
        place = places.get(beacon_id)
        if place is None:
            continue
        over_enter, over_exit = rooms.get(place.room, (UNSEEN, UNSEEN))
        rooms[place.room] = (
            max(over_enter, value - place.enter_rssi),
            max(over_exit, value - place.exit_rssi),
        )
    return rooms


def lead_over_others(room: str, strengths: Mapping[str, tuple[float, float]]) -> float:
    """How far `room` is ahead of the strongest other room (dB, over enter thresholds);
    infinite when no other room is heard at all."""
    own = strengths.get(room, (UNSEEN, UNSEEN))[0]
    best_other = max((v[0] for r, v in strengths.items() if r != room), default=UNSEEN)
    return math.inf if best_other == UNSEEN else own - best_other


@dataclass(frozen=True)
class PresenceInterval:
    """`open` when the phone was still in the room at its last report."""

    room: str
    start: datetime
    end: datetime
    confidence: float
    open: bool = False


@dataclass
class _Stay:
    room: str
    start: datetime
    last_hold: datetime
    holding_windows: int = 0
    clarity_sum: float = 0.0
    window_s: float = 10.0
    first_bad: datetime | None = None
    bad_windows: int = 0


@dataclass
class _Candidate:
    room: str
    first_start: datetime
    windows: int = 1


@dataclass
class PresenceTracker:
    """Feed windows in time order; read `intervals` (closed) and `current` (open)."""

    beacons: Sequence[BeaconPlace]
    rssi_offset_db: float = 0.0
    config: PresenceConfig = field(default_factory=PresenceConfig)
    intervals: list[PresenceInterval] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._places = {b.beacon_id: b for b in self.beacons}
        self._history: dict[int, deque[tuple[datetime, float]]] = {}
        self._stay: _Stay | None = None
        self._candidate: _Candidate | None = None
        self._last_at: datetime | None = None
        # The end of the last stay closed, kept when `take_closed` hands the intervals over:
        # a new stay never begins before it.
        self._last_end: datetime | None = None

    # -- input ----------------------------------------------------------------------------

    def feed(self, window: ScanWindow) -> None:
        if self._last_at is not None and window.at <= self._last_at:
            return  # out of order or repeated: the caller sorts; a repeat adds nothing
        self._handle_silence(window.at)
        self._last_at = window.at
        self._remember(window)
        strengths = self._room_strengths()
        if self._stay is not None:
            self._update_stay(window, strengths)
        self._update_candidate(window, strengths)

    def finish(self, now: datetime | None = None) -> list[PresenceInterval]:
        """All intervals; an ongoing stay ends at its last evidence, or at `now` if given
        and the phone has not been silent for longer than the timeout."""
        result = list(self.intervals)
        stay = self._stay
        if stay is not None:
            silent_too_long = now is not None and now - stay.last_hold > self.config.silence_timeout
            end = now if now is not None and not silent_too_long else stay.last_hold
            result.append(self._interval(stay, end, still_open=not silent_too_long))
        return result

    def take_closed(self) -> list[PresenceInterval]:
        """The stays closed since the last call, handed over and forgotten: a caller that
        saves them as they close keeps the tracker's state small all day."""
        closed, self.intervals = self.intervals, []
        return closed

    def current(self, now: datetime | None = None) -> PresenceInterval | None:
        """The stay still going (as `finish` gives it), or None."""
        if self._stay is None:
            return None
        return self.finish(now)[-1]

    @property
    def last_at(self) -> datetime | None:
        """The time of the last window fed."""
        return self._last_at

    @property
    def stay_start(self) -> datetime | None:
        """When the stay still going began (None: no stay)."""
        return None if self._stay is None else self._stay.start

    @property
    def candidate_start(self) -> datetime | None:
        """Where a stay would begin if the room the phone may be entering holds (None: none
        pending): a stay is backdated to its first window, which can lie well before now."""
        return None if self._candidate is None else self._candidate.first_start

    @property
    def last_end(self) -> datetime | None:
        """When the last stay closed ended: no later stay begins before it."""
        return self._last_end

    # -- state ----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the tracker remembers, as JSON-able plain data (times as ISO 8601).
        The beacons, the phone's offset and the config are not part of it: the caller
        gives them again to `from_state`, so a change of them is never hidden in a state."""
        return {
            "history": {
                str(b): [[_t(at), value] for at, value in h] for b, h in self._history.items()
            },
            "stay": _stay_state(self._stay),
            "candidate": None
            if self._candidate is None
            else [self._candidate.room, _t(self._candidate.first_start), self._candidate.windows],
            "last_at": _t(self._last_at),
            "last_end": _t(self._last_end),
            "closed": [_interval_state(i) for i in self.intervals],
        }

    @classmethod
    def from_state(
        cls,
        state: Mapping[str, Any],
        beacons: Sequence[BeaconPlace],
        rssi_offset_db: float = 0.0,
        config: PresenceConfig | None = None,
    ) -> PresenceTracker:
        """A tracker that goes on exactly as the one whose `state()` this was."""
        cfg = config or PresenceConfig()
        tracker = cls(beacons, rssi_offset_db, cfg, [_interval(i) for i in state["closed"]])
        tracker._history = {
            int(b): deque(((_dt(at), float(v)) for at, v in h), maxlen=cfg.smoothing_windows)
            for b, h in state["history"].items()
            if int(b) in tracker._places  # a beacon since removed is forgotten
        }
        tracker._stay = _stay(state["stay"])
        candidate = state["candidate"]
        tracker._candidate = (
            None if candidate is None else _Candidate(candidate[0], _dt(candidate[1]), candidate[2])
        )
        tracker._last_at = _opt_dt(state["last_at"])
        tracker._last_end = _opt_dt(state["last_end"])
        return tracker

    # -- smoothing ------------------------------------------------------------------------

    def _remember(self, window: ScanWindow) -> None:
        heard = {s.beacon_id: s.rssi for s in window.sightings if s.beacon_id in self._places}
        for beacon_id in heard.keys() | self._history.keys():
            rssi = heard.get(beacon_id)
            value = rssi + self.rssi_offset_db if rssi is not None else self.config.unseen_rssi
            history = self._history.setdefault(
                beacon_id, deque(maxlen=self.config.smoothing_windows)
            )
            history.append((window.at, value))
        oldest = window.at - self.config.history_max_age
        for beacon_id in list(self._history):
            history = self._history[beacon_id]
            while history and history[0][0] < oldest:
                history.popleft()
            if not history or all(v <= self.config.unseen_rssi for _, v in history):
                del self._history[beacon_id]  # faded out: stop carrying it

    def smoothed(self, beacon_id: int) -> float | None:
        history = self._history.get(beacon_id)
        return statistics.median(v for _, v in history) if history else None

    def _room_strengths(self) -> dict[str, tuple[float, float]]:
        values = {b: v for b in self._history if (v := self.smoothed(b)) is not None}
        return room_strengths(values, self._places)

    # -- decisions ------------------------------------------------------------------------

    @staticmethod
    def _lead(room: str, strengths: dict[str, tuple[float, float]]) -> float:
        return lead_over_others(room, strengths)

    def _update_stay(self, window: ScanWindow, strengths: dict[str, tuple[float, float]]) -> None:
        stay = self._stay
        assert stay is not None
        cfg = self.config
        margin = cfg.margin_in(stay.room)
        lead = self._lead(stay.room, strengths)
        own_over_enter, own_over_exit = strengths.get(stay.room, (UNSEEN, UNSEEN))
        elsewhere_clearly = any(
            room != stay.room
            and over_enter >= 0
            and over_enter - own_over_enter >= cfg.clear_margin_db
            for room, (over_enter, _) in strengths.items()
        )
        above_exit = own_over_exit >= 0
        holds = above_exit and lead > -margin
        if holds and not elsewhere_clearly:
            stay.last_hold = window.at
            stay.holding_windows += 1
            stay.clarity_sum += min(1.0, max(0.0, lead / (2 * margin)))
            stay.first_bad, stay.bad_windows = None, 0
            return
        if stay.first_bad is None:
            stay.first_bad = window.start
        stay.bad_windows += 1
        if elsewhere_clearly or stay.bad_windows >= cfg.leave_windows_in(stay.room):
            self._close(self._departure_time(stay))

    def _update_candidate(
        self, window: ScanWindow, strengths: dict[str, tuple[float, float]]
    ) -> None:
        room = self._clear_leader(strengths)
        if room is None or (self._stay is not None and room == self._stay.room):
            self._candidate = None
            return
        if self._candidate is not None and self._candidate.room == room:
            self._candidate.windows += 1
        else:
            self._candidate = _Candidate(room, window.start)
        if self._stay is None and self._candidate.windows >= self.config.enter_windows_in(room):
            start = self._candidate.first_start
            if self._last_end is not None and self._last_end > start:
                start = self._last_end  # never overlap the stay just closed
            self._stay = _Stay(room, start, window.at, window_s=window.window_s)
            self._stay.holding_windows = self._candidate.windows
            self._stay.clarity_sum = float(self._candidate.windows)
            self._candidate = None

    def _clear_leader(self, strengths: dict[str, tuple[float, float]]) -> str | None:
        if not strengths:
            return None
        room = max(strengths, key=lambda r: strengths[r][0])
        if strengths[room][0] >= 0 and self._lead(room, strengths) >= self.config.margin_in(room):
            return room
        return None

    # -- silence and closing --------------------------------------------------------------

    def _handle_silence(self, at: datetime) -> None:
        if self._last_at is None:
            return
        gap = at - self._last_at
        if gap > self.config.history_max_age:
            self._history.clear()
            self._candidate = None
        if self._stay is not None and gap > self.config.silence_timeout:
            self._close(self._stay.last_hold)

    @staticmethod
    def _departure_time(stay: _Stay) -> datetime:
        """Somewhere between the last window that held and the first that did not: the
        middle, when a silence lies between them."""
        first_bad = stay.first_bad or stay.last_hold
        if first_bad <= stay.last_hold:
            return stay.last_hold
        return stay.last_hold + (first_bad - stay.last_hold) / 2

    def _close(self, end: datetime) -> None:
        stay = self._stay
        assert stay is not None
        interval = self._interval(stay, max(end, stay.start), still_open=False)
        self.intervals.append(interval)
        self._last_end = interval.end
        self._stay = None

    def _interval(self, stay: _Stay, end: datetime, *, still_open: bool) -> PresenceInterval:
        return PresenceInterval(
            room=stay.room,
            start=stay.start,
            end=end,
            confidence=self._confidence(stay, end),
            open=still_open,
        )

    @staticmethod
    def _confidence(stay: _Stay, end: datetime) -> float:
        """Half coverage (how much of the stay had reports that held), half clarity (how far
        ahead of the next room, up to twice the margin). 0..1, two decimals."""
        duration = max((end - stay.start).total_seconds(), stay.window_s)
        coverage = min(1.0, stay.holding_windows * stay.window_s / duration)
        clarity = stay.clarity_sum / stay.holding_windows if stay.holding_windows else 0.0
        return round(0.5 * coverage + 0.5 * clarity, 2)


# -- state as plain data ------------------------------------------------------------------


def _t(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _opt_dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _stay_state(stay: _Stay | None) -> list[Any] | None:
    if stay is None:
        return None
    return [
        stay.room,
        _t(stay.start),
        _t(stay.last_hold),
        stay.holding_windows,
        stay.clarity_sum,
        stay.window_s,
        _t(stay.first_bad),
        stay.bad_windows,
    ]


def _stay(state: list[Any] | None) -> _Stay | None:
    if state is None:
        return None
    room, start, last_hold, holding, clarity, window_s, first_bad, bad = state
    return _Stay(
        room, _dt(start), _dt(last_hold), holding, clarity, window_s, _opt_dt(first_bad), bad
    )


def _interval_state(i: PresenceInterval) -> list[Any]:
    return [i.room, _t(i.start), _t(i.end), i.confidence, i.open]


def _interval(state: list[Any]) -> PresenceInterval:
    room, start, end, confidence, still_open = state
    return PresenceInterval(room, _dt(start), _dt(end), confidence, still_open)


def presence_intervals(
    windows: Iterable[ScanWindow],
    beacons: Sequence[BeaconPlace],
    *,
    rssi_offset_db: float = 0.0,
    config: PresenceConfig | None = None,
    now: datetime | None = None,
) -> list[PresenceInterval]:
    """The rooms one phone was in, from its scan windows (sorted here by time)."""
    tracker = PresenceTracker(beacons, rssi_offset_db, config or PresenceConfig())
    for window in sorted(windows, key=lambda w: w.at):
        tracker.feed(window)
    return tracker.finish(now)
