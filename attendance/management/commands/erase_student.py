"""`manage.py erase_student S1001`: pseudonymise a student and remove their raw sightings."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from attendance.erasure import ErasureRefused, erase_student
from attendance.management.commands._privacy import acting_user, add_common_arguments, find_student


class Command(BaseCommand):
    help = (
        "Erase a student's personal data: their name, number, e-mail and login details are "
        "replaced by a pseudonym; their cards, phones, door taps, BLE reports and rejected "
        "messages are deleted; their records, visits and enrolments stay under the pseudonym, "
        "so courses' rates do not change. Cannot be undone: run export_student first if the "
        "student asked for their data. Recorded in the privacy audit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_common_arguments(parser)
        parser.add_argument(
            "--yes", action="store_true", help="Do not ask for confirmation (for scripts)."
        )

    def handle(self, *args: object, **options: object) -> None:
        student = find_student(str(options["student"]))
        by, by_name = acting_user(str(options["by"]))
        if not options["yes"]:
            answer = input(f"Erase {student}? This cannot be undone. Type the number again: ")
            if answer.strip() != student.number:
                raise CommandError("not confirmed; nothing changed")
        try:
            erased = erase_student(student, by=by, by_name=by_name, now=timezone.now())
        except ErasureRefused as exc:
            raise CommandError(str(exc)) from None
        for what, count in erased.removed.items():
            self.stdout.write(f"removed {count} {what}")
        for what, count in erased.scrubbed.items():
            self.stdout.write(f"scrubbed {count} rows of {what}")
        self.stdout.write(self.style.SUCCESS(f"erased; the student is now {erased.pseudonym}"))
