"""The report pages: staff's in the admin (/admin/reports/), teachers' on the site
(/reports/, their own courses). Both show the same Table the exports write, with the
filter form and links to the CSV and XLSX of exactly what is shown.

Url names: `report-index` and `report-<name>` for the admin pages, `teacher-report-index`
and `teacher-report-<name>` for the teachers' (names as in attendance.reports.catalogue).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from attendance.models import FlagKind, Room, Term
from attendance.reports.catalogue import REPORTS
from attendance.reports.export import FORMATS, export_response
from attendance.reports.period import ReportParamError, parse_period
from attendance.reports.scope import NotAllowed, Scope, scope_for
from attendance.reports.tables import Kind

SHOWN_ROWS = 1000  # a page shows this many rows; the exports hold them all
ADMIN, TEACHER = "admin", "teacher"


def url_name(site: str, name: str) -> str:
    return f"report-{name}" if site == ADMIN else f"teacher-report-{name}"


def _context(request: HttpRequest, site: str, scope: Scope) -> dict[str, Any]:
    courses = scope.courses().order_by("code")
    if not scope.everything:
        courses = courses.filter(pk__in=scope.taught)
    rooms = Room.objects.order_by("code")
    if not scope.everything:
        rooms = rooms.filter(sessions__course_id__in=scope.taught).distinct()
    context: dict[str, Any] = admin.site.each_context(request) if site == ADMIN else {}
    context.update(
        site=site,
        base="admin/base_site.html" if site == ADMIN else "base.html",
        index_url=reverse(url_name(site, "index")),
        courses=list(courses.values_list("code", "name")),
        rooms=list(rooms.values_list("code", flat=True)),
        terms=list(Term.objects.values_list("name", flat=True)),
        kinds=FlagKind.choices,
        reports=[{"entry": e, "url": reverse(url_name(site, e.name))} for e in REPORTS.values()],
    )
    return context


def index(request: HttpRequest, site: str) -> HttpResponse:
    scope = scope_for(request.user)
    if not scope.is_staff_or_teacher:
        raise PermissionDenied("Reports are for staff and teachers.")
    return render(request, "reports/index.html", _context(request, site, scope))


def report(request: HttpRequest, site: str, name: str, key: str = "") -> HttpResponseBase:
    entry = REPORTS[name]
    scope = scope_for(request.user)
    if not scope.is_staff_or_teacher:
        raise PermissionDenied("Reports are for staff and teachers.")
    if entry.key and not key:  # the index's picker sends ?key=...
        picked = (request.GET.get("key") or "").strip()
        if picked:
            query = request.GET.copy()
            query.pop("key")
            target = reverse(url_name(site, name) + "-detail", args=[picked])
            return redirect(f"{target}?{query.urlencode()}" if query else target)
        return redirect(reverse(url_name(site, "index")))
    context = _context(request, site, scope)
    context.update(entry=entry, key=key, params=request.GET, error=None, table=None)
    try:
        period = parse_period(request.GET)
        built = entry.build(request.GET, scope, period, timezone.now(), key)
    except ReportParamError as bad:
        context["error"] = str(bad)
        return render(request, "reports/report.html", context, status=400)
    except NotAllowed as refused:
        raise PermissionDenied(str(refused)) from None
    fmt = request.GET.get("format", "")
    if fmt in FORMATS:
        return export_response(entry.as_table(built), fmt)
    table = entry.as_table(built)
    rows: list[list[str]] = []
    for row in table.rows:
        if len(rows) == SHOWN_ROWS:
            context["cut"] = True
            break
        rows.append([shown(c.kind, v) for c, v in zip(table.columns, row, strict=True)])
    query = request.GET.copy()
    query.pop("format", None)
    context.update(
        table=table, rows=rows, shown=SHOWN_ROWS, query=query.urlencode(),
        csv_query=_with_format(query, "csv"), xlsx_query=_with_format(query, "xlsx"),
    )  # fmt: skip
    return render(request, "reports/report.html", context)


def shown(kind: Kind, value: object) -> str:
    """A cell as a person reads it: times in the school's zone, rates with a percent sign."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind is Kind.PCT and isinstance(value, int | float):
        return f"{value:.1f}%"
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def _with_format(query: Any, fmt: str) -> str:
    copy = query.copy()
    copy["format"] = fmt
    return str(copy.urlencode())


# The two sites' entry points: the admin's needs a staff login, the teachers' a login.


@staff_member_required
def admin_index(request: HttpRequest) -> HttpResponse:
    return index(request, ADMIN)


@staff_member_required
def admin_report(request: HttpRequest, name: str, key: str = "") -> HttpResponseBase:
    return report(request, ADMIN, name, key)


@login_required
def teacher_index(request: HttpRequest) -> HttpResponse:
    return index(request, TEACHER)


@login_required
def teacher_report(request: HttpRequest, name: str, key: str = "") -> HttpResponseBase:
    return report(request, TEACHER, name, key)
