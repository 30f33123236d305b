"""Attendance warnings sent by email, and what became of each (attendance.warnings)."""

from __future__ import annotations

from django.db import models


class WarningKind(models.TextChoices):
    RATE_BELOW = "rate_below", "Rate below the threshold"
    ABSENCE_STREAK = "absence_streak", "Absences in a row"


class WarningState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cause removed before sending"
    RETRACTING = "retracting", "Cause removed; withdrawal notice waiting to be sent"
    RETRACTED = "retracted", "Cause removed after sending; withdrawn"


class AttendanceWarning(models.Model):
    """One warning about one student in one course, at one level.

    `key` names the warning's level and cause, so the same warning is never made (or sent)
    twice. A warning whose cause a later change removed (an excuse, a late tap) keeps its row,
    with the state saying so, and is never sent again.
    """

    course = models.ForeignKey(
        "attendance.Course", on_delete=models.CASCADE, related_name="warnings"
    )
    student = models.ForeignKey(
        "attendance.Student", on_delete=models.CASCADE, related_name="warnings"
    )
    kind = models.CharField(max_length=16, choices=WarningKind.choices)
    level = models.PositiveSmallIntegerField(
        help_text="The threshold (percent) or the number of absences in a row."
    )
    key = models.CharField(max_length=120, unique=True, editable=False)
    state = models.CharField(
        max_length=12, choices=WarningState.choices, default=WarningState.PENDING
    )
    as_of = models.DateTimeField(help_text="The end of the last session the warning counts.")
    sessions_ended = models.PositiveIntegerField(help_text="The course's sessions ended by then.")
    rate = models.FloatField(null=True, blank=True, help_text="The student's rate then (percent).")
    missed = models.JSONField(
        default=list, help_text="The sessions missed: id, start, end, room and status of each."
    )
    recipients = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_because = models.CharField(max_length=300, blank=True)
    notice_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "warning"
        indexes = [
            models.Index(fields=["course", "student"], name="warning_course_student"),
            models.Index(fields=["state"], name="warning_state"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    state__in=["pending", "sent", "cancelled", "retracting", "retracted"]
                ),
                name="warning_state_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.level}) for {self.student_id} in {self.course_id}"

    @property
    def live(self) -> bool:
        """Its cause still stands (as far as the last check knows)."""
        return self.state in (WarningState.PENDING, WarningState.SENT)
