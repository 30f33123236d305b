"""Time-driven work: what the ingest loop runs between and around its batches."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from attendance.engine.ble.segments import silent_phone_moments
from attendance.engine.crowd import judge_settled_slice
from attendance.engine.loading import one_batch
from attendance.engine.locks import lock_students
from attendance.engine.publishing import publish_changes
from attendance.engine.records import recompute_records
from attendance.engine.reference import prune_changes
from attendance.engine.tick import close_due_visits, finalise_ended_sessions
from attendance.retention import purge_expired_when_due
from attendance.services.ble import apply_phone_reports
from attendance.warnings import check_warnings


def periodic_tick(now: datetime | None = None) -> None:
    """Time-driven work the ingest loop runs every few seconds: closing visits that are due
    (the room's last session ended, or the day did), finalising ended sessions, and keeping
    the reference change log short."""
    now = now or timezone.now()
    with transaction.atomic():
        closed = close_due_visits(now)
        publish_changes(closed.moves, closed.changes)
    silent = silent_phone_moments(now)
    if silent:
        apply_phone_reports(silent, now, "phone went silent")
    finalised = finalise_ended_sessions(now)
    if finalised.changes:
        with transaction.atomic():
            publish_changes([], finalised.changes)
    prune_changes()
    purge_expired_when_due(now)
    check_warnings(now)  # attendance warnings by email, at most every WARN_CHECK_SECONDS


def settle_door_taps(now: datetime | None = None) -> bool:
    """One slice of judging the door taps that have settled (several cards, one person);
    True if more wait. The ingest loop runs slices between its batches."""
    now = now or timezone.now()
    with one_batch(), transaction.atomic():
        judged = judge_settled_slice(now)
        if judged.pairs:
            # A batch may be replaying these students' days: wait for it (the batch locks
            # them too, in the same order), then recompute from what it committed.
            lock_students({student for _, student in judged.pairs})
            publish_changes([], recompute_records(judged.pairs, now, "taps judged at the door"))
    return judged.behind
