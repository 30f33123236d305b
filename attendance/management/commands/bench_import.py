"""`manage.py bench_import`: how long a school's onboarding import takes.

Writes the spreadsheets a school starts with (students with a card each, courses with
their teachers, every student enrolled in a few courses), imports them with the same code
as `import_data`, and prints the time of each file, then of importing them all again
(every row unchanged). Its rows are numbered BENCH-...; they are removed before and after.
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from attendance.models import Course, Student
from devices.models import Card
from zias.imports.run import import_file

PREFIX = "BENCH-"


class Command(BaseCommand):
    help = (
        "Time the import of N students with cards, C courses with teachers and every "
        "student's enrolments (K courses each), then the same files again. Last line: "
        "key=value figures."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--students", type=int, default=2000)
        parser.add_argument("--courses", type=int, default=100)
        parser.add_argument("--per-student", type=int, default=5, help="courses per student")
        parser.add_argument("--keep", action="store_true", help="leave the rows in afterwards")

    def handle(self, *args: Any, **options: Any) -> None:
        students, courses, per = options["students"], options["courses"], options["per_student"]
        if not 0 < per <= courses:
            raise CommandError("--per-student must be between 1 and --courses")
        remove_bench_rows()
        teachers = make_teachers(max(1, courses // 5))
        with tempfile.TemporaryDirectory() as folder:
            files = write_files(Path(folder), students, courses, per, teachers)
            first = self.import_all(files, "first import")
            again = self.import_all(files, "again (unchanged)")
        if not options["keep"]:
            remove_bench_rows()
        rows = students + courses + students * per
        total = sum(first.values())
        load = os.getloadavg()[0]
        self.stdout.write(
            f"students={students} courses={courses} enrolments={students * per} load={load:.1f} "
            + " ".join(f"{name}_s={s:.2f}" for name, s in first.items())
            + f" total_s={total:.2f} rows_per_s={rows / total:.0f}"
            + f" reimport_s={sum(again.values()):.2f}"
        )

    def import_all(self, files: dict[str, Path], label: str) -> dict[str, float]:
        seconds = {}
        for resource, path in files.items():
            queries = QueryCounter()
            started = time.perf_counter()
            with connection.execute_wrapper(queries):
                result = import_file(resource, path)
            seconds[resource] = time.perf_counter() - started
            counts = result.counts()
            if counts["errors"]:
                raise CommandError(f"{resource}: {result.error_lines()[:5]}")
            rows = sum(counts.values())
            self.stdout.write(
                f"{label}: {resource:<10} {seconds[resource]:6.2f} s  {rows} rows  "
                f"{queries.count / rows:.1f} queries a row  "
                + " ".join(f"{k}={v}" for k, v in counts.items())
            )
        return seconds


class QueryCounter:
    """Counts the queries run (the figure that decides an import's time on a busy server)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def make_teachers(count: int) -> list[str]:
    users = get_user_model()
    names = [f"{PREFIX.lower()}teacher-{n}" for n in range(count)]
    for name in names:
        users.objects.get_or_create(username=name)
    return names


def write_files(
    folder: Path, students: int, courses: int, per: int, teachers: list[str]
) -> dict[str, Path]:
    numbers = [f"{PREFIX}S{n:05d}" for n in range(students)]
    codes = [f"{PREFIX}C{n:03d}" for n in range(courses)]
    return {
        "students": _write(
            folder / "students.csv",
            ["number", "first_name", "last_name", "email", "cards"],
            (
                [number, f"First{n}", f"Last{n}", f"s{n}@example.org", f"0B{n:06X}"]
                for n, number in enumerate(numbers)
            ),
        ),
        "courses": _write(
            folder / "courses.csv",
            ["code", "name", "teachers", "grace_minutes"],
            (
                [code, f"Course {n}", " ".join(teachers[n % len(teachers) :][:2]), "10"]
                for n, code in enumerate(codes)
            ),
        ),
        "enrolments": _write(
            folder / "enrolments.csv",
            ["course", "student"],
            (
                [codes[(n + k * (courses // per)) % courses], number]
                for n, number in enumerate(numbers)
                for k in range(per)
            ),
        ),
    }


def _write(path: Path, header: list[str], rows: Any) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def remove_bench_rows() -> None:
    Card.objects.filter(student__number__startswith=PREFIX).delete()
    Course.objects.filter(code__startswith=PREFIX).delete()
    Student.objects.filter(number__startswith=PREFIX).delete()
    get_user_model().objects.filter(username__startswith=PREFIX.lower()).delete()
