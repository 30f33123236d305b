"""Enrol by tap: staff choose a student and a reader; the next unknown card tapped on that
reader within ENROL_BY_TAP_SECONDS becomes the student's card (attendance.engine.enrol_by_tap
claims the request inside the ingest batch). Imported into devices.models."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models

from attendance.models import Student


class TapEnrolment(models.Model):
    reader = models.ForeignKey("devices.Reader", on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    card = models.ForeignKey(
        "devices.Card", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["reader", "claimed_at", "expires_at"], name="enrol_open")]
        verbose_name = "card enrolment by tap"
        verbose_name_plural = "card enrolments by tap"

    def __str__(self) -> str:
        return f"{self.student.number} at {self.reader.device_id}"

    def state_at(self, now: datetime) -> str:
        if self.claimed_at is not None:
            return "enrolled"
        return "waiting for a tap" if now < self.expires_at else "expired"
