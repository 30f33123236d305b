"""Enrol by tap in the admin: choose a student and a reader, then tap the new card there."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from attendance.admin import StudentAdmin
from attendance.models import Student
from devices.enrolment import request_enrolment
from devices.models import TapEnrolment


@admin.register(TapEnrolment)
class TapEnrolmentAdmin(admin.ModelAdmin):
    list_display = ["student", "reader", "requested_by", "requested_at", "state", "card"]
    list_select_related = ["student", "reader", "requested_by", "card"]
    search_fields = ["student__number", "student__last_name", "reader__device_id"]
    autocomplete_fields = ["student", "reader"]
    date_hierarchy = "requested_at"
    fields = ["student", "reader"]

    @admin.display(description="state")
    def state(self, obj: TapEnrolment) -> str:
        return obj.state_at(timezone.now())

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a request is made and claimed, not edited

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        made = request_enrolment(obj.student, obj.reader, request.user)
        obj.pk = made.pk
        obj.refresh_from_db()
        self.message_user(
            request,
            f"Tap {obj.student.full_name}'s new card on {obj.reader.device_id} within "
            f"{settings.ENROL_BY_TAP_SECONDS} s; the reader answers with their name.",
            messages.INFO,
        )


@admin.action(description="Enrol a card by tap (one student)")
def enrol_card_by_tap(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Student]
) -> HttpResponseRedirect | None:
    """From the students' list: the enrolment page with the student chosen; staff pick
    the reader there."""
    if queryset.count() != 1:
        model_admin.message_user(request, "Choose exactly one student.", messages.WARNING)
        return None
    page = reverse("admin:devices_tapenrolment_add")
    return HttpResponseRedirect(f"{page}?student={queryset.get().pk}")


def _add_action(model_admin: type[admin.ModelAdmin], action: Any) -> None:
    model_admin.actions = [*(model_admin.actions or []), action]


# On the students' list, like the cards inline (attendance does not import devices).
_add_action(StudentAdmin, enrol_card_by_tap)
