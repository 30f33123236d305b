"""The excuses page: a student submits and follows their excuses; a teacher (or staff)
approves or rejects the ones covering their sessions. Documents are served only to those
who may see the excuse."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from attendance import excusing
from attendance.api.access import may_correct, student_of
from attendance.excuse_models import EXCUSE_REASON_MAX
from attendance.models import ClassSession, Excuse, ExcuseState

# The page lists at most this many pending excuses to decide (oldest first); the admin has all.
DECIDE_AT_MOST = 100
# Sessions a student may pick on the page: from a fortnight ago to a month ahead.
PICKABLE_BEFORE = timedelta(days=14)
PICKABLE_AFTER = timedelta(days=31)


class SessionChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        local = timezone.localtime(obj.starts_at)
        return f"{local:%a %d %b %H:%M} {obj.course.code} in {obj.room.code}"


class ExcuseForm(forms.Form):
    from_date = forms.DateField(
        label="From (first day)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    to_date = forms.DateField(
        label="To (last day)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sessions = SessionChoice(
        queryset=ClassSession.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Or the sessions",
    )
    reason = forms.CharField(max_length=EXCUSE_REASON_MAX)
    document = forms.FileField(required=False, help_text="PDF, JPEG or PNG.")

    def __init__(self, *args: Any, student: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        now = timezone.now()
        self.fields["sessions"].queryset = (  # type: ignore[attr-defined]
            ClassSession.objects.filter(
                course__enrolments__student=student,
                cancelled=False,
                starts_at__gte=now - PICKABLE_BEFORE,
                starts_at__lte=now + PICKABLE_AFTER,
            )
            .select_related("course", "room")
            .order_by("starts_at")
        )


def _decidable(user: Any) -> list[dict[str, Any]]:
    """Pending excuses with sessions this teacher (or staff) may decide."""
    rows = []
    pending = excusing.visible_excuses(user, Excuse.objects.filter(state=ExcuseState.PENDING))
    for excuse in (
        pending.select_related("student")
        .prefetch_related("covered__session__course", "covered__session__room")
        .order_by("submitted_at", "id")[:DECIDE_AT_MOST]
    ):
        mine = [
            c
            for c in excuse.covered.all()
            if c.state == ExcuseState.PENDING and may_correct(user, c.session)
        ]
        if mine:
            rows.append({"excuse": excuse, "sessions": mine})
    return rows


@login_required
def excuses_page(request: HttpRequest) -> HttpResponse:
    student = student_of(request.user)
    form = ExcuseForm(student=student) if student is not None else None
    return _render(request, student, form)


def _render(request: HttpRequest, student: Any, form: ExcuseForm | None) -> HttpResponse:
    own = (
        Excuse.objects.filter(student=student).prefetch_related(
            "covered__session__course", "covered__session__room"
        )
        if student is not None
        else []
    )
    return render(
        request,
        "attendance/excuses.html",
        {"student": student, "form": form, "own": own, "decide": _decidable(request.user)},
    )


@login_required
@require_POST
def submit_excuse(request: HttpRequest) -> HttpResponse:
    student = student_of(request.user)
    if student is None:
        raise PermissionDenied("Only students submit excuses here; staff use the admin.")
    form = ExcuseForm(request.POST, request.FILES, student=student)
    if not form.is_valid():
        return _render(request, student, form)
    data = form.cleaned_data
    ask = excusing.ExcuseRequest(
        student=student,
        reason=data["reason"],
        from_date=data["from_date"],
        to_date=data["to_date"],
        sessions=tuple(data["sessions"]),
        document=data["document"],
    )
    try:
        excusing.submit_excuse(ask, request.user)
    except excusing.ExcuseRefused as refused:
        form.add_error(None, str(refused))
        return _render(request, student, form)
    messages.success(request, "Excuse submitted; your teachers will decide it.")
    return redirect("excuses")


@login_required
@require_POST
def decide_excuse(request: HttpRequest, pk: int) -> HttpResponse:
    excuse = get_object_or_404(excusing.visible_excuses(request.user, Excuse.objects.all()), pk=pk)
    note = request.POST.get("note", "")
    try:
        if request.POST.get("decision") == "approve":
            count = excusing.approve_excuse(excuse, request.user, note)
            messages.success(request, f"Approved for {count} session(s); marked excused.")
        else:
            count = excusing.reject_excuse(excuse, request.user, note)
            messages.success(request, f"Rejected for {count} session(s).")
    except excusing.ExcuseForbidden as forbidden:
        raise PermissionDenied(str(forbidden)) from None
    except excusing.ExcuseRefused as refused:
        messages.error(request, f"Not saved: {refused}.")
    return redirect("excuses")


@login_required
def excuse_document(request: HttpRequest, pk: int) -> FileResponse:
    visible = excusing.visible_excuses(request.user, Excuse.objects.all())
    excuse = get_object_or_404(visible, pk=pk)
    if not excuse.document:
        raise Http404("This excuse has no document.")
    return FileResponse(excuse.document.open("rb"), as_attachment=True)
