"""services.correct_attendance: the audited door behind the API's and the page's corrections."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from attendance.models import AttendanceRecord, AuditEntry, RecordRevision
from attendance.services import CorrectionRefused, correct_attendance


def correct_record(record: AttendanceRecord, status: str, user, reason: str) -> AttendanceRecord:
    return correct_attendance(record.session, record.student, status, user, reason)


if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]


def test_two_corrections_keep_each_previous_state(school: School) -> None:
    correct_record(school.ada_math, "excused", school.tina, "Doctor's note")
    record = correct_record(school.ada_math, "present", school.staff, "Note was wrong")
    assert (record.status, record.revision, record.manual_reason) == (
        "present", 2, "Note was wrong",
    )  # fmt: skip
    revisions = RecordRevision.objects.filter(record=record).order_by("revision")
    assert [(r.revision, r.status) for r in revisions] == [(0, "late"), (1, "excused")]
    audits = AuditEntry.objects.filter(record=record).order_by("at", "id")
    assert [(a.old_status, a.new_status) for a in audits] == [
        ("late", "excused"), ("excused", "present"),
    ]  # fmt: skip


def test_the_evidence_verdict_is_kept_beside_the_correction(school: School) -> None:
    school.ada_math.computed_status = "late"
    school.ada_math.save()
    record = correct_record(school.ada_math, "excused", school.tina, "Doctor")
    assert record.computed_status == "late" and record.evidence_disagrees


@pytest.mark.parametrize(
    ("status", "reason"), [("asleep", "r"), ("present", "  "), ("present", "x" * 301)]
)
def test_a_malformed_correction_changes_nothing(school: School, status, reason) -> None:
    with pytest.raises(CorrectionRefused):
        correct_record(school.ada_math, status, school.tina, reason)
    assert AttendanceRecord.objects.get(pk=school.ada_math.pk).revision == 0
    assert not AuditEntry.objects.exists() and not RecordRevision.objects.exists()
