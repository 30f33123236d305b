"""A small school with named personas, for the API tests of all three apps.

Two teachers with one course each, two students (Ada takes both courses, Ben only
biology), a staff member and a login with no role. Import the fixtures into a test
module: `from attendance.api.testing import api, school  # noqa: F401`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from attendance.models import AttendanceRecord, ClassSession, Course, Room, Status, Student, Visit
from tests.factories import make_course, make_room, make_session, make_student, make_user


@dataclass
class School:
    now: datetime
    staff: Any
    tina: Any  # teaches MATH in B-204
    omar: Any  # teaches BIO in C-101
    nobody: Any  # a login with no role
    ada_user: Any
    ben_user: Any
    ada: Student
    ben: Student
    b204: Room
    c101: Room
    math: Course
    bio: Course
    math_past: ClassSession
    bio_past: ClassSession
    math_now: ClassSession
    ada_math: AttendanceRecord
    ada_bio: AttendanceRecord
    ben_bio: AttendanceRecord


def build_school() -> School:
    now = timezone.now()
    staff = make_user("registrar", staff=True)
    tina, omar, nobody = make_user("tina"), make_user("omar"), make_user("nobody")
    ada_user, ben_user = make_user("ada"), make_user("ben")
    ada = make_student("S1001", first_name="Ada", last_name="Okafor", user=ada_user)
    ben = make_student("S1002", first_name="Ben", last_name="Adeyemi", user=ben_user)
    b204, c101 = make_room("B-204"), make_room("C-101")
    math = make_course("MATH", teachers=(tina,), students=(ada,))
    bio = make_course("BIO", teachers=(omar,), students=(ada, ben))
    math_past = make_session(math, b204, now - timedelta(days=1))
    bio_past = make_session(bio, c101, now - timedelta(days=1, hours=2))
    math_now = make_session(math, b204, now - timedelta(minutes=10))
    ada_math = AttendanceRecord.objects.create(
        session=math_past, student=ada, status=Status.LATE, minutes_present=40, flags=["x"]
    )
    ada_bio = AttendanceRecord.objects.create(session=bio_past, student=ada, status=Status.PRESENT)
    ben_bio = AttendanceRecord.objects.create(session=bio_past, student=ben, status=Status.ABSENT)
    Visit.objects.create(
        student=ada, room=b204, entered_at=now - timedelta(minutes=8), source="door"
    )
    return School(
        now, staff, tina, omar, nobody, ada_user, ben_user, ada, ben, b204, c101, math, bio,
        math_past, bio_past, math_now, ada_math, ada_bio, ben_bio,
    )  # fmt: skip


def client_for(user: Any | None) -> APIClient:
    """A client carrying a real JWT for `user` (anonymous when None)."""
    client = APIClient()
    if user is not None:
        token = RefreshToken.for_user(user).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def fast_passwords(settings: Any) -> None:
    """The production hasher's many iterations would make every persona take a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def school(db: Any, fast_passwords: None) -> School:
    cache.clear()  # the login throttle counts in the cache
    return build_school()


@pytest.fixture
def api() -> Any:
    """`api(user)` gives a client logged in as that user."""
    return client_for
