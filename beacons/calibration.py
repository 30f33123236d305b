"""Suggest a beacon's enter/exit thresholds from labelled window medians. Pure.

The samples are window medians (dBm, already corrected by each phone's rssi_offset_db) of
one beacon, split by where the phone's owner really was at the time: in the beacon's room, or
somewhere else (another room, the corridor). Only windows that heard the beacon count; how
often it was heard is reported beside.

- enter: halfway between the in-room 10th percentile (9 in 10 in-room windows are louder)
  and the out-of-room 95th percentile (19 in 20 windows elsewhere are quieter).
- exit: the in-room 2nd percentile, and at least `hysteresis_db` below enter, so a phone
  that entered does not leave on ordinary noise.
When the two percentiles overlap, the room cannot be told from its neighbours by this beacon
alone; the suggestion still stands halfway, with a warning (margins between rooms still help).

A room's margin and windows (`suggest_room_thresholds`) come from the same labelled windows,
seen as presence sees them: the room's lead over the next room. The margin is half the
smaller of the in-room 10th percentile of that lead and the elsewhere 95th percentile of the
trail (the margin both lets a phone in and lets it go, so it takes half); the enter and leave
windows are the fewest windows in a row that chance alone (how often one window elsewhere
points into the room, or one window in it fails to hold) repeats under 1% of the time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

RSSI_FLOOR = -100  # no threshold below what phones can hear
RSSI_CEILING = 0


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class NotEnoughData(ValueError):
    """Too few labelled windows to suggest anything."""


@dataclass(frozen=True)
class ThresholdSuggestion:
    enter_rssi: int
    exit_rssi: int
    in_count: int
    out_count: int
    in_p2: float
    in_p10: float
    in_p50: float
    out_p50: float | None
    out_p95: float | None
    overlap: bool

    def explain(self) -> list[str]:
        lines = [
            f"in the room: {self.in_count} windows heard it; median {self.in_p50:.1f}, "
            f"10th percentile {self.in_p10:.1f}, 2nd percentile {self.in_p2:.1f} dBm",
        ]
        if self.out_count:
            lines.append(
                f"elsewhere: {self.out_count} windows heard it; median {self.out_p50:.1f}, "
                f"95th percentile {self.out_p95:.1f} dBm"
            )
        else:
            lines.append("elsewhere: never heard (no phone outside the room picked it up)")
        lines.append(
            f"enter {self.enter_rssi} dBm = halfway between the in-room 10th and the "
            f"elsewhere 95th percentile; exit {self.exit_rssi} dBm = the in-room 2nd "
            "percentile, at least the hysteresis below enter"
        )
        if self.overlap:
            lines.append(
                "WARNING: in-room and elsewhere readings overlap; this beacon alone cannot "
                "tell the room from its neighbours (move it, or add one)"
            )
        return lines


def suggest_thresholds(
    in_room: Sequence[float],
    elsewhere: Sequence[float],
    *,
    hysteresis_db: float = 6.0,
    min_in_room: int = 30,
) -> ThresholdSuggestion:
    if len(in_room) < min_in_room:
        raise NotEnoughData(
            f"{len(in_room)} in-room windows heard this beacon; at least {min_in_room} needed"
        )
    in_p2, in_p10, in_p50 = (percentile(in_room, p) for p in (2, 10, 50))
    out_p50 = percentile(elsewhere, 50) if elsewhere else None
    out_p95 = percentile(elsewhere, 95) if elsewhere else None
    # Nothing heard elsewhere: the enter threshold only has to keep 9 in 10 in-room windows.
    upper_out = out_p95 if out_p95 is not None else in_p10 - 2 * hysteresis_db
    enter = _clamp(round((in_p10 + upper_out) / 2), RSSI_FLOOR + hysteresis_db, RSSI_CEILING)
    exit_ = _clamp(round(min(in_p2, enter - hysteresis_db)), RSSI_FLOOR, enter)
    return ThresholdSuggestion(
        enter_rssi=int(enter),
        exit_rssi=int(exit_),
        in_count=len(in_room),
        out_count=len(elsewhere),
        in_p2=in_p2,
        in_p10=in_p10,
        in_p50=in_p50,
        out_p50=out_p50,
        out_p95=out_p95,
        overlap=out_p95 is not None and out_p95 >= in_p10,
    )


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


# -- a room's margin and windows ---------------------------------------------------------------

# Leads are capped at this (a beacon heard at the noise floor next to one at arm's length).
LEAD_CAP_DB = 40.0
# A run of windows this unlikely to happen by chance (each window alike, independently) is
# evidence, not noise: the windows are chosen so a false entry or departure is this rare.
CHANCE_OF_A_FALSE_RUN = 0.01
MARGIN_RANGE = (2, 20)  # dB: below 2 a phone flaps between rooms on ordinary noise
ENTER_WINDOWS_RANGE = (2, 6)
LEAVE_WINDOWS_RANGE = (2, 10)


@dataclass(frozen=True)
class RoomWindow:
    """One labelled window as presence sees the room: how far ahead of the next room it was
    (dB over enter thresholds, beacons.presence.lead_over_others), and its strongest beacon
    over its enter and exit thresholds."""

    lead: float
    over_enter: float
    over_exit: float


@dataclass(frozen=True)
class RoomSuggestion:
    margin_db: int | None  # None: no window heard the room and another at once
    enter_windows: int
    leave_windows: int
    in_count: int
    out_count: int
    in_lead_p10: float | None  # of the contested windows, those hearing another room too
    out_lead_p95: float | None
    false_lead: float  # share of windows elsewhere that would point into the room
    fail_hold: float  # share of windows in the room that would not hold it
    margin_used: float  # the margin the two shares were judged with

    def explain(self) -> list[str]:
        if self.margin_db is None or self.in_lead_p10 is None or self.out_lead_p95 is None:
            lines = [
                "margin: no suggestion, too few windows heard the room and another one at once "
                f"(the margin only matters then); judged with {self.margin_used:g} dB"
            ]
        else:
            lines = [
                "lead over the next room, where both were heard: in the room 10th "
                f"percentile {self.in_lead_p10:+.1f} dB, elsewhere 95th percentile "
                f"{self.out_lead_p95:+.1f} dB",
                f"margin {self.margin_db} dB = half the smaller of the two leads (in the room "
                f"ahead, elsewhere behind), within {MARGIN_RANGE[0]}..{MARGIN_RANGE[1]} dB",
            ]
            if min(self.in_lead_p10, -self.out_lead_p95) <= 0:
                lines.append(
                    "WARNING: the room and its neighbour overlap; no margin separates them "
                    "(move a beacon, lower its power, or add one)"
                )
        lines.append(
            f"enter after {self.enter_windows} windows: {self.false_lead:.1%} of "
            f"{self.out_count} windows elsewhere point here; leave after {self.leave_windows}: "
            f"{self.fail_hold:.1%} of {self.in_count} windows in the room do not hold it (the "
            f"fewest windows in a row that chance alone repeats under "
            f"{CHANCE_OF_A_FALSE_RUN:.0%} of the time)"
        )
        return lines


def suggest_room_thresholds(
    in_room: Sequence[RoomWindow],
    elsewhere: Sequence[RoomWindow],
    *,
    current_margin_db: float,
    min_in_room: int = 30,
    min_contested: int = 10,
) -> RoomSuggestion:
    """A room's margin and enter/leave windows from labelled windows (raw window medians,
    before smoothing: smoothing only steadies them, so the windows err on the safe side).
    The margin needs `min_contested` windows on each side that heard the room and another
    room at once; the windows are judged with the new margin, or the current one."""
    if len(in_room) < min_in_room:
        raise NotEnoughData(f"{len(in_room)} in-room windows; at least {min_in_room} needed")
    if not elsewhere:
        raise NotEnoughData("no windows elsewhere: nothing to tell the room from")
    contested_in = [w.lead for w in in_room if math.isfinite(w.lead)]
    contested_out = [w.lead for w in elsewhere if math.isfinite(w.lead)]
    margin, in_p10, out_p95 = None, None, None
    if len(contested_in) >= min_contested and len(contested_out) >= min_contested:
        in_p10 = percentile([_capped(v) for v in contested_in], 10)
        out_p95 = percentile([_capped(v) for v in contested_out], 95)
        # Half the smaller separation: entered when ahead by half the lead 9 in 10 windows in
        # the room have, left when behind by half the lead the neighbour has next door.
        margin = int(_clamp(round(min(in_p10, -out_p95) / 2), *MARGIN_RANGE))
    used = current_margin_db if margin is None else float(margin)
    false_lead = _share(elsewhere, lambda w: w.over_enter >= 0 and w.lead >= used)
    fail_hold = _share(in_room, lambda w: w.over_exit < 0 or w.lead <= -used)
    return RoomSuggestion(
        margin_db=margin,
        enter_windows=_windows_for(false_lead, ENTER_WINDOWS_RANGE),
        leave_windows=_windows_for(fail_hold, LEAVE_WINDOWS_RANGE),
        in_count=len(in_room),
        out_count=len(elsewhere),
        in_lead_p10=in_p10,
        out_lead_p95=out_p95,
        false_lead=false_lead,
        fail_hold=fail_hold,
        margin_used=used,
    )


def _capped(lead: float) -> float:
    return _clamp(lead, -LEAD_CAP_DB, LEAD_CAP_DB)


def _share(windows: Sequence[RoomWindow], test: Callable[[RoomWindow], bool]) -> float:
    return sum(1 for w in windows if test(w)) / len(windows)


def _windows_for(chance: float, bounds: tuple[int, int]) -> int:
    """The fewest windows in a row that `chance` per window makes rarer than a false run."""
    low, high = bounds
    for windows in range(low, high + 1):
        if chance**windows <= CHANCE_OF_A_FALSE_RUN:
            return windows
    return high
