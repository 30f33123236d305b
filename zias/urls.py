from django.contrib import admin
from django.urls import include, path

from zias.health import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("health", health, name="health"),
    path("health/", health),
    path("api/", include("zias.api_urls")),
    path("", include("attendance.urls")),
]
