"""The charts as the admin pages embed them, and as SVG files at /admin/charts/ (staff
only) for anyone who would rather link or save one."""

from __future__ import annotations

from datetime import date, datetime

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from attendance.charts.figures import arrivals, room_occupancy, weekly_rates
from attendance.charts.svg import Bar, Rule, bar_chart
from attendance.days import local_day
from attendance.models import Course, Room


def course_rate_chart(course: Course, now: datetime) -> SafeString:
    weeks = weekly_rates(course, now)
    bars = [
        Bar(
            f"{w.monday:%d %b}",
            w.rate,
            title=f"Week of {w.monday:%a %d %b %Y}: "
            f"{'-' if w.rate is None else f'{w.rate}%'} over {w.sessions} sessions",
        )
        for w in weeks
    ]
    rule = None
    if course.warn_below_pct is not None:
        rule = Rule(course.warn_below_pct, f"warning below {course.warn_below_pct}%")
    svg = bar_chart(
        bars, title=f"{course.code}: attendance rate per week", unit="%", y_max=100, rule=rule
    )
    return mark_safe(svg)  # noqa: S308 - bar_chart escapes every text it draws


def room_occupancy_chart(room: Room, day: date, now: datetime) -> SafeString:
    slots = room_occupancy(room, day, now)
    bars = [
        Bar(
            f"{s.starts:%H:%M}",
            s.count,
            title=f"{s.starts:%H:%M}: {s.count} in the room",
        )
        for s in slots
    ]
    svg = bar_chart(
        bars,
        title=f"{room.code}: people in the room on {day:%a %d %b %Y} (per 15 minutes)",
        rule=Rule(room.capacity, f"capacity {room.capacity}"),
        label_every=4,
        show_values=False,
    )
    return mark_safe(svg)  # noqa: S308 - bar_chart escapes every text it draws


def arrivals_chart(now: datetime) -> SafeString:
    day = local_day(now)
    slots = arrivals(day, now)
    bars = [Bar(f"{s.starts:%H:%M}", s.count, title=f"{s.starts:%H:%M}: {s.count}") for s in slots]
    svg = bar_chart(
        bars,
        title=f"Arrivals today, {day:%a %d %b}: first entry per student, per 5 minutes",
        label_every=12,
    )
    return mark_safe(svg)  # noqa: S308 - bar_chart escapes every text it draws


def _svg(content: str) -> HttpResponse:
    response = HttpResponse(content, content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "private, max-age=60"
    return response


@staff_member_required
def course_rate_svg(request: HttpRequest, code: str) -> HttpResponse:
    course = get_object_or_404(Course, code=code)
    return _svg(course_rate_chart(course, timezone.now()))


@staff_member_required
def room_occupancy_svg(request: HttpRequest, code: str) -> HttpResponse:
    room = get_object_or_404(Room, code=code)
    now = timezone.now()
    try:
        day = date.fromisoformat(request.GET["day"]) if "day" in request.GET else local_day(now)
    except ValueError:
        return HttpResponseBadRequest("day: expected a date as YYYY-MM-DD")
    return _svg(room_occupancy_chart(room, day, now))


@staff_member_required
def arrivals_svg(request: HttpRequest) -> HttpResponse:
    return _svg(arrivals_chart(timezone.now()))
