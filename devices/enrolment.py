"""Staff start an enrolment by tap: the reader then waits ENROL_BY_TAP_SECONDS for the
unknown card to give the student (the ingest claims it: attendance.engine.enrol_by_tap)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from attendance.models import Student
from devices.models import Reader, TapEnrolment


def request_enrolment(
    student: Student, reader: Reader, by: Any, now: datetime | None = None
) -> TapEnrolment:
    """Wait at `reader` for the student's new card. An earlier open request at that reader
    is closed (the newest choice is the one staff mean)."""
    now = now or timezone.now()
    with transaction.atomic():
        TapEnrolment.objects.filter(
            reader=reader, claimed_at__isnull=True, expires_at__gt=now
        ).update(expires_at=now)
        return TapEnrolment.objects.create(
            reader=reader,
            student=student,
            requested_by=by,
            requested_at=now,
            expires_at=now + timedelta(seconds=settings.ENROL_BY_TAP_SECONDS),
        )
