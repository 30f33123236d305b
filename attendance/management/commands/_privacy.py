"""What the privacy commands share: finding the student, and who is running the command."""

from __future__ import annotations

import getpass

from django.contrib.auth.models import User
from django.core.management.base import CommandError, CommandParser

from attendance.models import Student


def add_common_arguments(parser: CommandParser) -> None:
    parser.add_argument("student", help="The student's number, e.g. S1001.")
    parser.add_argument(
        "--by",
        default="",
        help="The staff login this is done for, recorded in the audit (default: the shell "
        "user running the command).",
    )


def find_student(number: str) -> Student:
    try:
        return Student.objects.select_related("user").get(number=number)
    except Student.DoesNotExist:
        raise CommandError(f"no student with number {number!r}") from None


def acting_user(username: str) -> tuple[User | None, str]:
    if not username:
        return None, f"shell:{getpass.getuser()}"
    user = User.objects.filter(username=username, is_staff=True).first()
    if user is None:
        raise CommandError(f"--by {username!r}: no staff login by that name")
    return user, username
