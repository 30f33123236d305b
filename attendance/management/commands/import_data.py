"""`manage.py import_data RESOURCE FILE [--dry-run] [--atomic]`: a school's spreadsheet in."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zias.imports.registry import RESOURCES
from zias.imports.run import import_file
from zias.imports.sheets import UnreadableFile


class Command(BaseCommand):
    help = (
        "Import a CSV or XLSX file (first sheet; the first row names the columns, as the "
        "provisioning API names its fields; lists such as a course's teachers separated by "
        "spaces). Rows are matched by natural key, so importing a file again updates and "
        "never duplicates. Each bad row is reported as 'row N: column: message' (the "
        "header is row 1) and the good rows go in, unless --atomic. The last line is "
        "'created=N updated=N unchanged=N errors=N'; the exit status is 1 when errors > 0."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("resource", choices=sorted(RESOURCES), help="what the file holds")
        parser.add_argument("file", type=Path, help="a .csv (UTF-8) or .xlsx file")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check every row and report what would happen; write nothing",
        )
        parser.add_argument(
            "--atomic",
            action="store_true",
            help="all or nothing: if any row is bad, import none of them",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run, atomic = options["dry_run"], options["atomic"]
        try:
            result = import_file(
                options["resource"],
                options["file"],
                dry_run=dry_run,
                atomic=atomic,
                progress=self._progress,
            )
        except UnreadableFile as exc:
            raise CommandError(str(exc)) from None
        for line in result.error_lines():
            self.stdout.write(line)
        counts = result.counts()
        if dry_run:
            self.stdout.write("dry run: nothing was written; the counts say what would be")
        elif counts["errors"] and (atomic or result.has_errors()):
            self.stdout.write("nothing was imported: the import is all or nothing")
            counts = {**counts, "created": 0, "updated": 0, "unchanged": 0}
        self.stdout.write(" ".join(f"{name}={n}" for name, n in counts.items()))
        if counts["errors"]:
            sys.exit(1)

    def _progress(self, done: int, total: int) -> None:
        if done % 1000 == 0 or done == total:
            self.stderr.write(f"{done} of {total} rows")
