"""The admin side of recompute requests: the list, and what waits for one object.

A course, a session, a card or a reader shows on its own page how many recomputes its
last changes still have waiting, with a link to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from attendance.admin import ReadOnlyAdmin
from attendance.models import RecomputeRequest


@admin.register(RecomputeRequest)
class RecomputeRequestAdmin(ReadOnlyAdmin):
    list_display = ["requested_at", "subject", "cause", "progress", "finished_at"]
    list_filter = [("finished_at", admin.EmptyFieldListFilter)]
    search_fields = ["subject", "cause"]
    date_hierarchy = "requested_at"

    @admin.display(description="done")
    def progress(self, request: RecomputeRequest) -> str:
        return f"{min(request.position, request.total)}/{request.total}"


def show_pending_recomputes(model_admin: type[admin.ModelAdmin], subject: Callable[[Any], str]):  # type: ignore[no-untyped-def]
    """Give this admin's change page a read-only 'Pending recomputes' line."""

    @admin.display(description="Pending recomputes")
    def pending_recomputes(self: admin.ModelAdmin, obj: Any) -> str:
        if obj is None or obj.pk is None:
            return "-"
        key = subject(obj)
        waiting = RecomputeRequest.objects.filter(subject=key, finished_at__isnull=True).count()
        url = reverse("admin:attendance_recomputerequest_changelist")
        return format_html(
            '<a href="{}?q={}&finished_at__isempty=1">{} waiting</a>', url, key, waiting
        )

    model_admin.pending_recomputes = pending_recomputes  # type: ignore[attr-defined]
    model_admin.readonly_fields = (*model_admin.readonly_fields, "pending_recomputes")
    return model_admin
