from django.urls import path

from attendance import views

urlpatterns = [
    path("", views.home, name="home"),
    path("rooms/<str:code>/", views.room_page, name="room"),
    path("rooms/<str:code>/correct", views.correct, name="room-correct"),
]
