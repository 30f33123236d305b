"""Excuses in the admin: staff submit one for any student, and approve or reject the
selected ones (all their pending sessions) through attendance.excusing, like the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from attendance import excusing
from attendance.models import ClassSession, Excuse, ExcusedSession


class ExcuseAddForm(forms.ModelForm):
    chosen_sessions = forms.ModelMultipleChoiceField(
        queryset=ClassSession.objects.select_related("course", "room").order_by("-starts_at"),
        required=False,
        label="Sessions",
        help_text="Or give a date range; the student's sessions in it are covered.",
    )

    class Meta:
        model = Excuse
        fields = ["student", "from_date", "to_date", "reason", "document"]

    def excuse_request(self) -> excusing.ExcuseRequest:
        data = self.cleaned_data
        return excusing.ExcuseRequest(
            student=data["student"],
            reason=data.get("reason", ""),
            from_date=data.get("from_date"),
            to_date=data.get("to_date"),
            sessions=tuple(data.get("chosen_sessions") or ()),
            document=data.get("document") or None,
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("student") is not None and not self.errors:
            try:
                excusing.covered_sessions(self.excuse_request())
            except excusing.ExcuseRefused as refused:
                raise forms.ValidationError(str(refused)) from None
        return data


class DecisionForm(forms.Form):
    note = forms.CharField(max_length=300, label="Note for the student")


class ExcusedSessionInline(admin.TabularInline):
    model = ExcusedSession
    extra = 0
    can_delete = False
    fields = ("session", "state", "decided_by", "decided_at", "note")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Excuse)
class ExcuseAdmin(admin.ModelAdmin):
    list_display = ["id", "student", "from_date", "to_date", "state", "submitted_at",
                    "decided_by"]  # fmt: skip
    list_filter = ["state"]
    search_fields = ["student__number", "student__last_name", "reason"]
    date_hierarchy = "submitted_at"
    list_select_related = ["student", "decided_by"]
    inlines = [ExcusedSessionInline]
    actions = ["approve_selected", "reject_selected"]
    readonly_fields = ["student", "from_date", "to_date", "reason", "document", "state",
                       "submitted_by", "submitted_at", "decided_by", "decided_at",
                       "decision_note"]  # fmt: skip

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ExcuseAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.inlines if obj is not None else []

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["student", "from_date", "to_date", "chosen_sessions", "reason", "document"]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return  # an excuse is decided, not edited
        created = excusing.submit_excuse(form.excuse_request(), request.user)
        obj.pk = created.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # the covered sessions are written by submit_excuse, decisions by the actions

    @admin.action(description="Approve selected excuses (marks their sessions excused)")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Excuse]) -> None:
        self._decide_all(request, queryset, excusing.approve_excuse, "")

    @admin.action(description="Reject selected excuses, with a note")
    def reject_selected(
        self, request: HttpRequest, queryset: QuerySet[Excuse]
    ) -> HttpResponse | None:
        form = DecisionForm(request.POST if "note" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._decide_all(request, queryset, excusing.reject_excuse, form.cleaned_data["note"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject excuses",
            "form": form,
            "excuses": queryset,
            "opts": self.model._meta,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/attendance/excuse/reject.html", context)

    def _decide_all(
        self, request: HttpRequest, queryset: QuerySet[Excuse], decide: Any, note: str
    ) -> None:
        done, refused = 0, []
        for excuse in queryset.select_related("student"):
            try:
                decide(excuse, request.user, note)
                done += 1
            except (excusing.ExcuseRefused, excusing.ExcuseForbidden) as why:
                refused.append(f"excuse {excuse.pk}: {why}")
        if done:
            self.message_user(request, f"{done} excuse(s) decided.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)
