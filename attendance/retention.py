"""Retention: raw BLE reports and rejected messages are deleted once they are old enough.

Phones' scan reports are by far the largest table and say where a student was, minute by
minute; rejected messages are kept for staff to see what went wrong. Both are removed a
slice at a time by the ingest's periodic tick (RETENTION_* settings; 0 keeps forever).

Never removed, whatever its age: a BLE report from the local day of a session that is
not final yet (not finalised, or with a record still open), because recomputing that
session's records may read it. (Messages the server failed on are kept apart, in
quarantine, and are not touched here.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet

from attendance.days import day_bounds, local_day
from attendance.models import AttendanceRecord, ClassSession
from devices.models import EventType, RawEvent, RejectedMessage, SenderKind

# The tick runs every few seconds; looking for expired rows once a minute is plenty,
# unless the last look found a full slice (then the next tick takes the next slice).
CHECK_EVERY_S = 60.0
# Past this many protected days, only what is older than the first of them is purged:
# fewer clauses, still never touching a protected day.
MAX_PROTECTED_WINDOWS = 200

_next_check = 0.0


@dataclass(frozen=True)
class Purged:
    ble_reports: int = 0
    rejected: int = 0

    @property
    def full(self) -> bool:
        """True when a slice was full: more may be waiting."""
        limit = settings.RETENTION_SLICE_ROWS
        return self.ble_reports >= limit or self.rejected >= limit


def purge_expired_when_due(now: datetime) -> Purged:
    """The periodic tick's call: a slice when a minute has passed or more was waiting."""
    global _next_check
    if time.monotonic() < _next_check:
        return Purged()
    purged = purge_expired_slice(now)
    _next_check = 0.0 if purged.full else time.monotonic() + CHECK_EVERY_S
    return purged


def purge_expired_slice(now: datetime) -> Purged:
    """Delete up to RETENTION_SLICE_ROWS expired rows of each kind; returns the counts."""
    limit = settings.RETENTION_SLICE_ROWS
    return Purged(
        ble_reports=_delete_ids(RawEvent.objects.all(), _expired_ble_reports(now), limit),
        rejected=_delete_ids(RejectedMessage.objects.all(), _expired_rejected(now), limit),
    )


def expired_ble_reports(now: datetime) -> QuerySet[RawEvent]:
    return _expired_ble_reports(now) or RawEvent.objects.none()


def expired_rejected(now: datetime) -> QuerySet[RejectedMessage]:
    return _expired_rejected(now) or RejectedMessage.objects.none()


def _expired_ble_reports(now: datetime) -> QuerySet[RawEvent] | None:
    days = settings.RETENTION_BLE_REPORT_DAYS
    if not days:
        return None
    cutoff = now - timedelta(days=days)
    reports = RawEvent.objects.filter(
        sender_kind=SenderKind.PHONE, type=EventType.BLE, ts__lt=cutoff
    )
    windows = protected_windows(cutoff)
    if len(windows) > MAX_PROTECTED_WINDOWS:
        return reports.filter(ts__lt=windows[0][0])
    keep = Q()
    for lo, hi in windows:
        keep |= Q(ts__gte=lo, ts__lt=hi)
    return reports.exclude(keep) if windows else reports


def _expired_rejected(now: datetime) -> QuerySet[RejectedMessage] | None:
    days = settings.RETENTION_REJECTED_DAYS
    if not days:
        return None
    return RejectedMessage.objects.filter(received_at__lt=now - timedelta(days=days))


def protected_windows(before: datetime) -> list[tuple[datetime, datetime]]:
    """The local days (as UTC ranges, merged, in order) of sessions starting before
    `before` whose records are not all final: their BLE evidence must stay."""
    open_sessions = ClassSession.objects.filter(
        starts_at__lt=before, cancelled=False, finalised_at__isnull=True
    ).values_list("starts_at", flat=True)
    open_records = (
        AttendanceRecord.objects.filter(session_starts_at__lt=before, finalised=False)
        .values_list("session_starts_at", flat=True)
        .distinct()
    )
    days = {local_day(moment) for moment in [*open_sessions, *open_records]}
    windows: list[tuple[datetime, datetime]] = []
    for day in sorted(days):
        lo, hi = day_bounds(day)
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], hi)
        else:
            windows.append((lo, hi))
    return windows


def _delete_ids(table: QuerySet, expired: QuerySet | None, limit: int) -> int:
    if expired is None:
        return 0
    # Oldest first, by primary key: the slice's delete touches only rows it named.
    ids = list(expired.order_by("pk").values_list("pk", flat=True)[:limit])
    if not ids:
        return 0
    deleted, _ = table.filter(pk__in=ids).delete()
    return deleted
