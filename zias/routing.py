"""WebSocket routes; the apps add theirs here."""

from django.urls import path  # noqa: F401 - used as routes are added

websocket_urlpatterns: list = []
