"""Running a scenario through the services and the database, the way the ingest does:
store a batch of events, apply it in the same transaction, and let the tick finalise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from attendance import services
from attendance.models import AttendanceRecord, ClassSession, Room, Student, Visit, VisitSource
from attendance.tests.scenario import (
    CARDS,
    READERS,
    ROOMS,
    STUDENTS,
    Result,
    Scenario,
    at,
    local_clock,
)
from devices.models import RawEvent
from tests.factories import (
    make_card,
    make_course,
    make_raw_event,
    make_reader,
    make_room,
    make_student,
)


def build_world() -> None:
    """Rooms, readers, students and cards every scenario shares."""
    for code, place in ROOMS.items():
        make_room(code, building=place.building, floor=place.floor)
    for device, (room, mode) in READERS.items():
        make_reader(Room.objects.get(code=room), device, mode=mode, debounce_s=5)
    for number in STUDENTS:
        make_card(make_student(number, first_name="Ada", last_name=number), CARDS[number])


def build_timetable(scenario: Scenario) -> None:
    courses = {}
    for spec in scenario.sessions:
        if spec.course not in courses:
            students = Student.objects.filter(number__in=spec.students)
            courses[spec.course] = make_course(spec.course, students=tuple(students),
                                               **asdict(spec.policy))  # fmt: skip
        ClassSession.objects.create(
            course=courses[spec.course], room=Room.objects.get(code=spec.room),
            starts_at=at(spec.start), ends_at=at(spec.end),
        )  # fmt: skip
    _, _, ble = scenario.taps_and_motions()
    for row in ble:
        Visit.objects.create(
            student=Student.objects.get(number=row["student"]),
            room=Room.objects.get(code=row["room"]),
            entered_at=row["from"], left_at=row["to"], source=VisitSource.BLE,
        )  # fmt: skip


def raw_events(scenario: Scenario) -> list[RawEvent]:
    taps, motions, _ = scenario.taps_and_motions()
    events = []
    for r in taps:
        extra = {"dir": r["dir"]} if r["dir"] else {}
        events.append(make_raw_event(r["sender"], r["id"], r["ts"], "rfid", uid=r["uid"],
                                     save=False, **extra))  # fmt: skip
    for r in motions:
        events.append(make_raw_event(r["sender"], r["id"], r["ts"], "pir", save=False,
                                     sensor=r["sensor"], state=1))  # fmt: skip
    return events


def apply_batch(batch: Sequence[RawEvent]) -> dict[str, str]:
    """What the ingest does per batch: store the new events, apply them, in one transaction;
    then, between batches, judge again what late events asked for."""
    with transaction.atomic():
        held = set(
            RawEvent.objects.filter(event_id__in=[e.event_id for e in batch]).values_list(
                "sender", "event_id"
            )
        )
        fresh = {(e.sender, e.event_id): e for e in batch if (e.sender, e.event_id) not in held}
        RawEvent.objects.bulk_create(list(fresh.values()))
        answers = services.apply_new_events(list(fresh.values()))
        services.request_rejudging(list(fresh.values()))
    settle(timezone.now())
    return {event_id: _answer(a) for (_, event_id), a in answers.items()}


def settle(now: datetime) -> None:
    """Judging settled door taps, slice after slice until caught up."""
    while services.settle_door_taps(now):
        pass


def _answer(answer: services.TapAnswer) -> str:
    return f"{answer.result} {answer.dir or ''}".strip()


def run_db(
    scenario: Scenario,
    batches: Sequence[Sequence[RawEvent]] | None = None,
    tick_after: Sequence[bool] = (),
    timetable: bool = True,
) -> Result:
    """Apply the scenario's events batch by batch (all at once by default), then tick."""
    if timetable:
        build_timetable(scenario)
    answers: dict[str, str] = {}
    for n, batch in enumerate(batches if batches is not None else [raw_events(scenario)]):
        answers.update(apply_batch(batch))
        if n < len(tick_after) and tick_after[n]:
            services.periodic_tick(timezone.now())
    services.periodic_tick(timezone.now())
    return read_result(scenario, answers)


def read_result(scenario: Scenario, answers: dict[str, str]) -> Result:
    records: dict[str, dict[str, tuple[str, int, str]]] = {}
    for r in AttendanceRecord.objects.select_related("session__course", "student"):
        records.setdefault(r.session.course.code, {})[r.student.number] = (
            r.status, r.minutes_present, ",".join(r.flags),
        )  # fmt: skip
    visits: dict[str, list] = {}
    for v in Visit.objects.filter(source=VisitSource.DOOR).select_related("room", "student"):
        visits.setdefault(v.student.number, []).append(
            (v.room.code, local_clock(v.entered_at), local_clock(v.left_at), v.close_reason)
        )
    for rows in visits.values():
        rows.sort(key=lambda row: (row[1], row[0]))
    return Result(records, visits, answers)
