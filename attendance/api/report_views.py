"""`/api/v1/reports/...`: the seven reports as JSON, CSV or XLSX, scoped by role.

Every report takes `from` and `to` (dates, inclusive, in the school's time zone) and
`term` (a term's name: its dates fill whichever bound is missing). A bad parameter is a
400 that says which; a role that may not see a report gets a 403.
"""

from __future__ import annotations

from typing import Any

from django.http.response import HttpResponseBase
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from attendance.api import report_schema as shapes
from attendance.api.common import ApiPagination
from attendance.api.exports import FORMAT_PARAMETER, ExportMixin, export_responses
from attendance.api.schema import ApiDefaults
from attendance.models import FlagKind
from attendance.reports import (
    below_threshold,
    consecutive,
    course_register,
    flags,
    no_evidence,
    rooms,
    student,
)
from attendance.reports.catalogue import REPORTS
from attendance.reports.export import export_response
from attendance.reports.period import (
    Period,
    ReportParamError,
    parse_period,
)
from attendance.reports.scope import NotAllowed, Scope, scope_for
from attendance.reports.tables import Table

PERIOD_PARAMETERS = [
    OpenApiParameter("from", str, description="First day, YYYY-MM-DD (inclusive)."),
    OpenApiParameter("to", str, description="Last day, YYYY-MM-DD (inclusive)."),
    OpenApiParameter("term", str, description="A term's name; its dates fill a missing bound."),
    FORMAT_PARAMETER,
]
COURSE_FILTER = OpenApiParameter("course", str, description="Only this course (its code).")
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page of `results` (1 first)."),
    OpenApiParameter("page_size", int, description="Rows a page (default 50, at most 500)."),
]


def period_json(period: Period) -> dict[str, object]:
    return period.as_dict()


class ReportView(ExportMixin, ApiDefaults, APIView):
    """Parses the period, works out the scope, and answers JSON or a file."""

    pagination_class = None

    def build(self, request: Request, scope: Scope, period: Period, **kwargs: Any) -> Any:
        raise NotImplementedError

    def to_json(self, report: Any) -> dict[str, Any]:
        raise NotImplementedError

    def to_table(self, report: Any) -> Table:
        raise NotImplementedError

    def paged(self, rows: list) -> tuple[list, dict[str, Any]]:
        """One page of a long list (`page`, `page_size` up to 500), as the API's lists."""
        paginator = ApiPagination()
        page: list = paginator.paginate_queryset(rows, self.request, view=self) or []  # type: ignore[arg-type]
        count = len(rows)
        links = {"next": paginator.get_next_link(), "previous": paginator.get_previous_link()}
        return page, {"count": count, **links}

    def get(self, request: Request, **kwargs: Any) -> HttpResponseBase:
        scope = scope_for(request.user)
        if not scope.sees_anything:
            raise PermissionDenied("Reports are for staff, teachers and students.")
        try:
            report = self.build(request, scope, parse_period(request.query_params), **kwargs)
        except ReportParamError as bad:
            raise ParseError(str(bad)) from None
        except NotAllowed as refused:
            raise PermissionDenied(str(refused)) from None
        fmt = self.export_format(request)
        if fmt is not None:
            return export_response(self.to_table(report), fmt)
        return Response(self.to_json(report))


@extend_schema(
    tags=["reports"], parameters=PERIOD_PARAMETERS,
    responses=export_responses(shapes.CourseRegisterSerializer),
)  # fmt: skip
class CourseRegisterView(ReportView):
    """The course's students by its held sessions, with a status in every cell (a student
    sees only their own row)."""

    def build(self, request: Request, scope: Scope, period: Period, **kwargs: Any) -> Any:
        entry = REPORTS["course"]
        return entry.build(request.query_params, scope, period, timezone.now(), kwargs["code"])

    def to_json(self, report: course_register.CourseRegister) -> dict[str, Any]:
        return {
            "course": report.course,
            "name": report.name,
            "period": period_json(report.period),
            "sessions": [
                {
                    "id": s.id,
                    "starts_at": s.starts_at,
                    "ends_at": s.ends_at,
                    "room": s.room,
                    **s.counts,
                    "unrecorded": s.unrecorded,
                }
                for s in report.sessions
            ],
            "students": [
                {"student": r.student, "name": r.name, "marks": r.marks, **r.counts.as_dict()}
                for r in report.rows
            ],
        }

    def to_table(self, report: course_register.CourseRegister) -> Table:
        return course_register.as_table(report)


@extend_schema(
    tags=["reports"], parameters=PERIOD_PARAMETERS,
    responses=export_responses(shapes.StudentReportSerializer),
)  # fmt: skip
class StudentReportView(ReportView):
    """Every course the student takes (a teacher: those they teach), with the sessions
    missed."""

    def build(self, request: Request, scope: Scope, period: Period, **kwargs: Any) -> Any:
        entry = REPORTS["student"]
        return entry.build(request.query_params, scope, period, timezone.now(), kwargs["number"])

    def to_json(self, report: student.StudentReport) -> dict[str, Any]:
        return {
            "student": report.student,
            "name": report.name,
            "period": period_json(report.period),
            "courses": [
                {
                    "course": c.course,
                    "name": c.name,
                    **c.counts.as_dict(),
                    "missed": [vars(m) for m in c.missed],
                }
                for c in report.courses
            ],
        }

    def to_table(self, report: student.StudentReport) -> Table:
        return student.as_table(report)


@extend_schema(
    tags=["reports"],
    parameters=[
        *PERIOD_PARAMETERS,
        OpenApiParameter("pct", float, description="Threshold in percent (default 75)."),
        OpenApiParameter("min_sessions", int, description="Held sessions at least (default 3)."),
        COURSE_FILTER,
        *PAGE_PARAMETERS,
    ],
    responses=export_responses(shapes.BelowThresholdSerializer),
)
class BelowThresholdView(ReportView):
    """Students whose rate in a course is under `pct` after at least `min_sessions` held
    sessions, lowest rate first within each course."""

    def build(self, request: Request, scope: Scope, period: Period, **kwargs: Any) -> Any:
        entry = REPORTS["below-threshold"]
        return entry.build(request.query_params, scope, period, timezone.now(), "")

    def to_json(self, report: below_threshold.BelowThreshold) -> dict[str, Any]:
        rows, links = self.paged(report.rows)
        return {
            "pct": report.pct,
            "min_sessions": report.min_sessions,
            "period": period_json(report.period),
            **links,
            "results": [
                {
                    "course": r.course,
                    "student": r.student,
                    "name": r.name,
                    "sessions": r.counts.sessions,
                    "attended": r.counts.attended,
                    "excused": r.counts.by_status["excused"],
                    "rate": r.counts.rate,
                    "last_attended": r.counts.last_attended,
                }
                for r in rows
            ],
        }

    def to_table(self, report: below_threshold.BelowThreshold) -> Table:
        return below_threshold.as_table(report)


@extend_schema(
    tags=["reports"],
    parameters=[
        *PERIOD_PARAMETERS,
        OpenApiParameter("n", int, description="Absences in a row at least (default 3)."),
        COURSE_FILTER,
        *PAGE_PARAMETERS,
    ],
    responses=export_responses(shapes.ConsecutiveAbsencesSerializer),
)
class ConsecutiveAbsencesView(ReportView):
    """Runs of `n` or more absences in a row in a course (excused sessions left out)."""

    def build(self, request: Request, scope: Scope, period: Period, **kwargs: Any) -> Any:
        entry = REPORTS["consecutive-absences"]
        return entry.build(request.query_params, scope, period, timezone.now(), "")

    def to_json(self, report: consecutive.ConsecutiveAbsences) -> dict[str, Any]:
        rows, links = self.paged(report.rows)
        return {
            "n": report.n,
            "period": period_json(report.period),
            **links,
            "results": [vars(r) for r in rows],
        }

    def to_table(self, report: consecutive.ConsecutiveAbsences) -> Table:
        return consecutive.as_table(report)


@extend_schema(
    tags=["reports"], parameters=[*PERIOD_PARAMETERS, COURSE_FILTER],
    responses=export_responses(shapes.SessionsWithoutEvidenceSerializer),
)  # fmt: skip
class SessionsWithoutEvidenceView(ReportView):
    """Held sessions nobody was seen in, and readers that stored nothing during a held
    session (staff, and teachers for their courses)."""

    def build(self, request: Request, scope: Scope, period: Period, **kwargs: Any) -> Any:
        entry = REPORTS["sessions-without-evidence"]
        return entry.build(request.query_params, scope, period, timezone.now(), "")

    def to_json(self, report: no_evidence.SessionsWithoutEvidence) -> dict[str, Any]:
        return {
            "period": period_json(report.period),
            "sessions": [vars(s) for s in report.sessions],
            "silent_readers": [vars(r) for r in report.silent_readers],
        }

    def to_table(self, report: no_evidence.SessionsWithoutEvidence) -> Table:
        return no_evidence.as_table(report)


@extend_schema(
    tags=["reports"],
    parameters=[
        *PERIOD_PARAMETERS,
        COURSE_FILTER,
        OpenApiParameter("kind", str, enum=[k.value for k in FlagKind], description="One kind."),
        OpenApiParameter("student", str, description="Only this student (their number)."),
    ],
    responses=export_responses(shapes.FlagsReportSerializer),
)
class FlagsReportView(ReportView):
    """Anti-proxy flags by kind, course and student, with the evidence."""

    def build(self, request: Request, scope: Scope, period: Period, **kwargs: Any) -> Any:
        entry = REPORTS["flags"]
        return entry.build(request.query_params, scope, period, timezone.now(), "")

    def to_json(self, report: flags.FlagsReport) -> dict[str, Any]:
        return {
            "period": period_json(report.period),
            "count": report.total,
            "by_kind": report.by_kind,
            "by_course": report.by_course,
            "by_student": report.by_student,
            "results": [
                {
                    "id": f.pk,
                    "at": f.at,
                    "kind": f.kind,
                    "course": f.session.course.code if f.session else None,
                    "student": f.student.number if f.student else None,
                    "room": f.room.code if f.room else None,
                    "detail": f.detail,
                    "evidence": f.evidence,
                }
                for f in report.flags
            ],
        }

    def to_table(self, report: flags.FlagsReport) -> Table:
        return flags.as_table(report)


@extend_schema(
    tags=["reports"], parameters=PERIOD_PARAMETERS,
    responses=export_responses(shapes.RoomUseSerializer),
)  # fmt: skip
class RoomUseView(ReportView):
    """The room's occupancy over each day (from visits; the last 7 days unless `from` and
    `to` say otherwise) and its held sessions against its capacity."""

    def build(self, request: Request, scope: Scope, period: Period, **kwargs: Any) -> Any:
        entry = REPORTS["rooms"]
        return entry.build(request.query_params, scope, period, timezone.now(), kwargs["code"])

    def to_json(self, report: rooms.RoomUse) -> dict[str, Any]:
        return {
            "room": report.room,
            "capacity": report.capacity,
            "period": period_json(report.period),
            "mean_peak_by_hour": report.mean_peak_by_hour,
            "days": [
                {"day": d.day, "peak": d.peak, "peak_by_hour": d.peak_by_hour} for d in report.days
            ],
            "sessions": [{**vars(s), "use_pct": s.use_pct} for s in report.sessions],
        }

    def to_table(self, report: rooms.RoomUse) -> Table:
        return rooms.as_table(report)
