"""A person's mark on an attendance record (a correction, an excuse, a roll call), audited.

The record keeps what the evidence says in `computed_status`; a mark sets `status`, makes
the record manual (recomputation leaves the status alone), and keeps both the previous
state (RecordRevision) and who changed it and why (AuditEntry). The caller holds the
student's lock (attendance.services), so no other writer is between the read and the write.
"""

from __future__ import annotations

from typing import Any

from attendance.live import RoomDelta, publish_on_commit
from attendance.models import AttendanceRecord, AuditEntry, ClassSession, RecordRevision, Status

REASON_MAX = 300


class CorrectionRefused(ValueError):
    """The mark itself is malformed (unknown status, missing reason, not enrolled)."""


def checked_reason(status: str, reason: str) -> str:
    """The reason, stripped; refuses an unknown status or a missing or long reason."""
    reason = (reason or "").strip()
    if status not in Status.values:
        raise CorrectionRefused(f"status must be one of {', '.join(Status.values)}")
    if not reason:
        raise CorrectionRefused("a reason is required")
    if len(reason) > REASON_MAX:
        raise CorrectionRefused(f"the reason is at most {REASON_MAX} characters")
    return reason


def mark_record(
    session: ClassSession, student_id: int, status: str, user: Any, reason: str
) -> AttendanceRecord:
    """Set `status` on the student's record of the session, creating it if the engine has
    not yet; read under the caller's student lock, so the revision follows the last one."""
    record = (
        AttendanceRecord.objects.select_for_update()
        .filter(session=session, student_id=student_id)
        .first()
    )
    if record is None:
        record = AttendanceRecord.objects.create(
            session=session, session_starts_at=session.starts_at, student_id=student_id
        )
    author = user.get_username() if user is not None else "system"
    RecordRevision.objects.create(
        record=record,
        revision=record.revision,
        status=record.status,
        minutes_present=record.minutes_present,
        first_seen=record.first_seen,
        last_seen=record.last_seen,
        flags=record.flags,
        cause=f"marked by {author}: {reason}"[:200],
    )
    AuditEntry.objects.create(
        record=record, user=user, old_status=record.status, new_status=status, reason=reason
    )
    record.status = status
    record.manual = True
    record.manual_reason = reason
    record.revision += 1
    record.save(update_fields=["status", "manual", "manual_reason", "revision", "updated_at"])
    return record


def publish_marks(session: ClassSession, numbers_by_status: dict[str, str]) -> None:
    """Other open live pages of the room show the new statuses once this commits."""
    publish_on_commit([], {session.room.code: RoomDelta(status=dict(numbers_by_status))})
