"""/consultations/meetings/: the online room (``meetings:detail``), its polled state, actions and minutes."""

from django.urls import path

from . import meeting_views as views

app_name = "meetings"
urlpatterns = [
    path("new/<int:topic_id>/", views.schedule, name="schedule"),
    path("<int:meeting_id>/", views.detail, name="detail"),
    path("<int:meeting_id>/state/", views.state, name="state"),
    path("<int:meeting_id>/minutes/", views.minutes, name="minutes"),
    path("<int:meeting_id>/actions/<str:verb>/", views.action, name="action"),
]
