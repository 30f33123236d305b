"""The HTTP API: `/api/v1/...`, the OpenAPI schema and its docs. Included under `api/`.

Every path answers with and without a trailing slash (the router's "/?" and the
re_path routes below); anything else under /api/ is a JSON 404, not an HTML page.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from attendance.api.auth import LoginView, RefreshView
from attendance.api.excuses import ExcuseViewSet
from attendance.api.provisioning import CourseViewSet, RoomViewSet, SessionViewSet, StudentViewSet
from attendance.api.records import RecordViewSet
from attendance.api.report_views import (
    BelowThresholdView,
    ConsecutiveAbsencesView,
    CourseRegisterView,
    FlagsReportView,
    RoomUseView,
    SessionsWithoutEvidenceView,
    StudentReportView,
)
from attendance.api.reports import RealtimeView, SummaryView
from attendance.api.schedule import (
    EnrolmentViewSet,
    HolidayViewSet,
    TermViewSet,
    TimetableSlotViewSet,
)
from beacons.api.views import BeaconViewSet, PhoneRegistrationView
from devices.api.views import CardViewSet, EventViewSet, ReaderViewSet, RejectedViewSet


class OptionalSlashRouter(SimpleRouter):
    """DRF's router with the trailing slash optional (its constructor only takes on/off)."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("attendance/records", RecordViewSet, basename="record")
router.register("rooms", RoomViewSet, basename="room")
router.register("students", StudentViewSet, basename="student")
router.register("cards", CardViewSet, basename="card")
router.register("devices", ReaderViewSet, basename="device")
router.register("courses", CourseViewSet, basename="course")
router.register("sessions", SessionViewSet, basename="session")
router.register("beacons", BeaconViewSet, basename="beacon")
router.register("terms", TermViewSet, basename="term")
router.register("holidays", HolidayViewSet, basename="holiday")
router.register("timetable-slots", TimetableSlotViewSet, basename="timetable-slot")
router.register("enrolments", EnrolmentViewSet, basename="enrolment")
router.register("events", EventViewSet, basename="event")
router.register("rejected", RejectedViewSet, basename="rejected")
router.register("excuses", ExcuseViewSet, basename="excuse")

v1: list[URLPattern | URLResolver] = [
    re_path(r"^auth/login/?$", LoginView.as_view(), name="api-login"),
    re_path(r"^auth/refresh/?$", RefreshView.as_view(), name="token-refresh"),
    re_path(r"^attendance/summary/(?P<student>[^/]+)/?$", SummaryView.as_view(), name="summary"),
    re_path(r"^attendance/realtime/(?P<room>[^/]+)/?$", RealtimeView.as_view(), name="realtime"),
    re_path(
        r"^reports/course/(?P<code>[^/]+)/?$",
        CourseRegisterView.as_view(),
        name="report-api-course",
    ),
    re_path(
        r"^reports/student/(?P<number>[^/]+)/?$",
        StudentReportView.as_view(),
        name="report-api-student",
    ),
    re_path(
        r"^reports/below-threshold/?$",
        BelowThresholdView.as_view(),
        name="report-api-below-threshold",
    ),
    re_path(
        r"^reports/consecutive-absences/?$",
        ConsecutiveAbsencesView.as_view(),
        name="report-api-consecutive-absences",
    ),
    re_path(
        r"^reports/sessions-without-evidence/?$",
        SessionsWithoutEvidenceView.as_view(),
        name="report-api-sessions-without-evidence",
    ),
    re_path(r"^reports/flags/?$", FlagsReportView.as_view(), name="report-api-flags"),
    re_path(r"^reports/rooms/(?P<code>[^/]+)/?$", RoomUseView.as_view(), name="report-api-room"),
    re_path(r"^phones/?$", PhoneRegistrationView.as_view(), name="phones"),
    path("", include("devices.urls")),  # attendance/event: the HTTP side of the ingest
    path("", include(router.urls)),
]


@csrf_exempt  # a JSON 404 for any method, not Django's HTML CSRF page
def api_not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    return JsonResponse({"detail": "No such API endpoint."}, status=404)


urlpatterns = [
    path("v1/", include(v1)),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    re_path(r"^(?P<rest>[\s\S]*)$", api_not_found),  # [\s\S]: even a path with a newline
]
