"""Small factories and named personas shared by every app's tests."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser

from attendance.models import ClassSession, Course, Enrolment, Room, Student
from devices.models import PLACED_FOREVER, Card, RawEvent, Reader

_seq = itertools.count(1)


def make_room(code: str | None = None, **fields: object) -> Room:
    return Room.objects.create(
        code=code or f"R-{next(_seq)}", name=str(fields.pop("name", "")), **fields
    )


def make_student(number: str | None = None, **fields: object) -> Student:
    n = next(_seq)
    return Student.objects.create(
        number=number or f"S{1000 + n}",
        first_name=str(fields.pop("first_name", "Ada")),
        last_name=str(fields.pop("last_name", f"Okafor{n}")),
        **fields,
    )


def make_card(
    student: Student, uid: str | None = None, active: bool = True, owned_since: Any = PLACED_FOREVER
) -> Card:
    """A card its student has held all along, unless `owned_since` says from when (None: from
    the start of today, as a card registered now)."""
    card = Card(uid=uid or f"04{next(_seq):06X}", student=student, active=active)
    card.save(owned_since=owned_since)
    return card


def make_reader(room: Room, device_id: str | None = None, **fields: object) -> Reader:
    return Reader.objects.create(device_id=device_id or f"door-{next(_seq)}", room=room, **fields)


def make_user(
    username: str, *, staff: bool = False, password: str = "pw-for-tests-1"
) -> AbstractUser:
    user = get_user_model().objects.create_user(
        username=username, password=password, is_staff=staff, is_superuser=staff
    )
    return user  # type: ignore[return-value]


def make_course(
    code: str | None = None, *, teachers: tuple = (), students: tuple = (), **fields: object
) -> Course:
    course = Course.objects.create(
        code=code or f"C{next(_seq)}", name=str(fields.pop("name", "Course")), **fields
    )
    course.teachers.set(teachers)
    for student in students:
        Enrolment.objects.create(course=course, student=student)
    return course


def make_session(
    course: Course, room: Room, starts_at: datetime, minutes: int = 60
) -> ClassSession:
    return ClassSession.objects.create(
        course=course,
        room=room,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
    )


def make_raw_event(
    sender: str,
    event_id: str,
    ts: datetime,
    type: str = "rfid",
    *,
    uid: str = "",
    save: bool = True,
    **payload: object,
) -> RawEvent:
    """A stored reader event as the ingest would keep it (payload as the reader sent it)."""
    body: dict[str, object] = {"id": event_id, "ts": int(ts.timestamp() * 1000), "type": type}
    if uid:
        body["uid"] = uid
    body.update(payload)
    event = RawEvent(
        sender_kind="device",
        sender=sender,
        event_id=event_id,
        type=type,
        ts=ts,
        uid=uid,
        received_at=ts,
        payload=body,
    )
    if save:
        event.save()
    return event
