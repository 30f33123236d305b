from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from attendance.demo import seed_demo


class Command(BaseCommand):
    help = (
        "Create a small demo school: rooms with readers and beacons, students with cards, "
        "courses with a timetable and sessions today, and a staff and a teacher login. "
        "Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--students", type=int, default=60, help="How many students (default 60)."
        )
        parser.add_argument(
            "--seed", type=int, default=7, help="Random seed for names and card UIDs."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        summary = seed_demo(students=options["students"], seed=options["seed"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo school ready: {summary.rooms} rooms, {summary.readers} readers, "
                f"{summary.students} students, {summary.sessions_today} sessions today."
            )
        )
        for role, username, password in summary.logins:
            self.stdout.write(f"  {role:8} login: {username} / {password}")
