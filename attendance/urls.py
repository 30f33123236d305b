from django.urls import include, path

from attendance import excuse_views, views
from attendance.report_urls import teacher_patterns

urlpatterns = [
    path("", views.home, name="home"),
    path("rooms/<str:code>/", views.room_page, name="room"),
    path("rooms/<str:code>/correct", views.correct, name="room-correct"),
    path("rooms/<str:code>/roll-call", views.roll_call, name="room-roll-call"),
    path("excuses/", excuse_views.excuses_page, name="excuses"),
    path("excuses/submit", excuse_views.submit_excuse, name="excuse-submit"),
    path("excuses/<int:pk>/decide", excuse_views.decide_excuse, name="excuse-decide"),
    path("excuses/<int:pk>/document", excuse_views.excuse_document, name="excuse-document"),
    path("reports/", include(teacher_patterns)),
]
