from django.urls import path

from . import views

app_name = "orgs"
urlpatterns = [
    path("units/", views.unit_list, name="unit_list"),
    path("units/<int:unit_id>/", views.unit_detail, name="unit_detail"),
    path("stations/", views.station_list, name="station_list"),
    path("stations/<int:station_id>/", views.station_detail, name="station_detail"),
]
