"""Routes of the report pages, included twice: under /admin/reports/ for staff and under
/reports/ for teachers (see attendance.report_pages for the url names)."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path

from attendance import report_pages
from attendance.reports.catalogue import REPORTS


def _patterns(site: str, index: Any, page: Any) -> list[URLPattern]:
    patterns = [path("", index, name=report_pages.url_name(site, "index"))]
    for name, entry in REPORTS.items():
        route = report_pages.url_name(site, name)
        patterns.append(path(f"{name}/", page, {"name": name}, name=route))
        if entry.key:
            detail = path(f"{name}/<str:key>/", page, {"name": name}, name=f"{route}-detail")
            patterns.append(detail)
    return patterns


admin_patterns = _patterns(report_pages.ADMIN, report_pages.admin_index, report_pages.admin_report)
teacher_patterns = _patterns(
    report_pages.TEACHER, report_pages.teacher_index, report_pages.teacher_report
)
