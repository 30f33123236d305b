"""CSV and XLSX responses for a Table, both streamed in constant memory.

CSV goes through the admin's CSV writer (zias.csv_export: times in the school's zone, the
same cell rules as the admin lists), line by line as the client reads. XLSX is written by
openpyxl's write-only mode, which keeps no rows in memory, into a temporary file that is
then streamed: a zip cannot be sent before it is finished. Its first row says what the
report is and which filter made it, the second names the columns, and both stay frozen
while scrolling; dates and times are real spreadsheet dates (in the school's zone, as
Excel has no time zones), counts are numbers.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from attendance.reports.tables import Column, Kind, Table
from zias.csv_export import csv_response

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
PCT_FORMAT = "0.0"


def export_response(table: Table, fmt: str) -> StreamingHttpResponse | FileResponse:
    if fmt == "csv":
        return table_csv(table)
    if fmt == "xlsx":
        return table_xlsx(table)
    raise ValueError(f"unknown export format {fmt!r}")


def table_csv(table: Table) -> StreamingHttpResponse:
    columns = [(c.name, itemgetter(i)) for i, c in enumerate(table.columns)]
    return csv_response(f"{table.name}.csv", columns, table.rows)


def table_xlsx(table: Table) -> FileResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(table.name[:31])  # Excel's limit on sheet names
    sheet.freeze_panes = "A3"
    bold = Font(bold=True)
    sheet.append([_styled(sheet, table.title, bold)])
    sheet.append([_styled(sheet, c.name, bold) for c in table.columns])
    for row in table.rows:
        sheet.append(xlsx_row(sheet, table.columns, row))
    out = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it when sent)
    workbook.save(out)
    out.seek(0)
    return FileResponse(
        out, as_attachment=True, filename=f"{table.name}.xlsx", content_type=XLSX_TYPE
    )


def xlsx_text(value: str) -> str:
    """The text with the control characters XML 1.0 cannot hold (openpyxl refuses them, and
    a filter or a name may carry one) shown as U+FFFD, so the export is written, not a 500."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)


def _styled(sheet: Any, value: str, font: Font) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=xlsx_text(value))
    cell.font = font
    return cell


def xlsx_row(sheet: Any, columns: Sequence[Column], row: Sequence[object]) -> list[object]:
    return [
        xlsx_cell(sheet, column.kind, value) for column, value in zip(columns, row, strict=True)
    ]


def xlsx_cell(sheet: Any, kind: Kind, value: object) -> object:
    if value is None:
        return None
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=timezone.localtime(value).replace(tzinfo=None))
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, list | tuple):
        return xlsx_text(" ".join(str(v) for v in value))
    if isinstance(value, str):
        return xlsx_text(value)
    if kind is Kind.PCT and isinstance(value, int | float):
        cell = WriteOnlyCell(sheet, value=float(value))
        cell.number_format = PCT_FORMAT  # one decimal, as the API gives it
        return cell
    return value
