"""Attendance is a function of the evidence: any arrival order, any split into batches, any
redelivery, with the tick finalising in between or not, gives the same visits and records
as the pure rules applied to the whole day at once."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attendance.rules.evidence import Policy
from attendance.tests.db_scenario import build_timetable, build_world, raw_events, run_db
from attendance.tests.scenario import STUDENTS, Scenario, SessionSpec, run_pure

SESSIONS = [
    SessionSpec("MATH", "B-204", "09:00", "10:00"),
    SessionSpec("ART", "B-210", "10:00", "11:00", Policy(grace_minutes=5)),
    SessionSpec("LAB", "A-101", "11:00", "12:00", Policy(tap_required=True)),
]
TAP_READERS = ["door-b204", "pir-b210", "door-b310", "in-a101", "out-a101"]
PIR_READERS = ["pir-b210", "door-b204"]


def _clock(minute: int, second: int) -> str:
    total = 8 * 3600 + 40 * 60 + minute * 60 + second
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}"


# Seconds cluster on a few values so debounce, PIR windows and crowded doors all happen.
moments = st.builds(_clock, st.integers(0, 215), st.sampled_from([0, 1, 2, 3, 4, 7, 30]))
tap = st.tuples(moments, st.sampled_from(TAP_READERS), st.just("tap"), st.sampled_from(STUDENTS))
motion = st.tuples(moments, st.sampled_from(PIR_READERS), st.sampled_from(["outer", "inner"]))
timelines = st.lists(st.one_of(tap, tap, motion), min_size=1, max_size=14)


@st.composite
def deliveries(draw: st.DrawFn, count: int) -> tuple[list[list[int]], list[bool]]:
    """A permutation of event indexes, cut into batches, with some events sent again."""
    order = draw(st.permutations(range(count)))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, count - 1)), max_size=count)))
    batches = [list(order[a:b]) for a, b in zip([0, *cuts], [*cuts, count], strict=True)]
    batches = [b for b in batches if b]
    for again in draw(st.lists(st.integers(0, count - 1), max_size=3)):
        batches[draw(st.integers(0, len(batches) - 1))].append(again)
    ticks = draw(st.lists(st.booleans(), min_size=len(batches), max_size=len(batches)))
    return batches, ticks


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), rows=timelines)
def test_any_order_batching_or_redelivery_gives_the_same_day(data: st.DataObject, rows) -> None:  # type: ignore[no-untyped-def]
    scenario = Scenario("generated", SESSIONS, rows, expect={})
    expected = run_pure(scenario)
    batches, ticks = data.draw(deliveries(len(rows)))
    with transaction.atomic():
        if not _world_built():
            build_world()
        build_timetable(scenario)
        events = raw_events(scenario)
        result = run_db(scenario, [[events[i] for i in b] for b in batches], ticks, timetable=False)
        transaction.set_rollback(True)
    assert result.records == expected.records
    assert result.visits == {s: sorted(v, key=lambda r: (r[1], r[0]))
                             for s, v in expected.visits.items()}  # fmt: skip


def _world_built() -> bool:
    from attendance.models import Room

    return Room.objects.exists()
