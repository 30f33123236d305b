"""Reading a school's spreadsheet (CSV or XLSX) into rows, and a cell into the text the API
would have been sent.

Both the admin (through django-import-export's formats) and `import_data` read files with
tablib, so a file parses the same way on either path.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import tablib
from import_export.formats.base_formats import CSV, XLSX

# utf-8-sig: the byte-order mark Excel writes at the start of a "CSV UTF-8" file is dropped.
CSV_ENCODING = "utf-8-sig"
FORMATS = {".csv": CSV, ".xlsx": XLSX}


class UnreadableFile(Exception):
    """The file is not a CSV or XLSX sheet we can read; the message says why."""


def read_sheet(path: Path) -> tablib.Dataset:
    """The first sheet of a .csv or .xlsx file, its first row taken as the column names."""
    format_class = FORMATS.get(path.suffix.lower())
    if format_class is None:
        raise UnreadableFile(f"{path.name}: expected a .csv or .xlsx file")
    try:
        data = path.read_bytes()
        if format_class is CSV:
            return CSV(encoding=CSV_ENCODING).create_dataset(data)
        return XLSX().create_dataset(data)
    except OSError as exc:
        raise UnreadableFile(f"{path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UnreadableFile(f"{path.name}: not UTF-8 text (save the CSV as UTF-8)") from None
    except Exception as exc:  # tablib and openpyxl raise many kinds for a broken file
        raise UnreadableFile(f"{path.name}: cannot be read as {path.suffix}: {exc}") from None


def cell_text(value: Any) -> str:
    """A cell as text the API's fields parse: XLSX cells arrive as numbers, dates and
    booleans, CSV cells as strings. A date cell (a datetime at midnight) becomes a date."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        if value.time() == time.min and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def column_names(headers: list[Any] | None) -> list[str]:
    return [cell_text(h) for h in headers or []]
