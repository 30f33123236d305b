"""Build a semester, replay its door events through the engine, and time it.

    python manage.py bench_engine              # 2,000 students, 100 courses, ~1M events
    python manage.py bench_engine --scale 0.1  # a tenth of the students and courses

Everything it creates is named ENGINE-/bench- and removed first (and at the end unless
--keep). The last line is machine-readable:
    events_per_s=... recompute_course_ms=... late_event_ms=...
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from attendance import services
from attendance.days import day_bounds, local_day
from attendance.models import (
    AttendanceRecord,
    ClassSession,
    Course,
    Enrolment,
    ProxyFlag,
    Room,
    Student,
    Visit,
)
from devices.models import Card, RawEvent, Reader

SEMESTER_START = date(2026, 2, 2)  # a Monday, safely in the past
SLOTS = [clock(8, 0), clock(9, 45), clock(11, 30), clock(13, 30), clock(15, 15)]
SESSION_MINUTES = 90
PER_COURSE = 55  # students enrolled in each course


class Command(BaseCommand):
    help = "Replay a synthetic semester through the attendance engine and report its speed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale", type=float, default=1.0,
            help="Fraction of the 2,000 students and 100 courses (default 1).",
        )  # fmt: skip
        parser.add_argument("--weeks", type=int, default=15, help="Weeks of sessions.")
        parser.add_argument("--batch", type=int, default=500, help="Events per ingest batch.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--keep", action="store_true", help="Leave the data in place.")

    def handle(self, *args: object, **opts: object) -> None:
        scale = float(str(opts["scale"]))
        if not 0 < scale <= 1:
            self.stderr.write("--scale must be in (0, 1]")
            return
        rng = random.Random(int(str(opts["seed"])))
        self._clean()
        world = self._build(rng, scale, int(str(opts["weeks"])))
        replayed, seconds = self._replay(rng, world, int(str(opts["batch"])))
        tick_s = self._finalise()
        late_ms, course_ms, records = self._late_event(rng, world)
        self.stdout.write(
            f"replayed {replayed:,} events in {seconds:.1f}s; finalising took {tick_s:.1f}s; "
            f"recompute of one course ({records} records) {course_ms:.0f} ms"
        )
        if not opts["keep"]:
            self._clean()
        self.stdout.write(
            f"events_per_s={replayed / seconds:.0f} recompute_course_ms={course_ms:.0f} "
            f"late_event_ms={late_ms:.0f}"
        )

    # -- the semester ---------------------------------------------------------------------

    def _clean(self) -> None:
        RawEvent.objects.filter(sender__startswith="bench-").delete()
        AttendanceRecord.objects.filter(session__course__code__startswith="ENGINE-").delete()
        ProxyFlag.objects.filter(student__number__startswith="ENGINE-").delete()
        Visit.objects.filter(student__number__startswith="ENGINE-").delete()
        ClassSession.objects.filter(course__code__startswith="ENGINE-").delete()
        Course.objects.filter(code__startswith="ENGINE-").delete()
        Card.objects.filter(student__number__startswith="ENGINE-").delete()
        Student.objects.filter(number__startswith="ENGINE-").delete()
        Reader.objects.filter(device_id__startswith="bench-").delete()
        Room.objects.filter(code__startswith="ENGINE-").delete()

    def _build(self, rng: random.Random, scale: float, weeks: int) -> dict:
        n_students, n_courses = max(60, round(2000 * scale)), max(2, round(100 * scale))
        n_rooms = max(2, round(40 * scale))
        rooms = Room.objects.bulk_create(
            Room(code=f"ENGINE-{i:03d}", building="ABC"[i % 3], floor=i % 4) for i in range(n_rooms)
        )
        Reader.objects.bulk_create(
            Reader(device_id=f"bench-{i:03d}", room=room, mode="pir" if i % 3 == 0 else "toggle")
            for i, room in enumerate(rooms)
        )
        readers = {r.room_id: r for r in Reader.objects.filter(device_id__startswith="bench-")}
        Student.objects.bulk_create(
            Student(number=f"ENGINE-{i:05d}", first_name="Bench", last_name=f"S{i}")
            for i in range(n_students)
        )
        students = list(Student.objects.filter(number__startswith="ENGINE-").order_by("number"))
        Card.objects.bulk_create(Card(uid=f"B{i:07X}", student=s) for i, s in enumerate(students))
        Course.objects.bulk_create(
            Course(code=f"ENGINE-{i:03d}", name=f"Bench course {i}") for i in range(n_courses)
        )
        courses = list(Course.objects.filter(code__startswith="ENGINE-").order_by("code"))
        Enrolment.objects.bulk_create(
            Enrolment(course=c, student=s)
            for c in courses
            for s in rng.sample(students, min(PER_COURSE, len(students)))
        )
        free = [(d, slot, room) for d in range(5) for slot in SLOTS for room in rooms]
        rng.shuffle(free)
        zone = timezone.get_default_timezone()
        sessions = []
        for course in courses:
            first = free.pop()
            # The second weekly meeting is at another day or time (one course, one start).
            second = next(f for f in reversed(free) if f[:2] != first[:2])
            free.remove(second)
            for day, slot, room in (first, second):
                for week in range(weeks):
                    local = datetime.combine(
                        SEMESTER_START + timedelta(weeks=week, days=day), slot, tzinfo=zone
                    )
                    starts = local.astimezone(UTC)
                    sessions.append(ClassSession(
                        course=course, room=room, starts_at=starts,
                        ends_at=starts + timedelta(minutes=SESSION_MINUTES),
                    ))  # fmt: skip
        ClassSession.objects.bulk_create(sessions)
        self.stdout.write(
            f"built {n_students} students, {n_courses} courses, {n_rooms} rooms, "
            f"{len(sessions)} sessions over {weeks} weeks"
        )
        return {"readers": readers, "courses": courses}

    def _events_of_day(
        self, rng: random.Random, day: date, readers: dict, seq: Iterator[int]
    ) -> list[RawEvent]:
        lo, hi = day_bounds(day)
        sessions = ClassSession.objects.filter(
            course__code__startswith="ENGINE-", starts_at__gte=lo, starts_at__lt=hi
        ).values_list("id", "course_id", "room_id", "starts_at", "ends_at")
        enrolled: dict[int, list[tuple[int, str]]] = {}
        for course_id, student_id, uid in Enrolment.objects.filter(
            course__code__startswith="ENGINE-"
        ).values_list("course_id", "student_id", "student__cards__uid"):
            enrolled.setdefault(course_id, []).append((student_id, uid))
        busy: set[tuple[int, datetime]] = set()
        events: list[RawEvent] = []
        for _, course_id, room_id, starts, ends in sessions:
            reader = readers[room_id].device_id
            for student_id, uid in enrolled.get(course_id, []):
                if rng.random() > 0.9 or (student_id, starts) in busy:
                    continue  # absent, or in another class at that time
                busy.add((student_id, starts))
                enter = starts + timedelta(seconds=rng.gauss(-120, 300))
                leave = ends + timedelta(seconds=rng.uniform(0, 180))
                if rng.random() < 0.08:
                    leave = starts + timedelta(minutes=rng.uniform(20, 60))
                for moment, inward in ((enter, True), (leave, False)):
                    events += self._passage(reader, uid, moment, inward, seq, rng)
        events.sort(key=lambda e: e.ts)
        return events

    def _passage(
        self,
        reader: str,
        uid: str,
        at: datetime,
        inward: bool,
        seq: Iterator[int],
        rng: random.Random,
    ) -> list[RawEvent]:
        """One person through the door: motion on both sensors and the card tap."""
        first, second = ("outer", "inner") if inward else ("inner", "outer")
        out = [
            self._event(reader, seq, at - timedelta(seconds=1), "pir", sensor=first, state=1),
            self._event(reader, seq, at, "rfid", uid=uid),
            self._event(reader, seq, at + timedelta(seconds=1), "pir", sensor=second, state=1),
            self._event(reader, seq, at + timedelta(seconds=4), "pir", sensor=first, state=0),
        ]
        if rng.random() < 0.05:  # fumbled the card: a second tap, a repeat
            out.append(self._event(reader, seq, at + timedelta(seconds=2), "rfid", uid=uid))
        return out

    def _event(
        self,
        reader: str,
        seq: Iterator[int],
        ts: datetime,
        kind: str,
        uid: str = "",
        **payload: object,
    ) -> RawEvent:
        event_id = f"1-{next(seq)}"
        body = {"id": event_id, "ts": int(ts.timestamp() * 1000), "type": kind, **payload}
        if uid:
            body["uid"] = uid
        return RawEvent(sender_kind="device", sender=reader, event_id=event_id, type=kind,
                        ts=ts, uid=uid, received_at=ts, payload=body)  # fmt: skip

    # -- replay and measurements ----------------------------------------------------------

    def _replay(self, rng: random.Random, world: dict, batch: int) -> tuple[int, float]:
        sessions = ClassSession.objects.filter(course__code__startswith="ENGINE-")
        first, last = sessions.earliest("starts_at"), sessions.latest("starts_at")
        day, end = local_day(first.starts_at), local_day(last.starts_at)
        seq = iter(range(1, 10**9))
        total, spent, storing, cpu = 0, 0.0, 0.0, 0.0
        while day <= end:
            events = self._events_of_day(rng, day, world["readers"], seq)
            started, cpu_started = time.perf_counter(), time.process_time()
            for i in range(0, len(events), batch):
                chunk = events[i : i + batch]
                with transaction.atomic():  # what the ingest does per batch
                    store_started = time.perf_counter()
                    RawEvent.objects.bulk_create(chunk)
                    storing += time.perf_counter() - store_started
                    services.apply_new_events(chunk)
            took = time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            spent += took
            total += len(events)
            if events:
                self.stdout.write(
                    f"  {day}: {len(events):,} events, {len(events) / took:,.0f}/s "
                    f"(total {total:,}, {total / spent:,.0f}/s)"
                )
            day += timedelta(days=1)
        self.stdout.write(
            f"of {spent:.1f}s: storing the events {storing:.1f}s, the engine "
            f"{spent - storing:.1f}s ({total / max(spent - storing, 1e-9):,.0f} events/s); "
            f"this process used {cpu:.1f}s of CPU, the rest is the database and waiting"
        )
        return total, spent

    def _finalise(self) -> float:
        started = time.perf_counter()
        while ClassSession.objects.ended_unfinalised(timezone.now()).exists():
            services.periodic_tick(timezone.now())
        return time.perf_counter() - started

    def _late_event(self, rng: random.Random, world: dict) -> tuple[float, float, int]:
        """A reader replays an old tap: someone stepped out mid-session, weeks ago."""
        course = world["courses"][0]
        sessions = list(ClassSession.objects.filter(course=course).order_by("starts_at"))
        session = sessions[len(sessions) // 2]
        record = AttendanceRecord.objects.filter(session=session, status="present").first()
        late_ms = 0.0
        if record is not None:
            reader = Reader.objects.get(room=session.room)
            uid = Card.objects.filter(student_id=record.student_id).values_list("uid", flat=True)[0]
            middle = session.starts_at + timedelta(minutes=30)
            event = self._event(reader.device_id, iter([10**9 + 1]), middle, "rfid", uid=uid)
            started = time.perf_counter()
            with transaction.atomic():
                RawEvent.objects.bulk_create([event])
                services.apply_new_events([event])
            late_ms = (time.perf_counter() - started) * 1000
            record.refresh_from_db()
            self.stdout.write(
                f"late tap for {record.student_id} in {session}: now {record.status}, "
                f"revision {record.revision}, {late_ms:.0f} ms"
            )
        started = time.perf_counter()
        records = services.recompute_course(course.id, "bench: policy changed")
        course_ms = (time.perf_counter() - started) * 1000
        return late_ms, course_ms, records
