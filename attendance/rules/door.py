"""Door decisions: which way a person went through, and whether a tap is a repeat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Direction = Literal["in", "out"]
Mode = Literal["entry", "exit", "toggle", "pir"]

# Outer then inner motion within this window means someone walked in (and the reverse, out).
PIR_ORDER_WINDOW = timedelta(seconds=4)


@dataclass(frozen=True)
class Motion:
    sensor: Literal["outer", "inner"]
    at: datetime


def direction_from_pir(motions: list[Motion], tap_at: datetime) -> Direction | None:
    """The order of the last outer and inner motion around a tap, or None when unclear."""
    window = [m for m in motions if abs(m.at - tap_at) <= PIR_ORDER_WINDOW]
    outer = [m.at for m in window if m.sensor == "outer"]
    inner = [m.at for m in window if m.sensor == "inner"]
    if not outer or not inner:
        return None
    first_outer, first_inner = min(outer), min(inner)
    if first_outer == first_inner:
        return None
    return "in" if first_outer < first_inner else "out"


def decide_direction(
    mode: Mode,
    reported: Direction | None,
    inside_now: bool,
    pir_direction: Direction | None = None,
) -> Direction:
    """A reader's own `dir` wins; then its mode; `toggle` and unclear PIR go by presence."""
    if reported is not None:
        return reported
    if mode == "entry":
        return "in"
    if mode == "exit":
        return "out"
    if mode == "pir" and pir_direction is not None:
        return pir_direction
    return "out" if inside_now else "in"


def is_repeat(previous_tap_at: datetime | None, tap_at: datetime, debounce: timedelta) -> bool:
    """The same card on the same reader within the debounce window, in event time."""
    return previous_tap_at is not None and timedelta(0) <= tap_at - previous_tap_at < debounce
