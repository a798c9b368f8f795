from django.urls import path

from . import views

app_name = "consultations"
urlpatterns = [
    path("", views.topic_list, name="topic_list"),
    path("rooms/", views.room_list, name="room_list"),
    path("rooms/<int:room_id>/", views.room_detail, name="room"),
    path("rooms/<int:room_id>/propose/", views.propose, name="propose"),
    path("rooms/<int:room_id>/from-appeals/", views.from_appeals, name="from_appeals"),
    path("catalogue/", views.catalogue, name="catalogue"),
    path("talents/", views.talents, name="talents"),
    path("supervision/", views.supervision, name="supervision"),
    path("topics/<int:topic_id>/", views.topic_detail, name="topic"),
    path("topics/<int:topic_id>/actions/<str:verb>/", views.action, name="action"),
    path("topics/<int:topic_id>/files/<int:attachment_id>/", views.research_attachment, name="research_file"),
]
