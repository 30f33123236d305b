from django.urls import path

from attendance.charts.pages import arrivals_svg, course_rate_svg, room_occupancy_svg

urlpatterns = [
    path("courses/<str:code>/weekly-rate.svg", course_rate_svg, name="chart-course-rate"),
    path("rooms/<str:code>/occupancy.svg", room_occupancy_svg, name="chart-room-occupancy"),
    path("arrivals.svg", arrivals_svg, name="chart-arrivals"),
]
