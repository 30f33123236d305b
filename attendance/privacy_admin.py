"""The admin's privacy actions on students (export, erase) and the audit of them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from attendance.erasure import ErasureRefused, erase_student
from attendance.models import PrivacyAction, Student
from attendance.personal_data import export_file_name, export_student


class StudentPrivacyActions:
    """Mixed into StudentAdmin (which lists the two actions): staff export or erase one
    student's personal data."""

    @admin.action(description="Export personal data (ZIP of JSON)")
    def export_personal_data(
        self, request: HttpRequest, queryset: QuerySet[Student]
    ) -> HttpResponse | None:
        student = _only_one(self, request, queryset, "export")
        if student is None:
            return None
        now = timezone.now()
        by, by_name = _staff(request)
        archive = export_student(student, by=by, by_name=by_name, now=now)
        response = HttpResponse(archive, content_type="application/zip")
        name = export_file_name(student, now)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(description="Erase personal data (pseudonymise; cannot be undone)")
    def erase_personal_data(
        self, request: HttpRequest, queryset: QuerySet[Student]
    ) -> HttpResponse | None:
        student = _only_one(self, request, queryset, "erase")
        if student is None:
            return None
        if request.POST.get("confirmed") != student.number:
            return TemplateResponse(
                request,
                "admin/attendance/student/erase_confirmation.html",
                {
                    **self.admin_site.each_context(request),  # type: ignore[attr-defined]
                    "title": "Erase a student's personal data",
                    "student": student,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                    "opts": Student._meta,
                    "typed_wrong": "confirmed" in request.POST,
                },
            )
        by, by_name = _staff(request)
        try:
            erased = erase_student(student, by=by, by_name=by_name, now=timezone.now())
        except ErasureRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)  # type: ignore[attr-defined]
            return None
        removed = ", ".join(f"{n} {what}" for what, n in erased.removed.items() if n)
        summary = f"Erased: the student is now {erased.pseudonym} (removed {removed or 'nothing'})."
        self.message_user(request, summary)  # type: ignore[attr-defined]
        return None


def _staff(request: HttpRequest) -> tuple[User | None, str]:
    user = request.user
    return (user if isinstance(user, User) else None), user.get_username()


def _only_one(
    model_admin: object, request: HttpRequest, queryset: QuerySet[Student], verb: str
) -> Student | None:
    if queryset.count() != 1:
        model_admin.message_user(  # type: ignore[attr-defined]
            request, f"Select exactly one student to {verb}.", messages.WARNING
        )
        return None
    return queryset.select_related("user").get()


@admin.register(PrivacyAction)
class PrivacyActionAdmin(admin.ModelAdmin):
    list_display = ["at", "kind", "student", "by_name"]
    list_filter = ["kind"]
    date_hierarchy = "at"
    search_fields = ["student__number", "by_name"]
    readonly_fields = ["kind", "student", "by", "by_name", "at", "detail"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
