"""Spreadsheets for the import tests: write a CSV or XLSX file, run `import_data` on it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import connection
from openpyxl import Workbook


def write_csv(folder: Path, name: str, header: list[str], *rows: list[Any]) -> Path:
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(folder: Path, name: str, header: list[str], *rows: list[Any]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    path = folder / name
    book.save(path)
    return path


def csv_from_api(folder: Path, name: str, results: list[dict[str, Any]]) -> Path:
    """An API list page as a spreadsheet: lists joined by spaces, null as an empty cell."""

    def cell(value: Any) -> Any:
        if isinstance(value, list):
            return " ".join(str(v) for v in value)
        return "" if value is None else value

    header = list(results[0])
    return write_csv(folder, name, header, *[[cell(r[h]) for h in header] for r in results])


@dataclass
class Outcome:
    lines: list[str]
    status: int

    @property
    def last(self) -> str:
        return self.lines[-1]

    @property
    def errors(self) -> list[str]:
        return [line for line in self.lines if line.startswith("row ")]

    @property
    def counts(self) -> dict[str, int]:
        return {k: int(v) for k, v in (part.split("=") for part in self.last.split())}


def run_import(resource: str, path: Path, *flags: str) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    status = 0
    try:
        call_command("import_data", resource, str(path), *flags, stdout=out, stderr=err)
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    return Outcome(out.getvalue().splitlines(), status)


def count_every_table() -> dict[str, int]:
    """Rows in every table of the database, by name."""
    counts = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts
