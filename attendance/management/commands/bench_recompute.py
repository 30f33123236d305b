"""Time a staff change that 10,000 records follow: the admin save, then the pass.

    python manage.py bench_recompute                  # 100 sessions x 100 students
    python manage.py bench_recompute --sessions 10 --students 20   # quick

Builds a course (BENCHRC-) with held sessions and their records by bulk inserts, saves a
grace change through the real admin page (Django's test client, a staff login), then
runs the ingest's recompute slices until /health shows no backlog, printing the save's time,
the pass's time and the backlog as it falls. The last line is machine-readable. Run it
against MariaDB for figures that mean anything; it removes what it built.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.test import Client
from django.utils import timezone

from attendance import services
from attendance.models import (
    AttendanceRecord,
    ClassSession,
    Course,
    Enrolment,
    RecomputeRequest,
    Room,
    Student,
)

PREFIX = "BENCHRC"


class Command(BaseCommand):
    help = "Time an admin course save that 10,000 records follow, and the recompute pass."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sessions", type=int, default=100)
        parser.add_argument("--students", type=int, default=100)

    def handle(self, *args: Any, **options: Any) -> None:
        say = self.stdout.write
        self._drop()
        course = self._build(options["sessions"], options["students"])
        records = AttendanceRecord.objects.filter(session__course=course).count()
        say(f"{records:,} records of {course.code} ({options['sessions']} sessions)")
        client = Client(HTTP_HOST="localhost")  # an allowed host by default
        client.force_login(self._staff())
        page = f"/admin/attendance/course/{course.pk}/change/"
        form = _form_as_loaded(client.get(page, secure=True).content.decode())
        form["grace_minutes"] = "15"
        started = time.perf_counter()
        answer = client.post(page, form, secure=True)  # production settings redirect http
        save_ms = (time.perf_counter() - started) * 1000
        course.refresh_from_db()
        if answer.status_code != 302 or course.grace_minutes != 15:
            errors = answer.context["adminform"].form.errors if answer.context else ""
            raise SystemExit(f"the admin save failed ({answer.status_code}): {errors}")
        say(f"admin save answered {answer.status_code} in {save_ms:.0f} ms")
        pass_s, slices = self._drain(client, say)
        changed = AttendanceRecord.objects.filter(session__course=course, revision__gt=0).count()
        say(f"pass: {slices} slices in {pass_s:.1f} s, {changed:,} records revised")
        self._drop()
        say(
            f"records={records} admin_save_ms={save_ms:.0f} pass_s={pass_s:.2f} "
            f"slices={slices} revised={changed}"
        )

    def _drain(self, client: Client, say: Any) -> tuple[float, int]:
        started, slices, next_report = time.perf_counter(), 0, 0.0
        while True:
            more = services.work_recompute_slice()
            slices += 1
            elapsed = time.perf_counter() - started
            if elapsed >= next_report or not more:
                health = client.get("/health", secure=True)
                backlog = json.loads(health.content)["checks"]["recompute"]
                say(f"  {elapsed:5.1f} s: /health backlog {backlog['items_left']} items left")
                next_report = elapsed + 1.0
            if not more:
                return elapsed, slices

    def _build(self, sessions: int, students: int) -> Course:
        now = timezone.now()
        room, _ = Room.objects.get_or_create(code=f"{PREFIX}-R")
        course = Course.objects.create(code=f"{PREFIX}1", name="Recompute bench", grace_minutes=10)
        people = Student.objects.bulk_create(
            Student(number=f"{PREFIX}{i:05d}", first_name="B", last_name=f"S{i}")
            for i in range(students)
        )
        Enrolment.objects.bulk_create(Enrolment(course=course, student=s) for s in people)
        held = ClassSession.objects.bulk_create(
            ClassSession(
                course=course, room=room, starts_at=now - timedelta(days=d + 1),
                ends_at=now - timedelta(days=d + 1) + timedelta(hours=1), finalised_at=now,
            )
            for d in range(sessions)
        )  # fmt: skip
        AttendanceRecord.objects.bulk_create(
            AttendanceRecord(
                session=s, session_starts_at=s.starts_at, student=p, status="late",
                computed_status="late", finalised=True,
            )
            for s in held
            for p in people
        )  # fmt: skip
        return course

    def _staff(self) -> Any:
        user, _ = get_user_model().objects.get_or_create(
            username=f"{PREFIX.lower()}-registrar",
            defaults={"is_staff": True, "is_superuser": True},
        )
        return user

    def _drop(self) -> None:
        RecomputeRequest.objects.filter(subject__startswith=f"course:{PREFIX}").delete()
        Course.objects.filter(code__startswith=PREFIX).delete()
        Student.objects.filter(number__startswith=PREFIX).delete()
        Room.objects.filter(code__startswith=PREFIX).delete()
        get_user_model().objects.filter(username__startswith=PREFIX.lower()).delete()


class _FormReader(HTMLParser):
    """The values a browser would send back from the admin's change form, as loaded."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, Any] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.values[name] = a.get("value") or ("on" if a.get("type") == "checkbox" else "")
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, [] if "multiple" in a else "")
        elif tag == "option" and self._select and "selected" in a:
            held = self.values[self._select]
            if isinstance(held, list):
                held.append(a.get("value") or "")
            else:
                self.values[self._select] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def _form_as_loaded(html: str) -> dict[str, Any]:
    reader = _FormReader()
    reader.feed(html)
    return reader.values
