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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
