"""Every attendance rule as a readable timeline, checked through the pure rules and through
the services on the database (the same table both ways).

Rooms: B-204 and B-210 on floor 2 of building B, B-310 on floor 3, A-101 in building A.
Readers: door-b204 (toggle), pir-b210 (PIR), door-b310 (toggle), in-a101 / out-a101
(entry / exit). Students S1001..S1004, one card each, 5 s debounce.
"""

from __future__ import annotations

import pytest

from attendance.rules.evidence import Policy
from attendance.tests.db_scenario import build_world, raw_events, run_db
from attendance.tests.scenario import Scenario, SessionSpec, run_pure

NINE_TO_TEN = [SessionSpec("MATH", "B-204", "09:00", "10:00")]
ABSENT = ("absent", 0, "")


def absent_others(*present: str) -> dict[str, tuple[str, int, str]]:
    return {s: ABSENT for s in ("S1001", "S1002", "S1003", "S1004") if s not in present}


# fmt: off
SCENARIOS = [
    Scenario(
        "early arrival counts from the start; toggle out at the end",
        NINE_TO_TEN,
        [("08:50", "door-b204", "tap", "S1001"), ("10:00", "door-b204", "tap", "S1001")],
        {"MATH": {"S1001": ("present", 60, ""), **absent_others("S1001")}},
        visits={"S1001": [("B-204", "08:50", "10:00", "")]},
        answers={"e000": "accepted in", "e001": "accepted out"},
    ),
    Scenario(
        "within the grace period is present, after it is late",
        NINE_TO_TEN,
        [
            ("09:09", "door-b204", "tap", "S1001"),
            ("09:12", "door-b204", "tap", "S1002"),
            ("10:00", "door-b204", "tap", "S1001"),
            ("10:00:30", "door-b204", "tap", "S1002"),
        ],
        {
            "MATH": {
                "S1001": ("present", 51, ""),
                "S1002": ("late", 48, ""),
                **absent_others("S1001", "S1002"),
            }
        },
    ),
    Scenario(
        "leaving early with too small a share is left_early; a course can lower the share",
        [
            SessionSpec("MATH", "B-204", "09:00", "10:00"),
            SessionSpec("ART", "B-210", "11:00", "12:00", Policy(min_presence_pct=40)),
        ],
        [
            ("08:58", "door-b204", "tap", "S1001"),
            ("09:30", "door-b204", "tap", "S1001"),
            ("10:58", "pir-b210", "tap", "S1001"),
            ("11:30", "pir-b210", "tap", "S1001"),
        ],
        {
            "MATH": {"S1001": ("left_early", 30, ""), **absent_others("S1001")},
            "ART": {"S1001": ("present", 30, ""), **absent_others("S1001")},
        },
    ),
    Scenario(
        "a second tap within the debounce is a repeat, not an exit",
        NINE_TO_TEN,
        [
            ("09:00", "door-b204", "tap", "S1001"),
            ("09:00:03", "door-b204", "tap", "S1001"),
            ("10:00", "door-b204", "tap", "S1001"),
        ],
        {"MATH": {"S1001": ("present", 60, ""), **absent_others("S1001")}},
        answers={"e000": "accepted in", "e001": "repeat", "e002": "accepted out"},
    ),
    Scenario(
        "toggle: out and back in again; minutes are the sum of the stays",
        NINE_TO_TEN,
        [
            ("09:00", "door-b204", "tap", "S1001"),
            ("09:20", "door-b204", "tap", "S1001"),
            ("09:25", "door-b204", "tap", "S1001"),
            ("10:00", "door-b204", "tap", "S1001"),
        ],
        {"MATH": {"S1001": ("present", 55, ""), **absent_others("S1001")}},
        visits={"S1001": [("B-204", "09:00", "09:20", ""), ("B-204", "09:25", "10:00", "")]},
    ),
    Scenario(
        "entry and exit readers: a second entry does not leave; a reader's own dir wins",
        [SessionSpec("LAB", "A-101", "09:00", "10:00")],
        [
            ("09:00", "in-a101", "tap", "S1001"),
            ("09:30", "in-a101", "tap", "S1001"),
            ("10:00", "out-a101", "tap", "S1001"),
            ("09:00", "door-b204", "tap", "S1002", "out"),
        ],
        {"LAB": {"S1001": ("present", 60, ""), **absent_others("S1001")}},
        visits={"S1001": [("A-101", "09:00", "10:00", "")]},
        answers={
            "e000": "accepted in",
            "e001": "accepted in",
            "e002": "accepted out",
            "e003": "accepted out",
        },
    ),
    Scenario(
        "PIR order decides: outer then inner is in, inner then outer is out",
        [SessionSpec("ART", "B-210", "09:00", "10:00")],
        [
            ("08:59:58", "pir-b210", "outer"),
            ("08:59:59", "pir-b210", "tap", "S1001"),
            ("09:00:00", "pir-b210", "inner"),
            ("09:40:00", "pir-b210", "inner"),
            ("09:40:01", "pir-b210", "tap", "S1001"),
            ("09:40:02", "pir-b210", "outer"),
            # S1002 is not inside, yet the sensors say out: PIR beats the toggle fallback.
            ("09:05:00", "pir-b210", "inner"),
            ("09:05:01", "pir-b210", "tap", "S1002"),
            ("09:05:02", "pir-b210", "outer"),
        ],
        {"ART": {"S1001": ("left_early", 40, ""), **absent_others("S1001")}},
        answers={"e001": "accepted in", "e004": "accepted out", "e007": "accepted out"},
    ),
    Scenario(
        "PIR without a clear order falls back to toggle",
        [SessionSpec("ART", "B-210", "09:00", "10:00")],
        [("09:00", "pir-b210", "tap", "S1001"), ("09:59:59", "pir-b210", "tap", "S1001")],
        {"ART": {"S1001": ("present", 59, ""), **absent_others("S1001")}},
        answers={"e000": "accepted in", "e001": "accepted out"},
    ),
    Scenario(
        "entering another room closes the previous visit at that moment",
        NINE_TO_TEN,
        [("09:00", "door-b204", "tap", "S1001"), ("09:40", "door-b310", "tap", "S1001")],
        {"MATH": {"S1001": ("left_early", 40, ""), **absent_others("S1001")}},
        visits={
            "S1001": [
                ("B-204", "09:00", "09:40", "no exit tap; entered B-310"),
                ("B-310", "09:40", "00:00", "still inside at the end of the day"),
            ]
        },
    ),
    Scenario(
        "a visit still open is closed at its room's last session of the day",
        [
            SessionSpec("MATH", "B-204", "09:00", "10:00"),
            SessionSpec("PHYS", "B-204", "11:00", "12:00"),
        ],
        [("09:00", "door-b204", "tap", "S1001")],
        {
            "MATH": {"S1001": ("present", 60, ""), **absent_others("S1001")},
            "PHYS": {"S1001": ("present", 60, ""), **absent_others("S1001")},
        },
        visits={
            "S1001": [
                (
                    "B-204",
                    "09:00",
                    "12:00",
                    "still inside after the room's last session of the day ended",
                )
            ]
        },
    ),
    Scenario(
        "several cards with one person at the door are flagged, with enough people they are not",
        [SessionSpec("MATH", "B-204", "09:00", "10:00"),
         SessionSpec("ART", "B-210", "11:00", "12:00")],
        [("08:58:00", "door-b204", "outer"), ("08:58:01", "door-b204", "tap", "S1001"),
         ("08:58:02", "door-b204", "tap", "S1002"), ("08:58:03", "door-b204", "tap", "S1003"),
         ("08:58:04", "door-b204", "inner"),
         ("10:58:00", "pir-b210", "outer"), ("10:58:01", "pir-b210", "tap", "S1001"),
         ("10:58:01", "pir-b210", "inner"), ("10:58:02", "pir-b210", "outer"),
         ("10:58:02", "pir-b210", "tap", "S1002"), ("10:58:03", "pir-b210", "inner")],
        {"MATH": {"S1001": ("present", 60, "multi_card_one_motion"),
                  "S1002": ("present", 60, "multi_card_one_motion"),
                  "S1003": ("present", 60, "multi_card_one_motion"),
                  "S1004": ABSENT},
         "ART": {"S1001": ("present", 60, ""), "S1002": ("present", 60, ""),
                 **absent_others("S1001", "S1002")}},
    ),
    Scenario(
        "two rooms closer in time than anyone can walk is impossible travel",
        [SessionSpec("LAB", "A-101", "09:00", "10:00")],
        [
            ("08:55:00", "door-b204", "tap", "S1001"),
            ("08:55:40", "in-a101", "tap", "S1001"),
            ("08:50:00", "door-b204", "tap", "S1002"),
            ("08:53:00", "in-a101", "tap", "S1002"),
            ("08:56:00", "door-b204", "tap", "S1003"),
            ("08:56:40", "door-b310", "tap", "S1003"),
            ("08:57:00", "in-a101", "tap", "S1003"),
        ],
        {
            "LAB": {
                "S1001": ("present", 60, "impossible_travel"),
                "S1002": ("present", 60, ""),
                "S1003": ("present", 60, "impossible_travel"),
                "S1004": ABSENT,
            }
        },
    ),
    Scenario(
        "BLE alone where the course requires a tap is flagged; with a tap it is not",
        [
            SessionSpec("LAB", "A-101", "09:00", "10:00", Policy(tap_required=True)),
            SessionSpec("MATH", "B-204", "11:00", "12:00"),
        ],
        [
            ("09:00", "ble", "A-101", "S1001", "10:00"),
            ("09:00", "in-a101", "tap", "S1002"),
            ("09:01", "ble", "A-101", "S1002", "10:00"),
            ("11:05", "ble", "B-204", "S1003", "12:00"),
        ],
        {
            "LAB": {
                "S1001": ("present", 60, "tap_missing"),
                "S1002": ("present", 60, ""),
                **absent_others("S1001", "S1002"),
            },
            "MATH": {"S1003": ("present", 55, ""), **absent_others("S1003")},
        },
    ),
    Scenario(
        "events listed out of order give the same day (a replayed offline buffer)",
        NINE_TO_TEN,
        [
            ("10:00", "door-b204", "tap", "S1001"),
            ("09:30", "door-b204", "tap", "S1001"),
            ("09:35", "door-b204", "tap", "S1001"),
            ("08:59", "door-b204", "tap", "S1001"),
        ],
        {"MATH": {"S1001": ("present", 55, ""), **absent_others("S1001")}},
        answers={
            "e003": "accepted in",
            "e001": "accepted out",
            "e002": "accepted in",
            "e000": "accepted out",
        },
    ),
]
# fmt: on

IDS = [s.name for s in SCENARIOS]


def _check(result, scenario: Scenario, answers: bool = True) -> None:  # type: ignore[no-untyped-def]
    assert result.records == scenario.expect
    for student, rows in scenario.visits.items():
        assert sorted(result.visits.get(student, [])) == sorted(rows)
    if not answers:
        return
    for event_id, answer in scenario.answers.items():
        assert result.answers[event_id] == answer


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_rules_alone(scenario: Scenario) -> None:
    _check(run_pure(scenario), scenario)


@pytest.mark.django_db
@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_through_the_services(scenario: Scenario) -> None:
    build_world()
    _check(run_db(scenario), scenario)


@pytest.mark.django_db
@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_one_event_per_batch_in_arrival_order(scenario: Scenario) -> None:
    """Records and visits come out the same. The answers (beeps) may not: a tap is answered
    when it arrives, before the motion that follows it or the older taps replayed later."""
    build_world()
    _check(run_db(scenario, [[e] for e in raw_events(scenario)]), scenario, answers=False)
