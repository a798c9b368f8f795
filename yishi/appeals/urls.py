from django.urls import path

from . import views

app_name = "appeals"
urlpatterns = [
    path("<int:appeal_id>/", views.detail, name="detail"),
    path("callback/<str:token>/", views.callback, name="callback"),
]
