"""The pure rules of absence warnings: the latest run, its level, whether it still stands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from attendance.rules.warnings import Mark, absence_level, latest_absence_run, still_all_absent

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def marks(*statuses: str | None) -> list[Mark]:
    return [Mark(n, START + timedelta(days=n), s) for n, s in enumerate(statuses)]


@pytest.mark.parametrize(
    ("statuses", "run"),
    [
        (("present", "absent", "absent"), [1, 2]),
        (("absent", "absent", "late"), []),
        (("absent", "excused", "absent", "excused"), [0, 2]),  # excused: left out
        (("absent", "left_early", "absent"), [2]),  # any other status breaks the run
        (("absent", None, "absent"), [2]),  # so does a session without a record
        ((), []),
    ],
)
def test_the_latest_run_of_absences(statuses: tuple, run: list[int]) -> None:
    assert [m.session_id for m in latest_absence_run(marks(*statuses))] == run


@pytest.mark.parametrize(
    ("length", "every", "level"), [(2, 3, 0), (3, 3, 3), (5, 3, 3), (6, 3, 6), (4, 0, 0)]
)
def test_levels_come_at_every_multiple(length: int, every: int, level: int) -> None:
    assert absence_level(length, every) == level


def test_a_run_stands_while_every_session_it_named_is_still_an_absence() -> None:
    assert still_all_absent(["absent", "absent"])
    assert not still_all_absent(["absent", "excused"])
    assert not still_all_absent([])
