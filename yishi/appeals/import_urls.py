"""/appeals/import/: the hotline import pages (kept apart from the appeal pages' urls.py)."""

from django.urls import path

from . import import_views

app_name = "appeals_import"
urlpatterns = [
    path("", import_views.upload, name="upload"),
    path("<int:batch_id>/", import_views.detail, name="detail"),
    path("sample.csv", import_views.sample, name="sample"),
]
