"""Time the staff dashboard, the charts and the warnings check on bench_api's school.

    python manage.py bench_api --requests 5   # builds the school once (1M records)
    python manage.py bench_dashboard

Prints p50/p95 of the admin index (the dashboard, through the whole Django stack, logged in
as staff), of a course's weekly-rate chart and of a room's occupancy chart; then the first
warnings check on the database (every record), and a later one after a batch of records
changed, as the ingest's tick runs it. Mail goes to Django's in-memory backend, and the
warnings the run made are removed at the end. The last line is machine-readable.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from attendance.charts.pages import course_rate_chart, room_occupancy_chart
from attendance.days import local_day
from attendance.management.commands.bench_api import COURSES, ROOMS
from attendance.models import AttendanceRecord, AttendanceWarning, Course, EngineCursor, Room
from attendance.warnings import CURSOR, check_warnings

STAFF = "bench-dashboard-staff"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--requests", type=int, default=20, help="timed runs each")
        parser.add_argument("--changed", type=int, default=500, help="records changed")

    def handle(self, *args: object, **options: int) -> None:
        course = Course.objects.filter(code__startswith=COURSES).order_by("code").first()
        room = Room.objects.filter(code__startswith=ROOMS).order_by("code").first()
        if course is None or room is None:
            raise CommandError("no bench school: run `manage.py bench_api` first")
        records = AttendanceRecord.objects.count()
        self.stdout.write(f"{records:,} records, {connection.vendor}")
        figures: dict[str, float] = {}
        n = options["requests"]
        client = self._staff_client()
        now = timezone.now()
        timings = {
            "admin_index": lambda: self._get(client, "/admin/"),
            "course_chart": lambda: course_rate_chart(course, now),
            "room_chart": lambda: room_occupancy_chart(room, local_day(now), now),
        }
        for name, run in timings.items():
            p50, p95 = self._time(run, n)
            figures[f"{name}_p50_ms"], figures[f"{name}_p95_ms"] = p50, p95
            self.stdout.write(f"{name:>14}: p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
        figures.update(self._warnings(options["changed"]))
        self.stdout.write(" ".join(f"{k}={v}" for k, v in figures.items()))

    def _staff_client(self) -> Client:
        user, _ = get_user_model().objects.get_or_create(
            username=STAFF, defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        client.force_login(user)
        return client

    def _get(self, client: Client, path: str) -> None:
        response = client.get(path, SERVER_NAME="localhost")
        if response.status_code != 200:
            raise CommandError(f"{path} answered {response.status_code}")

    def _time(self, run: Callable[[], object], n: int) -> tuple[float, float]:
        run()  # warm: templates, the count caches, the database's buffers
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            run()
            samples.append((time.perf_counter() - start) * 1000)
        samples.sort()
        p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
        return round(statistics.median(samples), 1), round(p95, 1)

    @override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    def _warnings(self, changed: int) -> dict[str, float]:
        before = set(AttendanceWarning.objects.values_list("id", flat=True))
        EngineCursor.objects.filter(name=CURSOR).delete()
        try:
            start = time.perf_counter()
            first = check_warnings(timezone.now())
            first_ms = (time.perf_counter() - start) * 1000
            self.stdout.write(
                f"first warnings check: {first_ms:,.0f} ms for {first.students_checked:,} "
                f"course-students; {first.created:,} warnings made, {first.sent:,} sent"
            )
            newest = AttendanceRecord.objects.order_by("-id").values_list("id", flat=True)
            ids = list(newest[:changed])
            AttendanceRecord.objects.filter(id__in=ids).update(updated_at=timezone.now())
            later = timezone.now() + timedelta(minutes=5)  # the next check is due by then
            start = time.perf_counter()
            again = check_warnings(later)
            again_ms = (time.perf_counter() - start) * 1000
            self.stdout.write(
                f"later check after {changed} records changed: {again_ms:,.0f} ms for "
                f"{again.students_checked:,} course-students"
            )
        finally:
            AttendanceWarning.objects.exclude(id__in=before).delete()
            EngineCursor.objects.filter(name=CURSOR).delete()
        return {
            "first_check_ms": round(first_ms),
            "first_check_students": first.students_checked,
            "later_check_ms": round(again_ms),
            "later_check_students": again.students_checked,
        }
