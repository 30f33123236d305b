"""Excuses: a student's note for a date range or chosen sessions, decided per session.

An excuse covers sessions (worked out when it is submitted: the chosen ones, and the
student's sessions in the date range). Each covered session is decided on its own, because a
course's teacher may decide only their own sessions and staff all of them; the excuse's
`state` follows its sessions: pending while any is undecided, approved when any was
approved, rejected when all were. Imported into attendance.models (Django finds models
there).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from attendance.models import ClassSession, Student

EXCUSE_REASON_MAX = 300


class ExcuseState(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Excuse(models.Model):
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="excuses")
    from_date = models.DateField(null=True, blank=True, help_text="First day (school's zone).")
    to_date = models.DateField(null=True, blank=True, help_text="Last day, inclusive.")
    sessions: models.ManyToManyField[ClassSession, ExcusedSession] = models.ManyToManyField(
        ClassSession, through="ExcusedSession", related_name="excuses", blank=True
    )
    reason = models.CharField(max_length=EXCUSE_REASON_MAX)
    document = models.FileField(upload_to="excuses/%Y/%m/", blank=True)
    state = models.CharField(
        max_length=8, choices=ExcuseState.choices, default=ExcuseState.PENDING, db_index=True
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who made the last decision on it.",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(
        max_length=EXCUSE_REASON_MAX, blank=True, help_text="The last decision's note."
    )

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(from_date__isnull=True)
                | Q(to_date__isnull=True)
                | Q(from_date__lte=models.F("to_date")),
                name="excuse_range_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"excuse {self.pk} for {self.student.number} ({self.state})"


class ExcusedSession(models.Model):
    """One session an excuse covers, and its decision (by the course's teacher or staff)."""

    excuse = models.ForeignKey(Excuse, on_delete=models.CASCADE, related_name="covered")
    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=8, choices=ExcuseState.choices, default=ExcuseState.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=EXCUSE_REASON_MAX, blank=True)

    class Meta:
        ordering = ["session__starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["excuse", "session"], name="excuse_session_once"),
        ]

    def __str__(self) -> str:
        return f"{self.excuse_id}: session {self.session_id} {self.state}"
