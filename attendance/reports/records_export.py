"""All the records a filter selects, as a table that streams in constant memory.

MySQL's client reads a whole result set into memory, even through Django's iterator(),
so the rows are read in keyset pages of PAGE rows instead: newest session first, then by
id (the list's own order, served by the record_newest_first index), each page starting
after the last row of the one before. Memory holds one page whatever the total.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from django.db.models import Q, QuerySet

from attendance.models import AttendanceRecord
from attendance.reports.tables import Column, Kind, Table, integer, text

PAGE = 2000
FIELDS = (
    "id", "session_id", "session_starts_at", "session__course__code", "session__room__code",
    "student__number", "student__first_name", "student__last_name", "status",
    "computed_status", "first_seen", "last_seen", "minutes_present", "flags", "manual",
    "manual_reason",
)  # fmt: skip
COLUMNS = [
    integer("id"), integer("session"), Column("session_start", Kind.DATETIME), text("course"),
    text("room"), text("student"), text("name"), text("status"), text("computed_status"),
    Column("first_seen", Kind.DATETIME), Column("last_seen", Kind.DATETIME),
    integer("minutes_present"), text("flags"), Column("manual", Kind.BOOL), text("manual_reason"),
]  # fmt: skip


def keyset_rows(records: QuerySet[AttendanceRecord], page: int = PAGE) -> Iterator[tuple]:
    """Every row of `records` (newest session first), read `page` at a time.

    Each page is cut on the records table alone (start and id, from the index), then its
    full rows are read by id: ordering the joined rows would have the database sort them
    all for every page, as for the list (IdsFirstPagination).
    """
    keys = records.order_by("-session_starts_at", "id").values_list("session_starts_at", "id")
    full = records.order_by().values_list(*FIELDS)
    after: tuple[datetime, int] | None = None
    while True:
        chunk = keys
        if after is not None:
            start, last_id = after
            chunk = keys.filter(
                Q(session_starts_at__lt=start) | Q(session_starts_at=start, id__gt=last_id)
            )
        cut = list(chunk[:page])
        if not cut:
            return
        rows = {row[0]: row for row in full.filter(id__in=[pk for _, pk in cut])}
        yield from (rows[pk] for _, pk in cut if pk in rows)
        if len(cut) < page:
            return
        after = cut[-1]


def as_row(row: tuple) -> list[object]:
    (pk, session, starts, course, room, number, first, last, status, computed, first_seen,
     last_seen, minutes, flags, manual, reason) = row  # fmt: skip
    name = f"{first} {last}".strip()
    return [pk, session, starts, course, room, number, name, status, computed, first_seen,
            last_seen, minutes, flags, manual, reason]  # fmt: skip


def records_table(records: QuerySet[AttendanceRecord], filters: Mapping[str, str]) -> Table:
    used = ", ".join(f"{k}={v}" for k, v in sorted(filters.items()) if k != "format" and v)
    return Table(
        name="records",
        title=f"Attendance records ({used or 'no filter'}), newest session first",
        columns=COLUMNS,
        rows=(as_row(r) for r in keyset_rows(records)),
    )
