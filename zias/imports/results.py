"""What an import reports: each row's outcome, the counts, and every problem as
`row N: column: message`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from import_export.results import Result, RowResult


class RefusedByDatabase(Exception):
    """A row's save broke a constraint while its chunk shared one savepoint."""


class RowInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def api_errors(detail: Any, whole_row: str) -> dict[str, list[str]]:
    """DRF's error detail as {column: [message]}; errors about the row as a whole are
    filed under `whole_row` (the key columns)."""
    if not isinstance(detail, dict):
        detail = {NON_FIELD_ERRORS: detail}
    errors: dict[str, list[str]] = {}
    for field, messages in detail.items():
        column = whole_row if field in (NON_FIELD_ERRORS, "non_field_errors") else field
        errors.setdefault(column, []).extend(flatten(messages))
    return errors


def flatten(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in flatten(value)]
    if isinstance(messages, list | tuple):
        return [m for value in messages for m in flatten(value)]
    return [str(messages)]


class SheetResult(Result):
    def counts(self) -> dict[str, int]:
        """What the command prints last: created, updated, unchanged, errors."""
        t = self.totals
        return {
            "created": t[RowResult.IMPORT_TYPE_NEW],
            "updated": t[RowResult.IMPORT_TYPE_UPDATE],
            "unchanged": t[RowResult.IMPORT_TYPE_SKIP],
            "errors": t[RowResult.IMPORT_TYPE_INVALID] + t[RowResult.IMPORT_TYPE_ERROR],
        }

    def error_lines(self) -> list[str]:
        """Every problem as `row N: column: message`, in row order."""
        lines = []
        for invalid in self.invalid_rows:
            for column, messages in invalid.error_dict.items():
                lines += [f"row {invalid.number}: {column}: {m}" for m in messages]
        for number, errors in self.row_errors():
            lines += [f"row {number}: -: unexpected error ({e.error!r})" for e in errors]
        lines += [f"file: -: {e.error}" for e in self.base_errors]
        return sorted(lines, key=lambda line: _row_number(line))


def _row_number(line: str) -> int:
    head = line.split(":", 1)[0]
    return int(head[4:]) if head.startswith("row ") else 0
