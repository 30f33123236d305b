"""The devices app's API routes; the project includes them under /api/v1/."""

from django.urls import path

from devices.http_events import AttendanceEventView

urlpatterns = [
    path("attendance/event", AttendanceEventView.as_view(), name="attendance-event"),
    path("attendance/event/", AttendanceEventView.as_view()),
]
