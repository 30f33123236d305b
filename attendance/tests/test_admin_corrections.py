"""Staff correct records from the admin through the one door: audited, never a form save."""

from __future__ import annotations

from typing import TYPE_CHECKING

from attendance.models import AttendanceRecord, AuditEntry, Visit

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]
CHANGELIST = "/admin/attendance/attendancerecord/"


def test_the_admin_action_marks_the_selected_records_with_a_reason(school: School, client) -> None:
    client.force_login(school.staff)
    answer = client.post(
        CHANGELIST,
        {"action": "correct", "_selected_action": [school.ada_math.pk, school.ada_bio.pk],
         "status": "excused", "reason": "school trip"},
        follow=True,
    )  # fmt: skip
    assert answer.status_code == 200
    for record in AttendanceRecord.objects.filter(pk__in=[school.ada_math.pk, school.ada_bio.pk]):
        assert (record.status, record.manual, record.manual_reason) == (
            "excused", True, "school trip",
        )  # fmt: skip
    audits = AuditEntry.objects.filter(user=school.staff, new_status="excused")
    assert audits.count() == 2


def test_without_a_reason_nothing_changes_and_staff_are_told(school: School, client) -> None:
    client.force_login(school.staff)
    answer = client.post(
        CHANGELIST,
        {"action": "correct", "_selected_action": [school.ada_math.pk], "status": "excused",
         "reason": ""},
        follow=True,
    )  # fmt: skip
    assert "a reason is required" in answer.content.decode()
    assert not AuditEntry.objects.exists()


def test_records_and_visits_cannot_be_edited_by_a_form(school: School, client) -> None:
    client.force_login(school.staff)
    record_page = f"{CHANGELIST}{school.ada_math.pk}/change/"
    before = AttendanceRecord.objects.get(pk=school.ada_math.pk)
    client.post(record_page, {"manual_reason": "typed in"})
    assert AttendanceRecord.objects.get(pk=school.ada_math.pk).revision == before.revision
    visit = Visit.objects.first()
    assert visit is not None
    answer = client.post(f"/admin/attendance/visit/{visit.pk}/change/", {"left_at_0": ""})
    assert answer.status_code == 403
