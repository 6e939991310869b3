"""Guest self-service by magic link (issue 9). Included from coaching/urls.py."""

from django.urls import path

from . import manage_views

urlpatterns = [
    path("bookings/manage/<str:token>/", manage_views.manage_booking, name="manage_booking"),
    path("bookings/manage/<str:token>/cancel/", manage_views.manage_cancel, name="manage_cancel"),
    path("bookings/manage/<str:token>/reschedule/", manage_views.manage_reschedule, name="manage_reschedule"),
    path(
        "bookings/manage/<str:token>/reschedule/day/<str:day>/",
        manage_views.manage_reschedule_day,
        name="manage_reschedule_day",
    ),
    path(
        "bookings/manage/<str:token>/reschedule/confirm/",
        manage_views.manage_reschedule_confirm,
        name="manage_reschedule_confirm",
    ),
    path("bookings/lost-link/", manage_views.lost_link, name="lost_link"),
]
