from django.urls import include, path

from . import health, views

app_name = "coaching"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    # Guest booking flow (issue 4): each URL is a full page, or one region of it for HTMX.
    path("book/coach/<slug:slug>/", views.coach_calendar, name="coach_calendar"),
    path("book/coach/<slug:slug>/day/<str:day>/", views.coach_day, name="coach_day"),
    path("book/coach/<slug:slug>/slot/", views.coach_slot, name="coach_slot"),
    path("book/workshops/", views.workshops_calendar, name="workshops_calendar"),
    path("book/workshop/<slug:slug>/", views.workshop_book, name="workshop_book"),
    path("book/timezone/", views.set_timezone, name="set_timezone"),
    path("bookings/<str:reference>/calendar.ics", views.booking_ics, name="booking_ics"),
    # Paid bookings (issue 5): Stripe webhook, checkout return/cancel, built-in test checkout.
    path("", include("coaching.payment_urls")),
    path("", include("coaching.manage_urls")),  # guest self-service by magic link (issue 9)
]
