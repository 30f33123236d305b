"""The phone simulator is reproducible and physically sensible; the bench meets its floor."""

from __future__ import annotations

import statistics
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from beacons.simulation import SimConfig, labelled_medians, simulate


def test_the_same_seed_gives_the_same_day() -> None:
    a, b = simulate(3, 0.5, seed=11), simulate(3, 0.5, seed=11)
    assert [p.windows for p in a.phones] == [p.windows for p in b.phones]
    assert [p.truth for p in a.phones] == [p.truth for p in b.phones]
    assert [p.windows for p in simulate(3, 0.5, seed=12).phones] != [p.windows for p in a.phones]


def test_truth_covers_every_minute_and_names_rooms_or_away() -> None:
    sim = simulate(4, 2, seed=3)
    for phone in sim.phones:
        assert len(phone.truth) == 120
        assert {room for _, room in phone.truth} <= {"A", "B", "C", None}


def test_reports_look_like_a_phone_in_the_background() -> None:
    sim = simulate(4, 2, seed=5)
    for phone in sim.phones:
        gaps = [
            (b.at - a.at).total_seconds()
            for a, b in zip(phone.windows, phone.windows[1:], strict=False)
        ]
        assert 0.6 * 600 < len(phone.windows) < 600  # about one report every 12 s, minus losses
        assert statistics.pstdev(gaps) > 0.1  # jitter
        assert max(gaps) > 24  # missed windows or longer gaps
        assert all(-101 <= s.rssi <= -30 for w in phone.windows for s in w.sightings)


def test_own_room_is_louder_than_the_neighbours_but_they_overlap_with_noise() -> None:
    samples = labelled_medians(simulate(8, 2, seed=9))
    for in_room, elsewhere in samples.values():
        assert statistics.median(in_room) > statistics.median(elsewhere) + 8
        assert max(elsewhere) > min(in_room)  # not trivially separable


def test_more_noise_means_more_spread() -> None:
    quiet = labelled_medians(simulate(4, 1, seed=2, config=SimConfig(sigma_db=0.5)))
    noisy = labelled_medians(simulate(4, 1, seed=2, config=SimConfig(sigma_db=8)))
    assert statistics.pstdev(noisy[2][0]) > statistics.pstdev(quiet[2][0])


def test_a_small_bench_meets_the_floor() -> None:
    out = StringIO()
    call_command("bench_presence", students=6, hours=1.5, seed=7, stdout=out, stderr=StringIO())
    last = out.getvalue().strip().splitlines()[-1]
    figures = dict(part.split("=") for part in last.split())
    assert set(figures) == {"accuracy", "flaps_per_student_hour"}
    assert float(figures["accuracy"]) >= 0.9
    assert float(figures["flaps_per_student_hour"]) <= 2.0


def test_bench_refuses_nonsense() -> None:
    with pytest.raises(CommandError):
        call_command("bench_presence", students=0, stdout=StringIO(), stderr=StringIO())
