"""A realistic small school for demos and trying ZIAS out: rooms, readers, beacons, students
with cards, courses with a weekly timetable, today's sessions, and a teacher and staff login."""

from __future__ import annotations

import random
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from attendance.days import day_bounds, local_day
from attendance.models import (
    ClassSession,
    Course,
    Enrolment,
    Holiday,
    Room,
    Student,
    Term,
    TimetableSlot,
)
from attendance.timetable import regenerate_term
from beacons.models import Beacon, BeaconKind, Phone
from devices.credentials import mosquitto_hash
from devices.models import Card, Reader, ReaderMode

DEMO_BEACON_UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
# Shared by every demo reader so the simulator (and anyone trying it) can connect.
DEMO_DEVICE_PASSWORD = "demo-reader-password"
# Every third demo student has the app: phone id ph-<number>, this MQTT password.
DEMO_PHONE_PASSWORD = "demo-phone-password"

STAFF_LOGIN = ("admin", "zias-admin-demo")
TEACHER_LOGIN = ("teacher", "zias-teacher-demo")

ROOMS = [
    ("B-201", "Biology lab", "B", 2, 24),
    ("B-202", "Seminar room", "B", 2, 30),
    ("B-203", "Lecture room", "B", 2, 60),
    ("A-101", "Main hall", "A", 1, 120),
    ("A-102", "Computer lab", "A", 1, 28),
]
COURSES = [
    ("BIO101", "Cell biology", "B-201"),
    ("MAT110", "Linear algebra", "B-202"),
    ("PHY120", "Mechanics", "B-203"),
    ("HIS200", "Modern history", "A-101"),
    ("CS150", "Programming", "A-102"),
]
FIRST = [
    "Ada",
    "Ben",
    "Chen",
    "Dara",
    "Emeka",
    "Fatima",
    "Goran",
    "Hana",
    "Ivan",
    "Jana",
    "Kofi",
    "Lena",
    "Mateo",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tomas",
]
LAST = [
    "Okafor",
    "Schmidt",
    "Wang",
    "Nowak",
    "Haddad",
    "Silva",
    "Kowalski",
    "Ito",
    "Berg",
    "Moreau",
    "Mensah",
    "Novak",
    "Rossi",
    "Patel",
    "Kaya",
]


@dataclass
class DemoSummary:
    rooms: int = 0
    readers: int = 0
    students: int = 0
    sessions_today: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)


@transaction.atomic
def seed_demo(students: int = 60, seed: int = 7) -> DemoSummary:
    """Create the demo school; running it again leaves existing rows as they are."""
    rng = random.Random(seed)
    summary = DemoSummary()
    rooms = {
        code: _room(code, name, building, floor, cap) for code, name, building, floor, cap in ROOMS
    }
    summary.rooms = len(rooms)
    for index, room in enumerate(rooms.values(), start=1):
        _reader(
            f"door-{room.code.lower()}", room, ReaderMode.PIR if index % 2 else ReaderMode.TOGGLE
        )
        Beacon.objects.get_or_create(
            kind=BeaconKind.IBEACON,
            uuid=DEMO_BEACON_UUID,
            major=1,
            minor=index,
            defaults={"room": room, "label": f"{room.code} front"},
        )
    summary.readers = Reader.objects.count()
    people = [_student(i, rng) for i in range(1, students + 1)]
    summary.students = len(people)
    for student in people[::3]:
        if Phone.objects.filter(student=student, active=True).exists():
            continue  # one active phone per student: a real one registered already
        Phone.objects.get_or_create(
            phone_id=f"ph-{student.number.lower()}",
            defaults={
                "student": student,
                "mqtt_password_hash": mosquitto_hash(DEMO_PHONE_PASSWORD),
            },
        )
    teacher = _user(*TEACHER_LOGIN, staff=False, first="Tess", last="Teacher")
    _user(*STAFF_LOGIN, staff=True, first="Sam", last="Registrar")
    summary.logins = [("staff", *STAFF_LOGIN), ("teacher", *TEACHER_LOGIN)]
    term = _term()
    for n, (code, name, room_code) in enumerate(COURSES):
        course, _ = Course.objects.get_or_create(code=code, defaults={"name": name})
        course.teachers.add(teacher)
        for student in rng.sample(people, k=min(len(people), 24)):
            Enrolment.objects.get_or_create(course=course, student=student)
        TimetableSlot.objects.get_or_create(
            course=course,
            room=rooms[room_code],
            term=term,
            weekday=n % 5,
            start_time=time(9 + n, 0),
            end_time=time(9 + n, 50),
        )
        _today_session(course, rooms[room_code], slot_hour_offset=n)
    regenerate_term(term)
    today_start, today_end = day_bounds(local_day(timezone.now()))
    summary.sessions_today = ClassSession.objects.filter(
        starts_at__gte=today_start, starts_at__lt=today_end
    ).count()
    return summary


def _room(code: str, name: str, building: str, floor: int, capacity: int) -> Room:
    room, _ = Room.objects.get_or_create(
        code=code,
        defaults={"name": name, "building": building, "floor": floor, "capacity": capacity},
    )
    return room


def _reader(device_id: str, room: Room, mode: str) -> Reader:
    reader, _ = Reader.objects.get_or_create(
        device_id=device_id,
        defaults={
            "room": room,
            "mode": mode,
            "mqtt_password_hash": mosquitto_hash(DEMO_DEVICE_PASSWORD),
        },
    )
    return reader


def _student(i: int, rng: random.Random) -> Student:
    student, created = Student.objects.get_or_create(
        number=f"S{1000 + i}",
        defaults={
            "first_name": FIRST[i % len(FIRST)],
            "last_name": LAST[(i * 7) % len(LAST)],
            "email": f"s{1000 + i}@students.example.edu",
        },
    )
    if created:
        Card.objects.create(uid=f"04{rng.getrandbits(48):012X}", student=student)
    return student


def _user(username: str, password: str, *, staff: bool, first: str, last: str):  # type: ignore[no-untyped-def]
    user, created = get_user_model().objects.get_or_create(
        username=username,
        defaults={"is_staff": staff, "is_superuser": staff, "first_name": first, "last_name": last},
    )
    if created:
        user.set_password(password)
        user.save()
    return user


def _term() -> Term:
    today = local_day(timezone.now())
    term, _ = Term.objects.get_or_create(
        name=f"Demo term {today.year}",
        defaults={"starts_on": today - timedelta(days=28), "ends_on": today + timedelta(days=56)},
    )
    Holiday.objects.get_or_create(
        term=term,
        name="Reading week",
        defaults={"starts_on": today + timedelta(days=21), "ends_on": today + timedelta(days=25)},
    )
    return term


def _today_session(course: Course, room: Room, slot_hour_offset: int) -> None:
    """One session per course around now, so the demo has something live to show."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    now = datetime.now(tz=zone).replace(second=0, microsecond=0)
    starts = now - timedelta(minutes=20) + timedelta(hours=slot_hour_offset)
    ClassSession.objects.get_or_create(
        course=course,
        starts_at=starts - timedelta(minutes=starts.minute % 5),
        defaults={"room": room, "ends_at": starts + timedelta(minutes=90)},
    )
