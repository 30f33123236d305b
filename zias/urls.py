from django.contrib import admin
from django.urls import include, path

from attendance.report_urls import admin_patterns as admin_report_patterns
from zias.health import health
from zias.metrics_view import metrics

urlpatterns = [
    # Before the admin's own URLs, which would answer anything under admin/ with a 404.
    path("admin/charts/", include("attendance.charts.urls")),
    path("admin/reports/", include(admin_report_patterns)),  # before the admin's catch-all
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("health", health, name="health"),
    path("health/", health),
    path("metrics", metrics, name="metrics"),
    path("metrics/", metrics),
    path("api/", include("zias.api_urls")),
    path("", include("attendance.urls")),
]
