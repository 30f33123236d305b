"""A seeded simulator of students' phones reporting BLE scan windows, with ground truth.

Geometry: `rooms` classrooms in a row (each `room_w` x `room_d` metres, wall to wall), a
corridor of `corridor_w` metres along their doors, one beacon on each room's ceiling centre.
Students sit at random seats, move between adjacent rooms through the corridor, and now and
then leave the building.

Radio: log-distance path loss, RSSI = P0 - 10 n log10(d) + N(0, sigma) per reading, minus
`wall_db` for each wall the straight line crosses, minus a body/pocket loss per stay, plus a
slowly varying shadowing term per (phone, beacon) and the phone model's own bias (which the
server knows only approximately, as `rssi_offset_db`). Readings below the phone's
sensitivity are not received. Each window reports the median of the readings actually
received and their count.

Phone behaviour: a window every `report_interval_s` with timing jitter, windows missed now
and then, and longer gaps (background limits: the OS suspends the app) at random.

Defaults are deliberately ordinary, not kind: P0 = -59 dBm at 1 m (a typical iBeacon
calibration), n = 2.5 (office with people), 5 dB per interior wall, sigma = 4 dB per reading,
2 dB shadowing with a one-minute correlation, 0-6 dB of body loss, phone biases of -6..+4 dB
known to +-1.5 dB, sensitivity -100 dBm, 10 adverts a window heard with probability 0.6.
"""

from __future__ import annotations

import bisect
import math
import random
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from beacons.presence import BeaconPlace, PresenceInterval, ScanWindow, Sighting

Point = tuple[float, float]
OUTSIDE: Point = (-60.0, -60.0)  # far from the building: no beacon is heard


@dataclass(frozen=True)
class SimConfig:
    rooms: int = 3
    room_w: float = 9.0
    room_d: float = 8.0
    corridor_w: float = 2.5
    beacon_height: float = 2.7
    phone_height: float = 1.0
    p0_dbm: float = -59.0
    path_loss_n: float = 2.5
    wall_db: float = 5.0
    sigma_db: float = 4.0
    shadow_sigma_db: float = 2.0
    shadow_tau_s: float = 60.0
    body_loss_db: tuple[float, float] = (0.0, 6.0)
    phone_biases_db: tuple[float, ...] = (-6.0, -3.0, 0.0, 2.0, 4.0)
    offset_error_db: float = 1.5
    sensitivity_dbm: float = -100.0
    adverts_per_window: int = 10
    capture_prob: float = 0.6
    window_s: float = 10.0
    report_interval_s: float = 12.0
    report_jitter_s: float = 0.8
    missed_window_prob: float = 0.1
    gaps_per_hour: float = 2.0
    gap_s: tuple[float, float] = (40.0, 240.0)
    walk_speed_mps: float = 1.2
    stay_min: tuple[float, float] = (15.0, 50.0)
    corridor_linger_s: tuple[float, float] = (0.0, 90.0)
    leave_building_prob: float = 0.15
    outside_min: tuple[float, float] = (5.0, 20.0)
    # Enter/exit thresholds given to the presence algorithm unless calibrated.
    enter_rssi: float = -82.0
    exit_rssi: float = -90.0

    def room_code(self, index: int) -> str:
        return "ABCDEFGHIJ"[index] if self.rooms <= 10 else f"R{index}"


@dataclass(frozen=True)
class Segment:
    """From `start` (seconds since the simulation began), the student moves from `a` to `b`
    in `duration` seconds (a == b: standing still)."""

    start: float
    duration: float
    a: Point
    b: Point

    def at(self, t: float) -> Point:
        if self.a == self.b or self.duration <= 0:
            return self.a
        f = min(1.0, max(0.0, (t - self.start) / self.duration))
        return (self.a[0] + f * (self.b[0] - self.a[0]), self.a[1] + f * (self.b[1] - self.a[1]))


@dataclass
class SimulatedPhone:
    student: str
    rssi_offset_db: float  # what the server believes this phone model's offset is
    windows: list[ScanWindow] = field(default_factory=list)
    truth: list[tuple[datetime, str | None]] = field(default_factory=list)  # per minute


@dataclass
class Simulation:
    config: SimConfig
    start: datetime
    beacons: list[BeaconPlace]
    phones: list[SimulatedPhone]


class _Building:
    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.width = cfg.rooms * cfg.room_w

    def beacon_xy(self, room: int) -> Point:
        return ((room + 0.5) * self.cfg.room_w, self.cfg.room_d / 2)

    def door(self, room: int) -> Point:
        return ((room + 0.5) * self.cfg.room_w, self.cfg.room_d)

    def corridor_point(self, room: int) -> Point:
        return ((room + 0.5) * self.cfg.room_w, self.cfg.room_d + self.cfg.corridor_w / 2)

    def room_at(self, p: Point) -> int | None:
        x, y = p
        if 0 <= x < self.width and 0 <= y < self.cfg.room_d:
            return int(x // self.cfg.room_w)
        return None

    def seat(self, room: int, rng: random.Random) -> Point:
        margin = 0.6
        x0 = room * self.cfg.room_w
        return (
            rng.uniform(x0 + margin, x0 + self.cfg.room_w - margin),
            rng.uniform(margin, self.cfg.room_d - margin),
        )

    def walls_between(self, p: Point, q: Point) -> int:
        """Walls the straight line p-q crosses: room partitions and the corridor wall."""
        if p == OUTSIDE or q == OUTSIDE:
            return 2
        walls = 0
        (x1, y1), (x2, y2) = p, q
        for k in range(1, self.cfg.rooms):
            wx = k * self.cfg.room_w
            if (x1 - wx) * (x2 - wx) < 0:
                y = y1 + (y2 - y1) * (wx - x1) / (x2 - x1)
                walls += 0 <= y <= self.cfg.room_d
        wy = self.cfg.room_d
        if (y1 - wy) * (y2 - wy) < 0:
            x = x1 + (x2 - x1) * (wy - y1) / (y2 - y1)
            walls += 0 <= x <= self.width
        return walls

    def mean_rssi(self, phone: Point, room: int) -> float:
        cfg = self.cfg
        bx, by = self.beacon_xy(room)
        dz = cfg.beacon_height - cfg.phone_height
        d = math.sqrt((phone[0] - bx) ** 2 + (phone[1] - by) ** 2 + dz**2)
        loss = 10 * cfg.path_loss_n * math.log10(max(d, 0.5))
        return cfg.p0_dbm - loss - cfg.wall_db * self.walls_between(phone, (bx, by))


def _itinerary(b: _Building, total_s: float, rng: random.Random) -> list[tuple[Segment, float]]:
    """Segments with the body loss that applies during each (phone in a pocket, a bag...)."""
    cfg = b.cfg
    room = rng.randrange(cfg.rooms)
    t = 0.0
    plan: list[tuple[Segment, float]] = []

    def add(duration: float, a: Point, b_: Point, body: float) -> None:
        nonlocal t
        plan.append((Segment(t, duration, a, b_), body))
        t += duration

    def walk(a: Point, c: Point) -> None:
        add(math.dist(a, c) / cfg.walk_speed_mps, a, c, rng.uniform(*cfg.body_loss_db))

    seat = b.seat(room, rng)
    while t < total_s:
        add(rng.uniform(*cfg.stay_min) * 60, seat, seat, rng.uniform(*cfg.body_loss_db))
        walk(seat, b.door(room))
        walk(b.door(room), b.corridor_point(room))
        here = b.corridor_point(room)
        add(rng.uniform(*cfg.corridor_linger_s), here, here, rng.uniform(*cfg.body_loss_db))
        if rng.random() < cfg.leave_building_prob:
            add(rng.uniform(*cfg.outside_min) * 60, OUTSIDE, OUTSIDE, 0.0)
            room = rng.randrange(cfg.rooms)
            here = b.corridor_point(room)
        else:
            room = min(cfg.rooms - 1, max(0, room + rng.choice((-1, 1))))
            walk(here, b.corridor_point(room))
            here = b.corridor_point(room)
        walk(here, b.door(room))
        seat = b.seat(room, rng)
        walk(b.door(room), seat)
    return plan


def _where(plan: list[tuple[Segment, float]], starts: list[float], t: float) -> tuple[Point, float]:
    i = max(0, bisect.bisect_right(starts, t) - 1)
    seg, body = plan[i]
    return seg.at(t), body


def _report_times(cfg: SimConfig, total_s: float, rng: random.Random) -> Iterator[float]:
    t = rng.uniform(cfg.window_s, cfg.window_s + cfg.report_interval_s)
    gap_rate = cfg.gaps_per_hour / 3600.0
    while t < total_s:
        if rng.random() < gap_rate * cfg.report_interval_s:
            t += rng.uniform(*cfg.gap_s)  # the OS suspended the app for a while
        elif rng.random() >= cfg.missed_window_prob:
            yield t
        t += cfg.report_interval_s + rng.gauss(0, cfg.report_jitter_s)


def _sightings(
    b: _Building,
    plan: list[tuple[Segment, float]],
    starts: list[float],
    t: float,
    bias: float,
    shadow: list[float],
    rng: random.Random,
) -> list[Sighting]:
    """One scan window ending at `t`: per beacon, the median of the readings received."""
    cfg = b.cfg
    step = cfg.window_s / cfg.adverts_per_window
    places = [
        _where(plan, starts, t - cfg.window_s + (k + 0.5) * step)
        for k in range(cfg.adverts_per_window)
    ]
    sightings = []
    for room in range(cfg.rooms):
        readings = []
        for where, body in places:
            rssi = b.mean_rssi(where, room) - body + bias + shadow[room]
            rssi += rng.gauss(0, cfg.sigma_db)
            if rssi >= cfg.sensitivity_dbm and rng.random() < cfg.capture_prob:
                readings.append(rssi)
        if readings:
            median = round(statistics.median(readings))
            sightings.append(Sighting(room + 1, median, len(readings)))
    return sightings


class WalkingPhone:
    """One phone walking the simulated building, sampled live: `window(t)` is what it hears
    in the scan window ending `t` seconds after the walk began (t increasing). For the MQTT
    simulator, which publishes these as CONTRACT reports; beacon ids are 1..rooms."""

    def __init__(self, config: SimConfig, seed: int, total_s: float) -> None:
        self._rng = random.Random(seed)
        self._building = _Building(config)
        self._plan = _itinerary(self._building, total_s, self._rng)
        self._starts = [seg.start for seg, _ in self._plan]
        self.bias = self._rng.choice(config.phone_biases_db)
        self._shadow = [0.0] * config.rooms
        self._last_t = 0.0

    def room_at(self, t: float) -> str | None:
        index = self._building.room_at(_where(self._plan, self._starts, t)[0])
        return None if index is None else self._building.cfg.room_code(index)

    def window(self, t: float) -> list[Sighting]:
        cfg = self._building.cfg
        rho = math.exp(-max(0.0, t - self._last_t) / cfg.shadow_tau_s)
        self._shadow = [
            rho * s + math.sqrt(1 - rho * rho) * self._rng.gauss(0, cfg.shadow_sigma_db)
            for s in self._shadow
        ]
        self._last_t = t
        return _sightings(
            self._building, self._plan, self._starts, t, self.bias, self._shadow, self._rng
        )


def _simulate_phone(
    b: _Building, index: int, start: datetime, total_s: float, rng: random.Random
) -> SimulatedPhone:
    cfg = b.cfg
    plan = _itinerary(b, total_s, rng)
    starts = [seg.start for seg, _ in plan]
    bias = rng.choice(cfg.phone_biases_db)
    believed = round(-bias + rng.gauss(0, cfg.offset_error_db))
    phone = SimulatedPhone(student=f"S{1001 + index}", rssi_offset_db=believed)
    shadow = [0.0] * cfg.rooms
    last_t = 0.0
    for t in _report_times(cfg, total_s, rng):
        rho = math.exp(-(t - last_t) / cfg.shadow_tau_s)
        shadow = [
            rho * s + math.sqrt(1 - rho * rho) * rng.gauss(0, cfg.shadow_sigma_db) for s in shadow
        ]
        last_t = t
        sightings = _sightings(b, plan, starts, t, bias, shadow, rng)
        phone.windows.append(
            ScanWindow(start + timedelta(seconds=t), tuple(sightings), cfg.window_s)
        )
    for minute in range(int(total_s // 60)):
        t = minute * 60 + 30.0
        room_index = b.room_at(_where(plan, starts, t)[0])
        truth = None if room_index is None else cfg.room_code(room_index)
        phone.truth.append((start + timedelta(seconds=t), truth))
    return phone


def simulate(
    students: int = 30,
    hours: float = 8.0,
    *,
    seed: int = 1,
    config: SimConfig | None = None,
    start: datetime | None = None,
) -> Simulation:
    cfg = config or SimConfig()
    begin = start or datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    building = _Building(cfg)
    rng = random.Random(seed)
    beacons = [
        BeaconPlace(room + 1, cfg.room_code(room), cfg.enter_rssi, cfg.exit_rssi)
        for room in range(cfg.rooms)
    ]
    phones = [
        _simulate_phone(building, i, begin, hours * 3600, random.Random(rng.getrandbits(64)))
        for i in range(students)
    ]
    return Simulation(cfg, begin, beacons, phones)


# -- scoring ----------------------------------------------------------------------------------

Transition = tuple[datetime, str | None]  # when, and the state entered (None: away)


@dataclass(frozen=True)
class Score:
    correct_minutes: int
    minutes: int
    spurious_transitions: int
    hours: float

    @property
    def accuracy(self) -> float:
        return self.correct_minutes / self.minutes if self.minutes else 0.0

    @property
    def flaps_per_student_hour(self) -> float:
        return self.spurious_transitions / self.hours if self.hours else 0.0

    def __add__(self, other: Score) -> Score:
        return Score(
            self.correct_minutes + other.correct_minutes,
            self.minutes + other.minutes,
            self.spurious_transitions + other.spurious_transitions,
            self.hours + other.hours,
        )


def room_at(intervals: list[PresenceInterval], at: datetime) -> str | None:
    for interval in intervals:
        if interval.start <= at < interval.end:
            return interval.room
    return None


def predicted_transitions(intervals: list[PresenceInterval]) -> list[Transition]:
    changes: list[Transition] = []
    previous_end: datetime | None = None
    for interval in sorted(intervals, key=lambda i: i.start):
        if previous_end is not None and interval.start > previous_end:
            changes.append((previous_end, None))
        changes.append((interval.start, interval.room))
        previous_end = interval.end
    if previous_end is not None and intervals and not intervals[-1].open:
        changes.append((previous_end, None))
    return changes


def true_transitions(truth: list[tuple[datetime, str | None]]) -> list[Transition]:
    changes: list[Transition] = []
    state: str | None = None
    for at, room in truth:
        if room != state:
            # Between this minute sample and the one before (the first: from the start).
            changes.append((at - timedelta(seconds=30), room))
            state = room
    return changes


def score_phone(
    phone: SimulatedPhone, intervals: list[PresenceInterval], tolerance_s: float = 180.0
) -> Score:
    """Minutes where the predicted room (or away) equals the truth, and predicted changes of
    state with no true change to the same state within `tolerance_s` (flaps)."""
    correct = sum(room_at(intervals, at) == room for at, room in phone.truth)
    unmatched = true_transitions(phone.truth)
    spurious = 0
    for when, state in predicted_transitions(intervals):
        match = next(
            (
                t
                for t in unmatched
                if t[1] == state and abs((t[0] - when).total_seconds()) <= tolerance_s
            ),
            None,
        )
        if match is None:
            spurious += 1
        else:
            unmatched.remove(match)
    return Score(correct, len(phone.truth), spurious, len(phone.truth) / 60)


def labelled_medians(sim: Simulation) -> dict[int, tuple[list[float], list[float]]]:
    """Per beacon: the offset-corrected medians heard while the phone's owner was in the
    beacon's room, and those heard while elsewhere, as door visits would label them."""
    rooms = {b.beacon_id: b.room for b in sim.beacons}
    samples: dict[int, tuple[list[float], list[float]]] = {b: ([], []) for b in rooms}
    for phone in sim.phones:
        truth = dict(phone.truth)
        for window in phone.windows:
            minute = window.at.replace(second=30, microsecond=0)
            if minute not in truth:
                continue
            where = truth[minute]
            for s in window.sightings:
                in_room, elsewhere = samples[s.beacon_id]
                value = s.rssi + phone.rssi_offset_db
                (in_room if where == rooms[s.beacon_id] else elsewhere).append(value)
    return samples
