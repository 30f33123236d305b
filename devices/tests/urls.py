from django.urls import include, path

from zias.health import health

# What the lead's zias/urls.py is asked to add: devices.urls under /api/v1/.
urlpatterns = [path("api/v1/", include("devices.urls")), path("health", health)]
