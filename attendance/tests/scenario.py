"""Readable timelines for the engine's tests, run through the pure rules or the database.

A scenario is a list of rows in the school's local time on one day:
    ("09:02", "door-b204", "tap", "S1001")          a card tap (direction from the reader)
    ("09:02", "door-b204", "tap", "S1001", "out")   a tap whose reader sent `dir`
    ("09:02:01", "pir-b210", "outer")               a PIR motion event
    ("09:00", "ble", "B-204", "S1001", "09:50")     a BLE visit (made directly: BLE comes later)
and an expected table per course session: {"S1001": ("late", 48, "impossible_travel")}.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from attendance.rules.door import Motion
from attendance.rules.evidence import EventKey, Policy, SessionInfo, Tap, VisitSpan
from attendance.rules.proxy import (
    Place,
    ReaderTap,
    TravelModel,
    impossible_travel_findings,
    multi_card_findings,
)
from attendance.rules.records import compute_record
from attendance.rules.visits import DayFrame, plan_day

ZONE = zoneinfo.ZoneInfo("Europe/London")
DAY = date(2026, 3, 2)  # a Monday in the past, so every session has ended
ROOMS = {"B-204": Place("B", 2), "B-210": Place("B", 2), "B-310": Place("B", 3),
         "A-101": Place("A", 1)}  # fmt: skip
READERS = {  # device -> (room, mode)
    "door-b204": ("B-204", "toggle"),
    "pir-b210": ("B-210", "pir"),
    "door-b310": ("B-310", "toggle"),
    "in-a101": ("A-101", "entry"),
    "out-a101": ("A-101", "exit"),
}
STUDENTS = ("S1001", "S1002", "S1003", "S1004")
CARDS = {number: f"04{index:06X}" for index, number in enumerate(STUDENTS, start=1)}
DEBOUNCE_S = 5


def at(clock: str, day: date = DAY) -> datetime:
    hour, minute, *second = (int(p) for p in clock.split(":"))
    local = datetime.combine(day, time(hour, minute, second[0] if second else 0), tzinfo=ZONE)
    return local.astimezone(zoneinfo.ZoneInfo("UTC"))


@dataclass(frozen=True)
class SessionSpec:
    course: str
    room: str
    start: str
    end: str
    policy: Policy = field(default_factory=Policy)
    students: tuple[str, ...] = STUDENTS


@dataclass
class Scenario:
    name: str
    sessions: list[SessionSpec]
    events: list[tuple[str, ...]]
    expect: dict[str, dict[str, tuple[str, int, str]]]  # course -> student -> row
    visits: dict[str, list[tuple[str, str, str | None, str]]] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)  # event id -> "accepted in" etc.

    def taps_and_motions(self) -> tuple[list[dict], list[dict], list[dict]]:
        """Rows as plain dicts with stable event ids: taps, motions, BLE visits."""
        taps, motions, ble = [], [], []
        for n, row in enumerate(self.events):
            if row[1] == "ble":
                ble.append({"room": row[2], "student": row[3], "from": at(row[0]),
                            "to": at(row[4])})  # fmt: skip
            elif row[2] == "tap":
                reported = row[4] if len(row) > 4 else None
                taps.append({"sender": row[1], "id": f"e{n:03d}", "ts": at(row[0]),
                             "uid": CARDS[row[3]], "dir": reported})  # fmt: skip
            else:
                motions.append({"sender": row[1], "id": f"e{n:03d}", "ts": at(row[0]),
                                "sensor": row[2]})  # fmt: skip
        return taps, motions, ble


@dataclass
class Result:
    """What the engine produced, in the scenario's own terms."""

    records: dict[str, dict[str, tuple[str, int, str]]]
    visits: dict[str, list[tuple[str, str, str | None, str]]]
    answers: dict[str, str]


def local_clock(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    local = moment.astimezone(ZONE)
    return local.strftime("%H:%M:%S") if local.second else local.strftime("%H:%M")


def run_pure(scenario: Scenario, now: datetime | None = None) -> Result:
    """Compose the rules the way the services do, with no database."""
    now = now or at("23:59:59") + timedelta(days=1)
    taps_rows, motion_rows, ble_rows = scenario.taps_and_motions()
    student_of = {uid: number for number, uid in CARDS.items()}
    taps = [
        Tap(EventKey(r["ts"], r["sender"], r["id"]), r["uid"], student_of[r["uid"]],
            READERS[r["sender"]][0], READERS[r["sender"]][1], DEBOUNCE_S, r["dir"])  # type: ignore[arg-type]
        for r in taps_rows
    ]  # fmt: skip
    motions: dict[str, list[Motion]] = defaultdict(list)
    for r in motion_rows:
        motions[r["sender"]].append(Motion(r["sensor"], r["ts"]))
    sessions = [
        SessionInfo(s.course, s.room, at(s.start), at(s.end), s.policy) for s in scenario.sessions
    ]
    last_end: dict[str, datetime] = {}
    for s in sessions:
        last_end[s.room] = max(last_end.get(s.room, s.ends_at), s.ends_at)
    frame = DayFrame(at("00:00") + timedelta(days=1), last_end)
    visits: dict[str, list[VisitSpan]] = {}
    answers: dict[str, str] = {}
    flags: dict[tuple[str, str], set[str]] = defaultdict(set)  # (course, student)
    findings = []
    for student in STUDENTS:
        mine = [t for t in taps if t.student == student]
        plan = plan_day(mine, motions, frame, now)
        visits[student] = plan.visits
        for key, verdict in plan.verdicts.items():
            answers[key.event_id] = f"{verdict.result} {verdict.dir or ''}".strip()
        accepted = [t for t in mine if plan.verdicts[t.key].result == "accepted"]
        findings += impossible_travel_findings(accepted, ROOMS, TravelModel())
    for sender, (room, _) in READERS.items():
        here = [ReaderTap(t.key, t.uid, t.student) for t in taps if t.sender == sender]
        findings += multi_card_findings(sender, room, here, motions[sender], [t.key for t in here])
    for f in findings:
        for s in sessions:
            early = timedelta(minutes=s.policy.early_minutes)
            if s.room == f.room and s.starts_at - early <= f.at < s.ends_at:
                flags[(s.key, f.student)].add(f.kind)
    for r in ble_rows:
        visits[r["student"]].append(VisitSpan(r["room"], r["from"], r["to"], "ble"))
    records: dict[str, dict[str, tuple[str, int, str]]] = {}
    for spec, s in zip(scenario.sessions, sessions, strict=True):
        table = records.setdefault(spec.course, {})
        for student in spec.students:
            out = compute_record(s, visits[student], now)
            kinds = sorted(set(out.flags) | flags[(s.key, student)])
            table[student] = (out.status, out.minutes_present, ",".join(kinds))
    return Result(records, {s: [_visit_row(v) for v in vs if v.source == "door"]
                            for s, vs in visits.items() if vs}, answers)  # fmt: skip


def _visit_row(v: VisitSpan) -> tuple[str, str, str | None, str]:
    return (str(v.room), local_clock(v.entered_at) or "", local_clock(v.left_at),
            v.close_reason)  # fmt: skip
