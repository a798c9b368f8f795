from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.StaffLoginView.as_view(), name="login"),
    path("phone-login/", views.phone_login, name="phone_login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
