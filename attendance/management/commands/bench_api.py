"""Time the API's read endpoints on a school-sized database: p50/p95 per endpoint.

    python manage.py bench_api                       # 2,000 students, 1,000,000 records
    python manage.py bench_api --students 200 --records 20000 --requests 50   # quick
    python manage.py bench_api --only "report course" --profile 25   # where the time goes

The data set is built once with bulk inserts, marked with the BENCH- prefix, and reused
by later runs of the same size (--rebuild builds it again, --drop removes it and stops).
It lives in the configured database (DATABASE_URL): run it against MariaDB, not SQLite,
for figures that mean anything. Requests go through the whole Django stack (middleware,
JWT authentication, permissions, serializers) in process, without a network.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from attendance.api.common import COUNT_CACHE_MIN_ROWS, COUNT_CACHE_SECONDS
from attendance.days import local_day
from attendance.management.commands._bench_profile import profile_scenario
from attendance.management.commands._bench_reports import SCHOOL_WIDE, report_scenarios
from attendance.models import (
    AttendanceRecord,
    AuditEntry,
    ClassSession,
    Course,
    Enrolment,
    RecordRevision,
    Room,
    Status,
    Student,
    Visit,
)
from attendance.reports.reuse import forget

PREFIX = "BENCH-"
# Each kind's own prefix, so that other benchmarks' BENCH-... rows are never taken for ours.
STUDENTS, ROOMS, COURSES = f"{PREFIX}S", f"{PREFIX}R", f"{PREFIX}C"
USER_PREFIX = "bench-"
BATCH = 5000
STATUS_WEIGHTS = {
    Status.PRESENT: 80, Status.LATE: 8, Status.LEFT_EARLY: 3, Status.ABSENT: 7, Status.EXCUSED: 2,
}  # fmt: skip


@dataclass(frozen=True)
class Shape:
    students: int
    records: int
    per_course: int
    courses_per_student: int
    rooms: int

    @property
    def courses(self) -> int:
        return max(1, self.students * self.courses_per_student // self.per_course)

    @property
    def sessions_per_course(self) -> int:
        return max(1, self.records // (self.courses * self.per_course))


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--students", type=int, default=2000)
        parser.add_argument("--records", type=int, default=1_000_000)
        parser.add_argument("--per-course", type=int, default=50, help="students per course")
        parser.add_argument("--courses-per-student", type=int, default=5)
        parser.add_argument("--rooms", type=int, default=100)
        parser.add_argument("--requests", type=int, default=200, help="timed requests each")
        parser.add_argument("--rebuild", action="store_true", help="build the data again")
        parser.add_argument("--drop", action="store_true", help="remove the data and stop")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--only", nargs="*", default=None, help="scenario names to run (default: all)"
        )
        parser.add_argument(
            "--profile",
            type=int,
            default=0,
            help="after each scenario, its queries and the N costliest functions (cProfile)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        shape = Shape(
            opts["students"],
            opts["records"],
            opts["per_course"],
            opts["courses_per_student"],
            opts["rooms"],
        )
        if shape.students < shape.per_course or shape.students % shape.per_course:
            raise CommandError("--students must be a multiple of --per-course.")
        self.rng = random.Random(opts["seed"])
        self.stdout.write(f"Database: {connection.vendor} {connection.settings_dict['NAME']}")
        if opts["drop"] or opts["rebuild"]:
            self.drop()
            if opts["drop"]:
                return
        if not self.already_built(shape):
            self.drop()
            self.build(shape)
        self.measure(opts["requests"], opts["only"], opts["profile"])

    # Building --------------------------------------------------------------------------------

    def already_built(self, shape: Shape) -> bool:
        students = Student.objects.filter(number__startswith=STUDENTS).count()
        records = AttendanceRecord.objects.filter(student__number__startswith=STUDENTS).count()
        expected = shape.courses * shape.per_course * shape.sessions_per_course
        built = students == shape.students and records == expected
        if built:
            self.stdout.write(f"Reusing {students} students and {records} records.")
        return built

    def drop(self) -> None:
        self.stdout.write("Removing earlier bench data...")
        records = AttendanceRecord.objects.filter(student__number__startswith=STUDENTS)
        RecordRevision.objects.filter(record__in=records).delete()
        AuditEntry.objects.filter(record__in=records).delete()
        # Raw deletes: a million rows through the ORM's collector would take minutes.
        records._raw_delete(records.db)  # type: ignore[attr-defined]
        visits = Visit.objects.filter(student__number__startswith=STUDENTS)
        visits._raw_delete(visits.db)  # type: ignore[attr-defined]
        ClassSession.objects.filter(course__code__startswith=COURSES).delete()
        Course.objects.filter(code__startswith=COURSES).delete()
        Student.objects.filter(number__startswith=STUDENTS).delete()
        Room.objects.filter(code__startswith=ROOMS).delete()
        get_user_model().objects.filter(username__startswith=USER_PREFIX).delete()

    def build(self, shape: Shape) -> None:
        started = time.perf_counter()
        now = timezone.now()
        with transaction.atomic():
            rooms, teachers, students = self.build_people_and_rooms(shape)
            courses = self.build_courses(shape, teachers, students)
            sessions = self.build_sessions(shape, courses, rooms, now)
        self.build_records(shape, courses, students, sessions)
        self.build_visits(shape, rooms, students, now)
        self.stdout.write(f"Built in {time.perf_counter() - started:.0f} s.")

    def build_people_and_rooms(self, shape: Shape) -> tuple[list, list, list]:
        User = get_user_model()
        unusable = make_password(None)
        rooms = Room.objects.bulk_create(
            Room(code=f"{ROOMS}{i:03d}", name=f"Room {i}") for i in range(shape.rooms)
        )
        User.objects.bulk_create(
            [User(username=f"{USER_PREFIX}staff", password=unusable, is_staff=True)]
            + [
                User(username=f"{USER_PREFIX}t{i:03d}", password=unusable)
                for i in range(shape.courses)
            ]
            + [
                User(username=f"{USER_PREFIX}s{i:05d}", password=unusable)
                for i in range(shape.students)
            ],
            batch_size=BATCH,
        )
        users = {u.username: u for u in User.objects.filter(username__startswith=USER_PREFIX)}
        teachers = [users[f"{USER_PREFIX}t{i:03d}"] for i in range(shape.courses)]
        Student.objects.bulk_create(
            (
                Student(
                    number=f"{STUDENTS}{i:05d}",
                    first_name="Bench",
                    last_name=f"Student {i}",
                    user=users[f"{USER_PREFIX}s{i:05d}"],
                )
                for i in range(shape.students)
            ),
            batch_size=BATCH,
        )
        students = list(Student.objects.filter(number__startswith=STUDENTS).order_by("number"))
        self.stdout.write(f"{len(rooms)} rooms, {len(students)} students, {len(teachers)} teachers")
        return rooms, teachers, students

    def build_courses(self, shape: Shape, teachers: list, students: list) -> list[Course]:
        Course.objects.bulk_create(
            Course(code=f"{COURSES}{i:03d}", name=f"Course {i}") for i in range(shape.courses)
        )
        courses = list(Course.objects.filter(code__startswith=COURSES).order_by("code"))
        Course.teachers.through.objects.bulk_create(
            Course.teachers.through(course_id=c.pk, user_id=t.pk)
            for c, t in zip(courses, teachers, strict=True)
        )
        Enrolment.objects.bulk_create(
            (
                Enrolment(course=courses[c], student=students[s])
                for c in range(shape.courses)
                for s in self.course_members(shape, c)
            ),
            batch_size=BATCH,
        )
        return courses

    @staticmethod
    def course_members(shape: Shape, course_index: int) -> range:
        """Course c takes one block of per_course students; each student gets several."""
        blocks = shape.students // shape.per_course
        block = course_index % blocks
        return range(block * shape.per_course, (block + 1) * shape.per_course)

    def build_sessions(
        self, shape: Shape, courses: list, rooms: list, now: datetime
    ) -> dict[int, list[ClassSession]]:
        first_day = now - timedelta(days=shape.sessions_per_course + 1)
        rows = [
            ClassSession(
                course=course,
                room=rooms[c % len(rooms)],
                starts_at=first_day + timedelta(days=d, hours=c % 9),
                ends_at=first_day + timedelta(days=d, hours=c % 9, minutes=50),
            )
            for c, course in enumerate(courses)
            for d in range(shape.sessions_per_course)
        ]
        # One class running now in each room, for realtime's "current session"; a course in
        # several rooms (more rooms than courses) starts a second apart in each.
        rows += [
            ClassSession(
                course=courses[r % len(courses)],
                room=room,
                starts_at=now - timedelta(minutes=10, seconds=r // len(courses)),
                ends_at=now + timedelta(minutes=40),
            )
            for r, room in enumerate(rooms)
        ]
        ClassSession.objects.bulk_create(rows, batch_size=BATCH)
        by_course: dict[int, list[ClassSession]] = {}
        ended = ClassSession.objects.filter(course__in=courses, ends_at__lte=now)
        for session in ended.only("id", "course_id", "starts_at"):
            by_course.setdefault(session.course_id, []).append(session)
        return by_course

    def build_records(self, shape: Shape, courses: list, students: list, sessions: dict) -> None:
        total = shape.courses * shape.per_course * shape.sessions_per_course
        done = 0
        for batch in self.batches(self.record_rows(shape, courses, students, sessions)):
            AttendanceRecord.objects.bulk_create(batch)
            done += len(batch)
            if done % 100_000 < BATCH:
                self.stdout.write(f"  records: {done:,} / {total:,}")

    def record_rows(
        self, shape: Shape, courses: list, students: list, sessions: dict
    ) -> Iterator[AttendanceRecord]:
        statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
        for c, course in enumerate(courses):
            members = [students[s] for s in self.course_members(shape, c)]
            for session in sessions[course.pk]:
                for student, status in zip(
                    members, self.rng.choices(statuses, weights, k=len(members)), strict=True
                ):
                    seen = status != Status.ABSENT
                    yield AttendanceRecord(
                        session_id=session.pk,
                        session_starts_at=session.starts_at,
                        student_id=student.pk,
                        status=status,
                        computed_status=status,
                        minutes_present=45 if seen else 0,
                        first_seen=session.starts_at if seen else None,
                        last_seen=session.starts_at + timedelta(minutes=45) if seen else None,
                        finalised=True,
                    )

    def build_visits(self, shape: Shape, rooms: list, students: list, now: datetime) -> None:
        """Closed visits as history (a fifth of the records), and a class in each room now."""
        closed = (
            Visit(
                student=self.rng.choice(students),
                room=self.rng.choice(rooms),
                entered_at=now - timedelta(hours=h + 2),
                left_at=now - timedelta(hours=h + 1),
                source="door",
            )
            for h in range(shape.records // 5)
        )
        for batch in self.batches(closed):
            Visit.objects.bulk_create(batch)
        present = students[: min(len(students), 25 * len(rooms))]
        Visit.objects.bulk_create(
            (
                Visit(
                    student=s,
                    room=rooms[i % len(rooms)],
                    entered_at=now - timedelta(minutes=5),
                    source="door",
                )
                for i, s in enumerate(present)
            ),
            batch_size=BATCH,
        )

    @staticmethod
    def batches(rows: Iterator[Any]) -> Iterator[list[Any]]:
        batch: list[Any] = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    # Measuring -------------------------------------------------------------------------------

    def measure(self, requests: int, only: list[str] | None, profile: int) -> None:
        User = get_user_model()
        staff = User.objects.get(username=f"{USER_PREFIX}staff")
        students = list(Student.objects.filter(number__startswith=STUDENTS).select_related("user"))
        courses = list(Course.objects.filter(code__startswith=COURSES).prefetch_related("teachers"))
        rooms = list(Room.objects.filter(code__startswith=ROOMS).values_list("code", flat=True))
        today = local_day(timezone.now())
        pick = self.rng.choice

        def week_start() -> str:
            return (today - timedelta(days=self.rng.randrange(7, 90))).isoformat()

        def as_user(user: Any, url: Callable[[], str]) -> Callable[[], tuple[Client, str]]:
            client = self.client_for(user)
            return lambda: (client, url())

        def course_teacher() -> tuple[Client, str]:
            course = pick(courses)
            client = self.client_for(course.teachers.all()[0])
            return client, f"/api/v1/attendance/records?course={course.code}"

        def own_records() -> tuple[Client, str]:
            return self.client_for(pick(students).user), "/api/v1/attendance/records"

        scenarios: dict[str, Callable[[], tuple[Client, str]]] = {
            "records (staff, ?student=)": as_user(
                staff, lambda: f"/api/v1/attendance/records?student={pick(students).number}"
            ),
            "records (a student's own)": own_records,
            "records (teacher, ?course=)": course_teacher,
            "records (staff, ?from=&to= one day)": as_user(
                staff, lambda: "/api/v1/attendance/records?from={0}&to={0}".format(week_start())
            ),
            "records (staff, no filter)": as_user(staff, lambda: "/api/v1/attendance/records"),
            "summary": as_user(
                staff, lambda: f"/api/v1/attendance/summary/{pick(students).number}"
            ),
            "realtime": as_user(staff, lambda: f"/api/v1/attendance/realtime/{pick(rooms)}"),
            **report_scenarios(self.rng, staff, students, courses, rooms, self.client_for),
        }
        self.stdout.write(
            f"Counts of {COUNT_CACHE_MIN_ROWS:,} rows or more are reused for "
            f"{COUNT_CACHE_SECONDS} s: the whole-table list counts in its warm-up requests."
        )
        self.stdout.write(
            "The last column is the median of this process's own CPU time per request: the "
            "part a busy machine changes least (the database's share is not in it)."
        )
        self.stdout.write(
            f"\n{'endpoint':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu ms':>8}"
        )
        for name, next_request in scenarios.items():
            if only and not any(word in name for word in only):
                continue
            if name in SCHOOL_WIDE:
                self.time_cold(name, next_request)
            timings, cpu = self.time_requests(next_request, requests)
            p50 = statistics.median(timings)
            p95 = statistics.quantiles(timings, n=20)[18]
            self.stdout.write(
                f"{name:40} {p50:8.1f} {p95:8.1f} {max(timings):8.1f} {statistics.median(cpu):8.1f}"
            )
            if profile:
                profile_scenario(next_request, profile, self.stdout.write)

    def time_cold(self, name: str, next_request: Callable[[], tuple[Client, str]]) -> None:
        """A school-wide report counts every record unless it reused its counts: time one
        request with nothing kept, before the timed ones."""
        cache.clear()
        forget()
        client, url = next_request()
        started = time.perf_counter()
        client.get(url, secure=True)
        cold = (time.perf_counter() - started) * 1000
        self.stdout.write(f"{name + ' [cold]':40} {cold:8.1f}")

    def client_for(self, user: Any) -> Client:
        token = RefreshToken.for_user(user).access_token
        return Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")

    def time_requests(
        self, next_request: Callable[[], tuple[Client, str]], n: int
    ) -> tuple[list[float], list[float]]:
        """Wall-clock and this process's CPU milliseconds of each of `n` requests."""
        for _ in range(min(5, n)):  # warm caches and connections
            client, url = next_request()
            client.get(url, secure=True)
        timings, cpu = [], []
        for _ in range(n):
            client, url = next_request()
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(url, secure=True)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            if response.status_code != 200:
                raise CommandError(f"{url} answered {response.status_code}: {response.content!r}")
        return timings, cpu
