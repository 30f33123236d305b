"""Teachers' pages: today's sessions, and the live room page with corrections."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from attendance import rollcall, services
from attendance.api.access import (
    is_staff,
    live_access_margin,
    may_correct,
    may_watch_room,
    rooms_teacher_may_watch,
)
from attendance.days import day_bounds, local_day
from attendance.livepage import page_state
from attendance.models import ClassSession, Room, Status, Student, Visit


@login_required
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    start, end = day_bounds(local_day(now))
    sessions = ClassSession.objects.filter(starts_at__gte=start, starts_at__lt=end, cancelled=False)
    if not is_staff(request.user):
        sessions = sessions.filter(course__teachers=request.user.pk)
    sessions = sessions.select_related("course", "room").order_by("starts_at")
    room_ids = {s.room_id for s in sessions}
    counts = dict(
        Visit.objects.filter(room_id__in=room_ids, left_at__isnull=True)
        .values_list("room_id")
        .annotate(n=Count("student_id", distinct=True))
    )
    staff = is_staff(request.user)
    watchable = set() if staff else rooms_teacher_may_watch(request.user, now)
    rows = [
        {
            "session": s,
            "count": counts.get(s.room_id, 0),
            "running": s.starts_at <= now < s.ends_at,
            "ended": s.ends_at <= now,
            "watchable": staff or s.room_id in watchable,
            "watch_opens_at": s.starts_at - live_access_margin(),
        }
        for s in sessions
    ]
    rooms = Room.objects.order_by("code") if staff else None
    return render(request, "attendance/home.html", {"rows": rows, "rooms": rooms, "now": now})


@login_required
def room_page(request: HttpRequest, code: str) -> HttpResponse:
    room = get_object_or_404(Room, code=code)
    now = timezone.now()
    if not may_watch_room(request.user, room, now):
        raise PermissionDenied(
            "Only staff, and a teacher around one of their own sessions in this room, may watch it."
        )
    return render(
        request,
        "attendance/room.html",
        {
            "room": room,
            "state": page_state(room, now),
            "statuses": Status.choices,
            "roll_call_statuses": [(s.value, s.label) for s in rollcall.ROLL_CALL_STATUSES],
            "time_zone": settings.TIME_ZONE,  # the page shows wall-clock times in this zone
        },
    )


@login_required
@require_POST
def correct(request: HttpRequest, code: str) -> HttpResponse:
    """Excuse or correct one student's record in a session, with a reason (audited)."""
    session = get_object_or_404(
        ClassSession.objects.select_related("room"), pk=request.POST.get("session"), room__code=code
    )
    if not may_correct(request.user, session):
        raise PermissionDenied("You may correct only your own courses' records.")
    student = get_object_or_404(Student, number=request.POST.get("student", ""))
    status = request.POST.get("status", "")
    try:
        services.correct_attendance(
            session, student, status, request.user, request.POST.get("reason", "")
        )
    except services.CorrectionRefused as refused:
        messages.error(request, f"Not saved: {refused}.")
    else:
        messages.success(request, f"{student.full_name}: marked {status}.")
    return redirect("room", code=code)


@login_required
@require_POST
def roll_call(request: HttpRequest, code: str) -> JsonResponse:
    """The live page's roll call, as JSON: `{"session", "reason", "marks": [{"student",
    "status"}]}`, or `"not_arrived": true` instead of marks for everyone not yet arrived
    (marked absent). Answers `{"marked": [{"student", "status"}]}`, or `{"error"}` with 400."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": "the body must be JSON"}, status=400)
    if not isinstance(body, dict):
        return JsonResponse({"error": "the body must be a JSON object"}, status=400)
    session_id, reason = body.get("session"), body.get("reason")
    session = (
        ClassSession.objects.select_related("room").filter(pk=session_id, room__code=code).first()
        if isinstance(session_id, int)
        else None
    )
    if session is None:
        return JsonResponse({"error": "no such session in this room"}, status=404)
    if not may_correct(request.user, session):
        return JsonResponse({"error": "you may mark only your own courses' sessions"}, status=403)
    reason = reason if isinstance(reason, str) else ""
    try:
        if body.get("not_arrived") is True:
            marked = rollcall.mark_not_arrived_absent(session, request.user, reason)
        else:
            marks = _marks_of(body.get("marks"))
            marked = rollcall.mark_students(session, marks, request.user, reason)
    except rollcall.RollCallRefused as refused:
        return JsonResponse({"error": str(refused)}, status=400)
    return JsonResponse({"marked": [{"student": n, "status": s} for n, s in marked]})


def _marks_of(raw: object) -> list[tuple[str, str]]:
    if not isinstance(raw, list) or not all(
        isinstance(m, dict)
        and isinstance(m.get("student"), str)
        and isinstance(m.get("status"), str)
        for m in raw
    ):
        raise rollcall.RollCallRefused('marks: a list of {"student", "status"}')
    return [(m["student"], m["status"]) for m in raw]
