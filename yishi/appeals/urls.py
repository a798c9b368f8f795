from django.urls import path

from . import views

app_name = "appeals"
urlpatterns = [
    # Residents
    path("new/", views.submit, name="submit"),
    path("submitted/", views.submitted, name="submitted"),
    path("track/", views.track, name="track"),
    path("mine/", views.mine, name="mine"),
    path("board/", views.board, name="board"),
    path("callback/<str:token>/", views.callback, name="callback"),
    path("callback/<str:token>/reopen/", views.reopen_request, name="reopen_request"),
    path("wishes/", views.wish_list, name="wish_list"),
    path("wishes/new/", views.wish_submit, name="wish_submit"),
    path("wishes/<int:wish_id>/adopt/", views.wish_adopt, name="wish_adopt"),
    path("wishes/<int:wish_id>/fulfil/", views.wish_fulfil, name="wish_fulfil"),
    path("wishes/<int:wish_id>/withdraw/", views.wish_withdraw, name="wish_withdraw"),
    # Cascading selects (HTMX)
    path("options/categories/", views.category_fields, name="category_fields"),
    path("options/places/", views.place_fields, name="place_fields"),
    # Staff
    path("", views.appeal_list, name="list"),
    path("enter/", views.enter, name="enter"),
    path("queue/", views.queue, name="queue"),
    path("<int:appeal_id>/", views.detail, name="detail"),
    path("<int:appeal_id>/actions/<str:verb>/", views.action, name="action"),
    path("<int:appeal_id>/files/<int:attachment_id>/", views.attachment, name="attachment"),
]
