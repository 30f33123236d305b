"""The pure rules on their own: records at the edges, and replay from a checkpoint."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from attendance.rules.evidence import EventKey, Policy, SessionInfo, Tap, VisitSpan
from attendance.rules.records import compute_record
from attendance.rules.visits import DayFrame, checkpoint, plan_day
from attendance.tests.scenario import at

SESSION = SessionInfo("s", "R", at("09:00"), at("10:00"), Policy())


def test_a_running_session_counts_an_open_visit_up_to_now_and_never_says_left_early() -> None:
    open_visit = VisitSpan("R", at("09:00"), None)
    live = compute_record(SESSION, [open_visit], now=at("09:20"))
    assert (live.status, live.minutes_present) == ("present", 20)
    gone = VisitSpan("R", at("09:00"), at("09:10"))
    assert compute_record(SESSION, [gone], now=at("09:20")).status == "present"
    assert compute_record(SESSION, [gone], now=at("10:00")).status == "left_early"


def test_first_seen_reports_an_early_arrival_within_the_early_window_only() -> None:
    early = compute_record(SESSION, [VisitSpan("R", at("08:50"), at("10:00"))], at("11:00"))
    assert (early.first_seen, early.minutes_present) == (at("08:50"), 60)
    earlier = compute_record(SESSION, [VisitSpan("R", at("08:00"), at("10:00"))], at("11:00"))
    assert earlier.first_seen == at("08:45")


def test_visits_in_another_room_or_before_the_start_do_not_count() -> None:
    elsewhere = VisitSpan("Q", at("09:00"), at("10:00"))
    before = VisitSpan("R", at("08:50"), at("08:59"))
    assert compute_record(SESSION, [elsewhere, before], at("11:00")).status == "absent"


ROOMS = ["R", "Q"]
taps = st.lists(
    st.tuples(
        st.integers(0, 600), st.sampled_from(ROOMS), st.sampled_from(["toggle", "entry", "exit"])
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200)
@given(rows=taps, cut=st.integers(0, 600))
def test_replaying_from_a_checkpoint_equals_replaying_the_whole_day(rows, cut) -> None:  # type: ignore[no-untyped-def]
    base = at("09:00")
    day = [
        Tap(EventKey(base + timedelta(seconds=10 * s), f"d-{room}-{mode}", f"e{n}"), "04AA",
            "S", room, mode, 5)  # type: ignore[arg-type]
        for n, (s, room, mode) in enumerate(rows)
    ]  # fmt: skip
    frame = DayFrame(at("00:00") + timedelta(days=1), {"R": at("09:30")})
    now = at("12:00")
    whole = plan_day(day, {}, frame, now)
    moment = base + timedelta(seconds=10 * cut)
    start = checkpoint(whole.visits, [t for t in day if t.ts < moment], moment)
    resumed = plan_day([t for t in day if t.ts >= moment], {}, frame, now, start)
    assert resumed.visits == whole.visits
    assert all(whole.verdicts[k] == v for k, v in resumed.verdicts.items())
