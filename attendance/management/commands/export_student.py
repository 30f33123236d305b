"""`manage.py export_student S1001`: everything held about a student, as JSON in a ZIP."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from attendance.management.commands._privacy import acting_user, add_common_arguments, find_student
from attendance.personal_data import export_file_name, export_student


class Command(BaseCommand):
    help = (
        "Write everything ZIAS holds about one student (their details, login, cards, phones, "
        "enrolments, visits, records and revisions, flags, door taps, BLE reports) as JSON "
        "files in a ZIP archive. The export is recorded in the privacy audit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_common_arguments(parser)
        parser.add_argument(
            "--out", default="", help="Where to write the ZIP (default: a dated name here)."
        )

    def handle(self, *args: object, **options: object) -> None:
        student = find_student(str(options["student"]))
        by, by_name = acting_user(str(options["by"]))
        now = timezone.now()
        archive = export_student(student, by=by, by_name=by_name, now=now)
        out = Path(str(options["out"]) or export_file_name(student, now))
        out.write_bytes(archive)
        self.stdout.write(self.style.SUCCESS(f"wrote {out} ({len(archive):,} bytes)"))
