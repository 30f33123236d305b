"""Phone reports into presence, outside a door batch (a phone gone silent, a re-run)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction

from attendance.engine.ble.apply import apply_ble
from attendance.engine.ble.segments import BleOutcome, students_of_phones
from attendance.engine.loading import one_batch
from attendance.engine.locks import lock_students


def apply_phone_reports(
    moments: Sequence[tuple[str, datetime]], now: datetime, cause: str
) -> BleOutcome:
    """Replay the phone segments holding these (phone id, moment) pairs, in a transaction
    that first locks the phones' students."""
    with one_batch(), transaction.atomic():
        lock_students(students_of_phones(p for p, _ in moments))
        return apply_ble(moments, now, cause)
