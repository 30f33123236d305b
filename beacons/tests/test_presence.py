"""BLE presence from scan windows: holds, margins, smoothing, silence."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from beacons.presence import (
    BeaconPlace,
    PresenceConfig,
    RoomThresholds,
    ScanWindow,
    Sighting,
    presence_intervals,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STEP = 12  # seconds between reports
BEACONS = [
    BeaconPlace(1, "A", enter_rssi=-80, exit_rssi=-88),
    BeaconPlace(2, "B", enter_rssi=-80, exit_rssi=-88),
    BeaconPlace(3, "C", enter_rssi=-80, exit_rssi=-88),
]


def window(i: int, **rssi_by_room: float) -> ScanWindow:
    ids = {"A": 1, "B": 2, "C": 3}
    sightings = tuple(Sighting(ids[room], value, 8) for room, value in rssi_by_room.items())
    return ScanWindow(T0 + timedelta(seconds=STEP * (i + 1)), sightings)


def run(windows: list[ScanWindow], **kwargs: object) -> list:
    return presence_intervals(windows, BEACONS, **kwargs)  # type: ignore[arg-type]


def test_a_phone_clearly_in_one_room_is_there_from_the_first_window() -> None:
    windows = [window(i, A=-65, B=-85) for i in range(20)]
    [interval] = run(windows)
    assert interval.room == "A"
    assert interval.start == windows[0].start  # backdated to where the evidence began
    assert interval.end == windows[-1].at
    assert interval.open
    assert interval.confidence > 0.8


def test_one_strong_window_is_not_enough_to_enter() -> None:
    windows = [window(0, A=-95), window(1, A=-65), window(2, A=-95), window(3, A=-95)]
    assert run(windows, config=PresenceConfig(smoothing_windows=1)) == []


def test_two_windows_in_a_row_enter() -> None:
    windows = [window(0, A=-95), window(1, A=-65), window(2, A=-65)]
    [interval] = run(windows, config=PresenceConfig(smoothing_windows=1))
    assert interval.start == windows[1].start


def test_no_room_when_two_rooms_are_too_close_to_call() -> None:
    windows = [window(i, A=-70, B=-72) for i in range(10)]
    assert run(windows) == []


def test_moving_to_the_next_room_closes_one_stay_and_opens_the_other() -> None:
    windows = [window(i, A=-65, B=-85) for i in range(10)]
    windows += [window(i, A=-85, B=-65) for i in range(10, 20)]
    first, second = run(windows)
    assert (first.room, second.room) == ("A", "B")
    assert not first.open and second.open
    assert first.end <= second.start
    # The change showed in window 10 (the smoothed median turns a window later); the
    # intervals are placed there, not where the decision was finally taken.
    assert abs((first.end - windows[10].start).total_seconds()) <= STEP
    assert abs((second.start - windows[10].start).total_seconds()) <= 2 * STEP


def test_a_single_noisy_window_does_not_flap() -> None:
    windows = [window(i, A=-66, B=-84) for i in range(30)]
    windows[12] = window(12, A=-90, B=-62)  # one wild window
    windows[20] = window(20, B=-70)  # and one where A was missed entirely
    [interval] = run(windows)
    assert interval.room == "A"


def test_a_room_clearly_seen_elsewhere_is_left_at_once() -> None:
    cfg = PresenceConfig(smoothing_windows=1, leave_windows=10)
    windows = [window(i, A=-65, B=-90) for i in range(5)]
    windows += [window(i, A=-92, C=-60) for i in range(5, 8)]
    first, *_ = run(windows, config=cfg)
    assert first.room == "A"
    assert first.end <= windows[5].at  # left in the first window that showed C clearly


def test_fading_below_exit_leaves_after_three_windows() -> None:
    cfg = PresenceConfig(smoothing_windows=1)
    windows = [window(i, A=-70) for i in range(5)] + [window(i, A=-95) for i in range(5, 8)]
    [interval] = run(windows, config=cfg)
    assert not interval.open
    assert windows[4].at <= interval.end <= windows[5].start
    two_bad = run(windows[:7], config=cfg)
    assert two_bad[0].open  # two weak windows are not yet a departure


def test_empty_reports_are_evidence_of_absence() -> None:
    windows = [window(i, A=-65) for i in range(6)] + [window(i) for i in range(6, 12)]
    [interval] = run(windows)
    assert not interval.open
    assert interval.end < windows[7].at


def test_silence_is_unknown_until_the_timeout() -> None:
    windows = [window(i, A=-65) for i in range(6)]
    # The phone goes quiet for four minutes, then reports from the same room.
    windows += [window(i, A=-65) for i in range(26, 30)]
    [interval] = run(windows)  # default timeout: 5 minutes
    assert interval.room == "A"
    assert interval.end == windows[-1].at


def test_silence_beyond_the_timeout_is_away_from_the_last_evidence() -> None:
    windows = [window(i, A=-65) for i in range(6)]
    windows += [window(i, A=-65) for i in range(40, 44)]  # 34 windows, about 7 minutes, quiet
    first, second = run(windows)
    assert first.end == windows[5].at
    assert second.start == windows[6].start


def test_finish_at_now_keeps_a_recent_stay_open_and_closes_a_stale_one() -> None:
    windows = [window(i, A=-65) for i in range(6)]
    now = windows[-1].at + timedelta(minutes=2)
    [recent] = run(windows, now=now)
    assert recent.open and recent.end == now
    [stale] = run(windows, now=windows[-1].at + timedelta(minutes=10))
    assert not stale.open and stale.end == windows[-1].at


def test_the_phone_model_offset_is_applied() -> None:
    # This phone reads 8 dB low: -85 is really -77, above the enter threshold of -80.
    windows = [window(i, A=-85) for i in range(6)]
    assert run(windows) == []
    [interval] = run(windows, rssi_offset_db=8)
    assert interval.room == "A"


def test_thresholds_are_per_room() -> None:
    beacons = [BeaconPlace(1, "A", -70, -78), BeaconPlace(2, "B", -90, -95)]
    windows = [window(i, A=-75, B=-86) for i in range(6)]
    # A is louder in dB but below its own threshold; B is above its own, by 4 dB.
    [interval] = presence_intervals(windows, beacons)
    assert interval.room == "B"


def test_unknown_beacons_and_out_of_order_windows_are_harmless() -> None:
    windows = [window(i, A=-65) for i in range(6)]
    noisy = [*reversed(windows), ScanWindow(windows[2].at, (Sighting(99, -40, 9),))]
    [interval] = run(noisy)
    assert interval.room == "A"


@pytest.mark.parametrize("margin", [2.0, 8.0])
def test_the_margin_decides_how_clear_a_lead_must_be(margin: float) -> None:
    windows = [window(i, A=-70, B=-75) for i in range(6)]  # A leads by 5 dB
    result = run(windows, config=PresenceConfig(margin_db=margin))
    assert bool(result) == (margin <= 5)


def test_a_tracker_stopped_and_rebuilt_from_its_state_at_any_point_goes_on_the_same() -> None:
    """The state is plain JSON and carries everything: stopping after any window, storing
    the state and resuming from it gives the intervals an uninterrupted tracker gives."""
    import json
    import random

    from beacons.presence import PresenceTracker
    from beacons.simulation import simulate

    sim = simulate(4, 1.0, seed=7)
    for phone in sim.phones:
        whole = PresenceTracker(sim.beacons, phone.rssi_offset_db)
        for w in phone.windows:
            whole.feed(w)
        expected = whole.finish()
        assert expected, "the simulated student went somewhere"
        rng = random.Random(phone.student)
        stops = sorted(rng.sample(range(len(phone.windows)), 12))
        tracker = PresenceTracker(sim.beacons, phone.rssi_offset_db)
        taken: list = []
        for i, w in enumerate(phone.windows):
            tracker.feed(w)
            if i in stops:
                taken += tracker.take_closed()
                state = json.loads(json.dumps(tracker.state()))
                tracker = PresenceTracker.from_state(state, sim.beacons, phone.rssi_offset_db)
        assert taken + tracker.finish() == expected


def test_a_rooms_own_margin_decides_entering_that_room() -> None:
    windows = [window(i, A=-70, B=-75) for i in range(6)]  # A leads B by 5 dB
    strict_a = PresenceConfig(margin_db=2.0, rooms={"A": RoomThresholds(margin_db=8.0)})
    assert run(windows, config=strict_a) == []
    strict_b = PresenceConfig(margin_db=2.0, rooms={"B": RoomThresholds(margin_db=8.0)})
    [interval] = run(windows, config=strict_b)  # B's margin is not A's
    assert interval.room == "A"


def test_a_rooms_own_margin_decides_holding_it() -> None:
    # In A, then B comes within 6 dB ahead: A's own margin of 8 still holds, 4 does not.
    windows = [window(i, A=-65, B=-90) for i in range(5)]
    windows += [window(i, A=-72, B=-66) for i in range(5, 12)]
    cfg = PresenceConfig(smoothing_windows=1, clear_margin_db=30)
    [held] = run(windows, config=replace(cfg, rooms={"A": RoomThresholds(margin_db=8.0)}))
    assert held.room == "A" and held.open
    left = run(windows, config=cfg)
    assert left[0].room == "A" and not left[0].open


def test_a_rooms_own_windows_decide_when_it_is_entered_and_left() -> None:
    cfg = PresenceConfig(smoothing_windows=1)
    enter = [window(0, A=-95), window(1, A=-65), window(2, A=-65), window(3, A=-65)]
    slow = replace(cfg, rooms={"A": RoomThresholds(enter_windows=3)})
    assert run(enter[:3], config=cfg) and not run(enter[:3], config=slow)
    [late] = run(enter, config=slow)
    assert late.start == enter[1].start  # still backdated to where the evidence began
    fade = [window(i, A=-70) for i in range(5)] + [window(i, A=-95) for i in range(5, 7)]
    quick = replace(cfg, rooms={"A": RoomThresholds(leave_windows=2)})
    assert run(fade, config=cfg)[0].open
    assert not run(fade, config=quick)[0].open


def test_room_thresholds_refuse_values_that_cannot_work() -> None:
    with pytest.raises(ValueError, match="margin"):
        RoomThresholds(margin_db=0)
    with pytest.raises(ValueError, match="windows"):
        RoomThresholds(leave_windows=0)
