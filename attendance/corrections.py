"""A teacher's or staff member's correction of an attendance record, audited.

The record keeps what the evidence says in `computed_status`; a correction sets `status`,
marks the record manual (so recomputation leaves the status alone), and keeps both the
previous state (RecordRevision) and who changed it and why (AuditEntry).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from attendance.live import RoomDelta, publish_on_commit
from attendance.models import AttendanceRecord, AuditEntry, RecordRevision, Status

REASON_MAX = 300


class CorrectionRefused(ValueError):
    """The correction itself is malformed (unknown status, missing reason)."""


def correct_record(
    record: AttendanceRecord, new_status: str, user: Any, reason: str
) -> AttendanceRecord:
    """Set `new_status` on the record with `reason`, in one transaction; returns the record."""
    reason = (reason or "").strip()
    if new_status not in Status.values:
        raise CorrectionRefused(f"status must be one of {', '.join(Status.values)}")
    if not reason:
        raise CorrectionRefused("a reason is required")
    if len(reason) > REASON_MAX:
        raise CorrectionRefused(f"the reason is at most {REASON_MAX} characters")
    with transaction.atomic():
        # Lock the row so a concurrent recomputation or correction cannot interleave.
        locked = AttendanceRecord.objects.select_for_update().get(pk=record.pk)
        RecordRevision.objects.create(
            record=locked,
            revision=locked.revision,
            status=locked.status,
            minutes_present=locked.minutes_present,
            first_seen=locked.first_seen,
            last_seen=locked.last_seen,
            flags=locked.flags,
            cause=f"corrected by {user.get_username()}: {reason}"[:200],
        )
        AuditEntry.objects.create(
            record=locked, user=user, old_status=locked.status, new_status=new_status, reason=reason
        )
        locked.status = new_status
        locked.manual = True
        locked.manual_reason = reason
        locked.revision += 1
        locked.save(update_fields=["status", "manual", "manual_reason", "revision", "updated_at"])
        # Other open live pages of the room show the new status once this commits.
        change = RoomDelta(status={record.student.number: new_status})
        publish_on_commit([], {record.session.room.code: change})
    return locked
