"""WebSocket routes."""

from django.urls import re_path

from attendance.consumers import RoomConsumer

websocket_urlpatterns = [
    re_path(r"^ws/rooms/(?P<code>[A-Za-z0-9._-]{1,32})/?$", RoomConsumer.as_asgi()),
]
